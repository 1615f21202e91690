"""The agent's settings: one key per option, its default and its validator, in one place.

Precedence: built-in defaults, then the YAML file, then command-line flags.
``build`` merges them and checks what single keys cannot: keys that must
agree, and (``protocol: udp``) that every destination resolves.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Optional

from carbon_client.config.destinations import Destination, destinations, resolves
from carbon_client.config.errors import QUOTE_MAX, ConfigError, flag_name, item, member, one_line, quote
from carbon_client.config.extensions import (
    ExecSpec, Filter, ProbeSpec, exec_record, filter_record, glob, probe_record,
)
from carbon_client.config.procs import ProcessGroup, cgroup_names, process_groups
from carbon_client.config.schema import check_mapping, checks_of, setting
from carbon_client.config.values import (
    boolean, choice, duration, each, mapping, name, number, optional, string, text,
)

COUNTERS = ("rate", "raw", "both")
LAYOUTS = ("default", "legacy")
PROTOCOLS = ("tcp", "udp")
MODES = ("failover", "all")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

SPOOL_MIN_BYTES = 64 << 10


def short_hostname() -> str:
    return socket.gethostname().split(".")[0] or "localhost"


HOSTNAME_METHODS = ("short", "fqdn", "fqdn_reversed")
FORMATS = ("plain", "tags")


def host_name(method: str) -> str:
    """This host's name by ``method``: ``web01``, ``web01.example.com`` (one path level, its
    dots sent as _) or ``com.example.web01`` (as many levels as labels)."""
    if method == "short":
        return short_hostname()
    fqdn = socket.getfqdn() or short_hostname()
    return ".".join(reversed(fqdn.split("."))) if method == "fqdn_reversed" else fqdn


def _directory(v: Any, key: str) -> str:
    path = text(v, key)
    if not os.path.isdir(path):
        raise ConfigError(key, f"{quote(path)} is not a directory")
    return path


def _collector(v: Any, key: str) -> str:
    from carbon_client.collectors import REGISTRY, plugin_names

    n = name(v, key)
    known = [*REGISTRY, *plugin_names()]
    if n not in known:
        raise ConfigError(key, f"unknown collector {quote(n)} (known: {', '.join(known)})")
    return n


def _op_glob(v: Any, key: str) -> str:
    """An NFS procedure name or glob, matched in lower case as nfsmount's keys are."""
    return name(v, key).lower()


def _netstat_field(v: Any, key: str) -> str:
    s = name(v, key)
    table, dot, field = s.partition(".")
    if s not in ("default", "all") and not (dot and table and field and "." not in field):
        raise ConfigError(key, f"{quote(s)}: expected default, all or a Table.Field glob "
                               "(TcpExt.ListenDrops, Tcp.*, tcpext.TCPAbortOn*)")
    return s


# Path components: naming.py turns spaces, like anything outside [A-Za-z0-9_-], into _
# (the CLI says so); a control character or a line break is refused. A prefix is dotted.
_component = string(max_len=255)
_prefix = string(max_len=255, empty=True)


@dataclass(frozen=True)
class Config:
    carbon: tuple[Destination, ...] = setting((Destination("localhost", 2003),), destinations)
    interval: int = setting(10, duration(1, 86400, whole=True))
    hostname: str = setting(check=_component, default_factory=short_hostname)
    prefix: str = setting("", _prefix)
    postfix: str = setting("", _prefix)
    hostname_method: str = setting("short", choice(HOSTNAME_METHODS))
    format: str = setting("plain", choice(FORMATS))
    send_jitter: Optional[float] = setting(None, optional(duration(0, 3600)))
    proc_root: str = setting("/proc", _directory)
    sys_root: str = setting("/sys", _directory)
    collectors: Optional[tuple[str, ...]] = setting(None, each(_collector, at_least=1, commas=True))
    disks: Optional[tuple[str, ...]] = setting(None, each(name, at_least=1, commas=True))
    nics: Optional[tuple[str, ...]] = setting(None, each(name, at_least=1, commas=True))
    writeboost: Optional[tuple[str, ...]] = setting(None, each(name, at_least=1, commas=True))
    cpu_per_core: bool = setting(False, boolean)
    counters: str = setting("rate", choice(COUNTERS))
    layout: str = setting("default", choice(LAYOUTS))
    protocol: str = setting("tcp", choice(PROTOCOLS))
    mode: str = setting("failover", choice(MODES))
    buffer_lines: int = setting(200_000, number(100, 100_000_000, integer=True))
    backoff_min: float = setting(0.5, duration(0.01, 3600))
    backoff_max: float = setting(60.0, duration(0.01, 86400))
    connect_timeout: float = setting(5.0, duration(0.1, 600))
    write_timeout: float = setting(10.0, duration(0.1, 600))
    # Open a new connection this often (load-balanced relays); None: keep one for ever.
    reconnect_interval: Optional[float] = setting(None, optional(duration(10, 86400)))
    # At most 20 s: stopping (flush, release sockets, spool) fits the unit's TimeoutStopSec=30s.
    flush_timeout: float = setting(5.0, duration(0, 20))
    command_timeout: float = setting(5.0, duration(0.1, 600))
    spool_dir: Optional[str] = setting(None, optional(text))
    spool_max_bytes: int = setting(256 << 20, number(SPOOL_MIN_BYTES, 1 << 40, integer=True))
    resend_window: Optional[float] = setting(None, optional(duration(0, 3600)))
    log_level: str = setting("INFO", choice(LOG_LEVELS, upper=True))
    show: Optional[bool] = setting(None, optional(boolean))
    # -- scheduling, filters, exec collectors, probes (config/extensions.py) -----------
    intervals: Mapping[str, int] = setting(check=mapping(name, duration(1, 86400, whole=True)),
                                           default_factory=dict)
    workers: int = setting(8, number(1, 64, integer=True))
    include: tuple[str, ...] = setting((), each(glob))
    exclude: tuple[str, ...] = setting((), each(glob))
    filters: Mapping[str, Filter] = setting(check=mapping(name, filter_record), default_factory=dict)
    exec: tuple[ExecSpec, ...] = setting((), each(exec_record))
    probes: tuple[ProbeSpec, ...] = setting((), each(probe_record))
    # -- process and cgroup groups (host.process.<group>.*, host.cgroup.<name>.*): config/procs.py
    process_groups: Optional[tuple[ProcessGroup, ...]] = setting(None, optional(process_groups))
    cgroup_include: Optional[tuple[str, ...]] = setting(None, each(name, at_least=1, commas=True))
    cgroup_exclude: Optional[tuple[str, ...]] = setting(None, each(name, at_least=1, commas=True))
    cgroup_names: Optional[tuple[tuple[str, str], ...]] = setting(None, optional(cgroup_names))

    # -- fs: which mounts (Telegraf's mount_points / ignore_fs, collectd df's MountPoint / FSType)
    # Mount points (or instance names: `root`, `var_lib`), globs: only these; and never these.
    fs_mounts: Optional[tuple[str, ...]] = setting(None, each(text, at_least=1))
    fs_mounts_exclude: Optional[tuple[str, ...]] = setting(None, each(text, at_least=1))
    # Filesystem types, globs: only these (tmpfs too when named), instead of the block-backed rule.
    fs_types: Optional[tuple[str, ...]] = setting(None, each(name, at_least=1, commas=True))
    fs_types_exclude: Optional[tuple[str, ...]] = setting(None, each(name, at_least=1, commas=True))

    # -- nfsmount, and NFS mounts in fs -----------------------------------------------
    # Mount points (or their instance names) of the NFS mounts nfsmount and fs report.
    nfs_mounts: Optional[tuple[str, ...]] = setting(None, each(text, at_least=1))
    # Procedures nfsmount sends one by one (`read`, `get*`); the mount-wide figures count all.
    nfsmount_ops: Optional[tuple[str, ...]] = setting(None, each(_op_glob, at_least=1))
    # How long fs waits for statvfs of an NFS mount before reporting it unresponsive.
    nfs_statvfs_timeout: float = setting(2.0, duration(0.01, 600))

    # -- pressure, netstat, sockstat, softnet, conntrack, kernel, processes ----------------------
    # netstat: which Table.Field counters of /proc/net/snmp, netstat and snmp6 (default, all, globs).
    netstat_fields: tuple[str, ...] = setting(("default",), each(_netstat_field, at_least=1, commas=True))
    # softnet: per-CPU instances (cpuN) as well as the sum over CPUs.
    softnet_per_cpu: bool = setting(False, boolean)


VALIDATORS = checks_of(Config)


def validate(values: Mapping[str, Any], flags: bool = False) -> dict[str, Any]:
    """Check a mapping of keys to raw values; return converted values.

    With ``flags`` the errors name the command-line flag (``--proc-root``).
    """
    return check_mapping(values, "", VALIDATORS, shown=flag_name if flags else None)


def flag_values(flags: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """The flags that were given (not None), validated."""
    return validate({k: v for k, v in (flags or {}).items() if v is not None}, flags=True)


def build(file_values: Optional[Mapping[str, Any]] = None, flags: Optional[Mapping[str, Any]] = None,
          path: Optional[str] = None) -> Config:
    """Defaults < file < flags. ``file_values`` come validated (load_file); flags are validated here.

    ``path`` names the file in errors about its keys.
    """
    merged: dict[str, Any] = dict(file_values or {})
    origin = {k: f"{path}: {k}" if path else k for k in merged}
    given = flag_values(flags)
    merged.update(given)
    origin.update({k: flag_name(k) for k in given})
    if "hostname" not in merged and merged.get("hostname_method", "short") != "short":
        merged["hostname"] = host_name(merged["hostname_method"])
    config = replace(Config(), **merged)
    _check_together(config, lambda k: origin.get(k, k))
    return config


def _check_extensions(c: Config, where: Callable[[str], str]) -> None:
    """Exec and probe names, per-collector intervals: what the keys mean together."""
    from carbon_client.collectors import REGISTRY, plugin_names

    builtin = {cls.group for cls in REGISTRY.values()} | {"carbon_client", "probe"}
    known = set(REGISTRY) | set(plugin_names()) | {"agent"}  # agent: the health group (collectors/agent.py)
    seen: set[str] = set()
    for i, e in enumerate(c.exec):
        at = member(item(where("exec"), i), "name")
        if e.name in builtin or e.name in known:
            raise ConfigError(at, f"{quote(e.name)} is the name of a built-in group or collector")
        if e.name in seen:
            raise ConfigError(at, f"{quote(e.name)} is used twice")
        seen.add(e.name)
    probes: set[str] = set()
    for i, p in enumerate(c.probes):
        if p.name in probes:
            raise ConfigError(member(item(where("probes"), i), "name"), f"{quote(p.name)} is used twice")
        probes.add(p.name)
    every = [(member(where("intervals"), k), v) for k, v in c.intervals.items()]
    every += [(member(item(where("exec"), i), "interval"), e.interval) for i, e in enumerate(c.exec)]
    every += [(member(item(where("probes"), i), "interval"), p.interval) for i, p in enumerate(c.probes)]
    for at, seconds in every:
        if seconds is not None and seconds % c.interval:
            raise ConfigError(at, f"{seconds}s is not a multiple of interval ({c.interval}s): the agent ticks "
                                  "every interval")
    for k in c.intervals:
        if k not in known and k not in seen:
            raise ConfigError(member(where("intervals"), k), f"{quote(k)} is not a collector "
                              f"(known: {', '.join(sorted(known | seen))})")
    groups = {cls.group for cls in REGISTRY.values()} | set(plugin_names()) | seen | {"probe", "carbon_client"}
    for k in c.filters:
        if k not in groups:
            raise ConfigError(member(where("filters"), k), f"{quote(k)} is not a group "
                              f"(known: {', '.join(sorted(groups))})")


def _check_together(c: Config, where: Callable[[str], str]) -> None:
    _check_extensions(c, where)
    if c.send_jitter is not None and c.send_jitter >= c.interval:
        raise ConfigError(where("send_jitter"), f"{c.send_jitter:g}s must be shorter than interval ({c.interval}s)")
    if c.format == "tags" and c.layout == "legacy":
        raise ConfigError(where("format"), "tags and the legacy layout do not go together: the legacy paths are "
                                           "the original script's plain ones")
    if c.backoff_min > c.backoff_max:
        raise ConfigError(where("backoff_min"), f"{c.backoff_min:g} must not exceed backoff_max ({c.backoff_max:g})")
    if c.protocol == "udp":
        # The UDP sender resolves its destinations when it starts: a name that does not
        # resolve is refused here, before a reload tears the running sender down.
        for i, dest in enumerate(c.carbon):
            try:
                resolves(dest, socket.SOCK_DGRAM)
            except (OSError, UnicodeError) as exc:
                raise ConfigError(item(where("carbon"), i),
                                  f"{quote(str(dest))} does not resolve ({getattr(exc, 'strerror', None) or exc}); "
                                  "protocol udp needs an address at start") from None


def shadowed(file_values: Mapping[str, Any], flags: Optional[Mapping[str, Any]]) -> list[tuple[str, Any, Any]]:
    """(key, flag value, file value) for each flag that overrides a different value in the file."""
    given = flag_values(flags)
    return [(k, v, file_values[k]) for k, v in given.items() if k in file_values and file_values[k] != v]


def show(value: Any) -> str:
    """A validated value as a YAML file spells it (``30``, ``[a:2003, b:2003]``, ``true``), bounded."""
    if isinstance(value, bool):
        s = "true" if value else "false"
    elif value is None:
        s = "null"
    elif isinstance(value, tuple):
        s = "[" + ", ".join(str(v) for v in value) + "]"
    else:
        s = str(value)
    s = one_line(s)
    return s if len(s) <= QUOTE_MAX else s[: QUOTE_MAX - 3] + "..."
