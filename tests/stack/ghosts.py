"""Synthetic hosts written straight into Carbon: for each alert rule a ``ghost-*`` host made
to trip it, and ``ghost-ok``, healthy for every rule.

The same series are sent in both formats the agent has (the default layout and
``format: tags``), with and without a prefix, so each rule can be shown to fire for its
ghost and only for it in every case: its alias names the host (and instance) whatever
the prefix's depth.
"""

from __future__ import annotations

import socket
from typing import Optional

PREFIXES = ("", "servers.dc1.")

# (host, group, instance, key, value): sent every 10 s over the last 11 minutes.
RECENT: list[tuple[str, str, Optional[str], str, float]] = [
    ("ghost-dropping", "carbon_client", None, "cycle_ms", 3),
    ("ghost-dropping", "carbon_client", None, "dropped", 12.5),
    ("ghost-busy", "disk", "sdz", "busy_percent", 97),
    ("ghost-busy", "disk", "total", "busy_percent", 97),
    ("ghost-full", "fs", "data", "used_percent", 95.5),
    ("ghost-wb", "writeboost", "cache0", "dirty_ratio", 91),
    ("ghost-nfs", "nfs", "rpc", "calls", 200),
    ("ghost-nfs", "nfs", "rpc", "retrans", 9),
    ("ghost-probe", "probe", "web", "up", 0),
    ("ghost-probe", "probe", "web", "status", 503),
    ("ghost-cert", "probe", "site", "up", 1),
    ("ghost-cert", "probe", "site", "cert_days_left", 5.5),
    ("ghost-procs", "process", "web", "count", 0),
    ("ghost-procs", "process", "db", "count", 3),
    ("ghost-cgroup", "cgroup", "web", "memory_percent", 95.5),
    ("ghost-cgroup", "cgroup", "db", "memory_percent", 40),
    ("ghost-nfsmount", "fs", "mnt_data", "responsive", 0),
    ("ghost-pressure", "pressure", "memory", "full.avg60", 35.5),
    ("ghost-pressure", "pressure", "io", "full.avg60", 2.5),
    ("ghost-conntrack", "conntrack", None, "used_percent", 96.2),
    ("ghost-listen", "netstat", "tcpext", "ListenDrops", 4.5),
    # healthy for every rule
    ("ghost-ok", "carbon_client", None, "cycle_ms", 3),
    ("ghost-ok", "carbon_client", None, "dropped", 0),
    ("ghost-ok", "disk", "sda", "busy_percent", 12),
    ("ghost-ok", "fs", "root", "used_percent", 40),
    ("ghost-ok", "fs", "root", "responsive", 1),
    ("ghost-ok", "writeboost", "cache0", "dirty_ratio", 20),
    ("ghost-ok", "nfs", "rpc", "calls", 200),
    ("ghost-ok", "nfs", "rpc", "retrans", 0),
    ("ghost-ok", "probe", "web", "up", 1),
    ("ghost-ok", "probe", "web", "cert_days_left", 90),
    ("ghost-ok", "process", "web", "count", 2),
    ("ghost-ok", "cgroup", "web", "memory_percent", 30),
    ("ghost-ok", "pressure", "memory", "full.avg60", 0.5),
    ("ghost-ok", "pressure", "io", "full.avg60", 0.5),
    ("ghost-ok", "conntrack", None, "used_percent", 5),
    ("ghost-ok", "netstat", "tcpext", "ListenDrops", 0),
]
# (host, group, instance, key, value): sent from 20 to 7 minutes ago, then nothing.
SILENT = [("ghost-silent", "carbon_client", None, "cycle_ms", 3)]

# Each rule: the series (alias) its ghost makes fire. ghost-ok fires for none.
FIRES = {
    "cc-host-silent": "ghost-silent",
    "cc-disk-busy": "ghost-busy.sdz",
    "cc-fs-full": "ghost-full.data",
    "cc-writeboost-dirty": "ghost-wb.cache0",
    "cc-nfs-retrans": "ghost-nfs",
    "cc-nfs-unresponsive": "ghost-nfsmount.mnt_data",
    "cc-agent-dropping": "ghost-dropping",
    "cc-probe-down": "ghost-probe.web",
    "cc-cert-expiring": "ghost-cert.site",
    "cc-process-group-empty": "ghost-procs.web",
    "cc-cgroup-memory-limit": "ghost-cgroup.web",
    "cc-pressure": "ghost-pressure.memory",
    "cc-conntrack-full": "ghost-conntrack",
    "cc-listen-drops": "ghost-listen",
}


def name(fmt: str, prefix: str, host: str, group: str, instance: Optional[str], key: str) -> str:
    """The series' name as the agent writes it in ``fmt`` (naming.DefaultLayout, TagsLayout)."""
    if fmt == "tags":
        return f"{prefix}{group}.{key};host={host}" + (f";instance={instance}" if instance else "")
    return f"{prefix}{host}.{group}." + (f"{instance}." if instance else "") + key


def ghost_lines(now: int, fmt: str = "plain", prefix: str = "") -> list[str]:
    """Series that make each alert rule fire for its ghost (10 s apart, like the agent's default)."""
    lines = []
    for ts in range(now - 1200, now - 420, 10):  # silent for the last 7 minutes
        lines += [f"{name(fmt, prefix, *s[:4])} {s[4]} {ts}" for s in SILENT]
    for ts in range(now - 660, now + 1, 10):
        lines += [f"{name(fmt, prefix, *s[:4])} {s[4]} {ts}" for s in RECENT]
    return lines


def send_lines(port: int, lines: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall("".join(line + "\n" for line in lines).encode())
