"""What an agent can send: its collectors, their groups and keys, and their state.

For ``carbon-client collectors`` (every collector, built-in or plugin, exec
or probe, with its source status and interval) and for ``check-config``,
which says when an ``include``/``exclude`` glob can never match a metric.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Iterator, Optional

from carbon_client.metrics import Collector
from carbon_client.naming import below_host


def _schemas(c: Collector) -> list:
    """(instance: None for none, "" for any name; the schema) of what ``c`` declares."""
    reference = getattr(c, "reference", None)
    if reference is not None:
        return [(None if i is None else "" if i.startswith("<") else i, s) for i, s in reference().items()]
    instance = "" if (c.instances or c.aggregate) else None
    return [(instance, c.schema(instance))]


def templates(collectors: list[Collector]) -> Iterator[tuple[str, Optional[str], str]]:
    """(group, instance or "" for any or None for none, key) of every metric they declare;
    a collector whose keys are whatever its source prints (``open_keys``: exec, netstat
    beyond its default fields) has key ``""``."""
    for c in collectors:
        if getattr(c, "open_keys", False):
            yield c.group, "" if c.instances else None, ""
            continue
        for instance, schema in _schemas(c):
            if schema is None:
                continue
            for m in schema.metrics:
                if m.send:
                    yield c.group, instance, m.key
            for m in schema.total_metrics:
                if m.send:
                    yield c.group, instance, m.key + "_total"


def _words(glob: str) -> list[str]:
    """Names a glob's own levels suggest for an instance: ``net.veth*`` -> veth."""
    return sorted({re.sub(r"\[[^]]*\]|[*?]", "x", part) or "x" for part in glob.split(".")} | {"x"})


def can_match(glob: str, collectors: list[Collector]) -> bool:
    """Whether ``glob`` matches the path (below the host) of some metric these collectors send."""
    rx = re.compile(fnmatch.translate(glob))
    for group, instance, key in templates(collectors):
        keys = [key] if key else _words(glob)
        instances = [None] if instance is None else (_words(glob) if instance == "" else [instance])
        for inst in instances:
            for k in keys:
                if rx.match(below_host(group, inst, k)) or (not key and rx.match(f"{group}.{k}.x")):
                    return True
    return False


def unmatched(config, collectors: list[Collector]) -> list[str]:
    """A note for each glob of include, exclude and filters that no metric can match
    (the agent's own health group counts)."""
    from carbon_client.collectors.agent import Health

    collectors = [*collectors, Health]
    notes = []
    lists = [("include", config.include), ("exclude", config.exclude)]
    for group, f in config.filters.items():
        lists += [(f"filters.{group}.include", f.include), (f"filters.{group}.exclude", f.exclude)]
    for key, globs in lists:
        for i, glob in enumerate(globs):
            if not can_match(glob, collectors):
                notes.append(f"{key}[{i}] {glob!r} matches no metric this agent can send (paths below the "
                             "host look like net.eth0.rx_bytes or load.1m: see docs/METRICS.md)")
    return notes


def describe(agent) -> list[tuple[str, ...]]:
    """(name, kind, group, interval, where it runs, state) of every collector of ``agent``."""
    from carbon_client.collectors import REGISTRY

    rows = []
    for slot in agent.slots + agent.health_slots:
        c = slot.collector
        builtin = c.name in REGISTRY or slot in agent.health_slots
        kind = ("built-in" if builtin else "exec" if type(c).__name__ == "Exec"
                else "probe" if c.group == "probe" else "plugin")
        state = "available" if slot.enabled else f"unavailable: {slot.last_reason}"
        rows.append((c.name, kind, c.group, f"{slot.interval}s",
                     "off the cycle" if c.blocking else "host cycle", state))
    return rows
