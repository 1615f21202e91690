"""The keys of the process and cgroup groups: ``process_groups`` and ``cgroup_names``.

::

    process_groups:
      - name: web                      # host.process.web.*
        cmdline: "gunicorn .*app:app"  # a regex searched in the joined command line
      - name: db
        process: postgres              # the process name
      - name: agent
        pidfile: /run/agent.pid
      - name: cron
        unit: cron.service             # the processes of a systemd unit's cgroups
      - name: batch
        user: batch                    # effective user, name or uid
    cgroup_names:
      f4d3b90bea15: web                # container id or id prefix -> instance name
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from carbon_client.config.errors import ConfigError, got, item, member, quote
from carbon_client.config.schema import record, setting
from carbon_client.config.values import each, name as word, string, text

SELECTORS = ("process", "cmdline", "user", "pidfile", "unit")
UNIT_TYPES = (".service", ".scope", ".slice")
_COMPONENT = re.compile(r"[A-Za-z0-9_-]{1,255}", re.ASCII)
_PREFIX = re.compile(r"[0-9a-f]{1,64}", re.ASCII)


def component(v: Any, key: str) -> str:
    """A name that is one path component as it is: A-Z a-z 0-9 _ -."""
    s = string(max_len=255)(v, key)
    if not _COMPONENT.fullmatch(s):
        raise ConfigError(key, f"{quote(s)}: a name is one path component: A-Z a-z 0-9 _ - only")
    return s


def regex(v: Any, key: str) -> str:
    s = text(v, key)
    try:
        re.compile(s)
    except re.error as exc:
        raise ConfigError(key, f"{quote(s)} is not a valid regular expression: {exc}") from None
    return s


def absolute_path(v: Any, key: str) -> str:
    s = text(v, key)
    if not s.startswith("/"):
        raise ConfigError(key, f"{quote(s)}: expected an absolute path")
    return s


def unit_name(v: Any, key: str) -> str:
    """A unit name; without a type it is a service (``cron`` is ``cron.service``), as systemctl reads it."""
    s = word(v, key)
    if "/" in s:
        raise ConfigError(key, f"{quote(s)}: expected a unit name (cron.service), not a path")
    return s if s.endswith(UNIT_TYPES) else s + ".service"


@dataclass(frozen=True)
class ProcessGroup:
    """One entry of ``process_groups``: a name and exactly one way to find its processes."""

    name: str = setting(check=component)
    process: Optional[str] = setting(None, string(max_len=64))
    cmdline: Optional[str] = setting(None, regex)
    user: Optional[str] = setting(None, word)
    pidfile: Optional[str] = setting(None, absolute_path)
    unit: Optional[str] = setting(None, unit_name)


def _one_selector(g: ProcessGroup, key: str) -> None:
    given = [k for k in SELECTORS if getattr(g, k) is not None]
    if len(given) != 1:
        which = f"got {', '.join(given)}" if given else "got none"
        raise ConfigError(key, f"group {g.name!r} needs exactly one of {', '.join(SELECTORS)} ({which})")


_groups = each(record(ProcessGroup, _one_selector), at_least=1)


def process_groups(v: Any, key: str) -> tuple[ProcessGroup, ...]:
    """A list of groups whose names are unique."""
    groups = _groups(v, key)
    first: dict[str, int] = {}
    for i, g in enumerate(groups):
        if g.name in first:
            raise ConfigError(member(item(key, i), "name"),
                              f"{g.name!r} is already the name of {item(key, first[g.name])}")
        first[g.name] = i
    return groups


def cgroup_names(v: Any, key: str) -> tuple[tuple[str, str], ...]:
    """Container id or id prefix (lowercase hex) -> instance name, as (prefix, name) pairs."""
    if not isinstance(v, dict):
        raise ConfigError(key, f"expected a mapping of container id (or prefix) to name, got {got(v)}")
    out = []
    for prefix, label in v.items():
        k = member(key, prefix)
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise ConfigError(k, f"{quote(prefix)}: expected a container id or id prefix (lowercase hex, "
                                 "put it in quotes if it is all digits)")
        out.append((prefix, component(label, k)))
    return tuple(out)
