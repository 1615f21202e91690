"""/proc/stat (Documentation/filesystems/proc.rst "1.8 Miscellaneous kernel statistics")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ._common import excerpt, ParseError, uints


class CpuTimes(NamedTuple):
    """One ``cpu``/``cpuN`` line, in USER_HZ ticks.

    guest and guest_nice are already included in user and nice by the kernel
    (kernel/sched/cputime.c account_guest_time), so a sum of all ten counts
    guest time twice; the first eight are the disjoint states.
    """

    user: int
    nice: int
    system: int
    idle: int
    iowait: int = 0  # 2.5.41+
    irq: int = 0  # 2.6.0+
    softirq: int = 0  # 2.6.0+
    steal: int = 0  # 2.6.11+
    guest: int = 0  # 2.6.24+
    guest_nice: int = 0  # 2.6.33+


@dataclass(frozen=True, slots=True)
class Stat:
    """The lines of /proc/stat an agent needs."""

    cpu: CpuTimes
    cpus: dict[str, CpuTimes]
    intr: int
    ctxt: int
    btime: int
    processes: int
    procs_running: int
    procs_blocked: int
    softirq: int


_SCALARS = ("intr", "ctxt", "btime", "processes", "procs_running", "procs_blocked", "softirq")


def parse_stat(text: str, per_cpu: bool = True) -> Stat:
    """The aggregate cpu line, every cpuN line (unless ``per_cpu`` is false:
    a 128-core host has 128 of them), and the scalar lines."""
    cpu: CpuTimes | None = None
    cpus: dict[str, CpuTimes] = {}
    scalars: dict[str, int] = {}
    for line in text.splitlines():
        # intr and softirq lines carry hundreds of per-source counts; only the
        # leading total is kept, so split no further than needed.
        head = line.split(None, 2)
        if not head:
            continue
        tag = head[0]
        if tag.startswith("cpu"):
            if not per_cpu and tag != "cpu":
                continue
            fields = line.split()
            if not 5 <= len(fields) <= 11:
                raise ParseError(f"stat: {excerpt(line)}: expected 4 to 10 cpu time fields")
            times = CpuTimes(*uints("stat", line, fields[1:]))
            if tag == "cpu":
                cpu = times
            elif tag[3:].isascii() and tag[3:].isdigit():
                cpus[tag] = times
            else:
                raise ParseError(f"stat: {excerpt(line)}: unknown cpu tag {excerpt(tag)}")
        elif tag in _SCALARS:
            if len(head) < 2:
                raise ParseError(f"stat: {excerpt(line)}: expected '{tag} <value>'")
            (scalars[tag],) = uints("stat", line, head[1:2])
    if cpu is None:
        raise ParseError("stat: no aggregate 'cpu' line")
    missing = [k for k in ("ctxt", "processes") if k not in scalars]
    if missing:
        raise ParseError(f"stat: missing {', '.join(missing)} line")
    return Stat(
        cpu=cpu,
        cpus=cpus,
        intr=scalars.get("intr", 0),
        ctxt=scalars["ctxt"],
        btime=scalars.get("btime", 0),
        processes=scalars["processes"],
        procs_running=scalars.get("procs_running", 0),  # 2.5.45+
        procs_blocked=scalars.get("procs_blocked", 0),  # 2.5.45+
        softirq=scalars.get("softirq", 0),  # 2.6.31+
    )


def parse_stat_totals(text: str) -> Stat:
    """:func:`parse_stat` without the per-CPU lines (``cpus`` is empty)."""
    return parse_stat(text, per_cpu=False)
