"""Exec collectors: a command run every interval, its output sent under ``host.<name>.``.

collectd's exec plugin, Telegraf's exec input, Diamond's user scripts: the
command is an argv list (never a shell), run as the agent's user with a
timeout and a cap on what it may print (carbon_client/source.py: on either,
its whole process group is killed). It prints Graphite plaintext or
``key value`` lines (parsers/plaintext.py); each becomes a gauge at
``host.<name>.<its path>``, every level of the path sanitized like any path
component. The tick stamps every line: a timestamp the command printed is
accepted and not used. Malformed lines are skipped, counted in the
collector's ``bad_lines`` and logged once each with an excerpt; a command
that exits non-zero, hangs or floods costs its own collector only.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import Optional

from carbon_client.logonce import BadLines
from carbon_client.metrics import Collector, Raw, Schema, Unavailable, gauge
from carbon_client.parsers.plaintext import parse_plaintext
from carbon_client.source import CommandError

log = logging.getLogger("carbon_client.collectors")


class Exec(Collector):
    blocking = True
    open_keys = True  # whatever the command prints
    description = "The values an exec collector's command prints (`exec` in the config)."

    def __init__(self, source, options, spec) -> None:
        super().__init__(source, options)
        self.name = self.group = spec.name
        self.argv = list(spec.command)
        self.interval = spec.interval
        self.timeout = spec.timeout or getattr(options, "command_timeout", 5.0)
        self._errors = BadLines(log, f"exec {spec.name}", self)
        self._schema: Optional[Schema] = None

    def probe(self) -> None:
        cmd = self.argv[0]
        path = cmd if os.sep in cmd else shutil.which(cmd)
        if path is None or not os.access(path, os.X_OK):
            raise Unavailable(f"{cmd}: not an executable file (or not on PATH)")

    def schema(self, instance: Optional[str]) -> Schema:
        return self._schema

    def read(self) -> Raw:
        res = self.source.run(self.argv, self.timeout)
        if res.returncode != 0:
            why = res.stderr.strip().splitlines()[-1:] or ["no message"]
            raise CommandError(f"{self.argv[0]} exited {res.returncode}: {why[0][:200]}")
        values = {v.path: v.value for v in parse_plaintext(res.stdout, self._errors)}
        self._errors.end()
        keys = tuple(values)
        if self._schema is None or self._schema.fields != keys:
            self._schema = Schema(keys, (), tuple(gauge(k, "", f"printed by {self.argv[0]}") for k in keys))
        return {None: tuple(values.values())}
