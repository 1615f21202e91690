"""cgroup control files, v2 and v1 (Documentation/admin-guide/cgroup-v2.rst;
cgroup-v1/memory.rst, cpuacct.rst, blkio-controller.rst; mm/memcontrol.c, block/blk-cgroup.c).

Each file is small and read whole; the pressure files have their own module
(cgroup_pressure.py). Values are returned as the kernel prints them: a
collector converts units (v1 nanoseconds, v2 microseconds) itself.
"""

from __future__ import annotations

from typing import Collection, NamedTuple, Optional

from ._common import ParseError, decimal, excerpt, find_line, uints


def _int(source: str, line: str, v: str) -> int:
    """A decimal, signed or not (memory.stat sums per-CPU deltas and can dip below 0 for a moment)."""
    n = decimal(v)
    if n is None:
        raise ParseError(f"{source}: {excerpt(line)}: expected a decimal value")
    return n


def parse_value(text: str, source: str = "cgroup") -> Optional[int]:
    """A one-value file (``memory.current``, ``pids.current``, ``memory.max``,
    ``cpuacct.usage``, ``memory.limit_in_bytes``): the number, or None for ``max`` (no limit)."""
    line = text.strip()
    if line == "max":
        return None
    if not line or "\n" in line:
        raise ParseError(f"{source}: {excerpt(text)}: expected one number or 'max'")
    return uints(source, line, (line,))[0]


def parse_keyed(text: str, keys: Optional[Collection[str]] = None, source: str = "cgroup") -> dict[str, int]:
    """Flat keyed ``key value`` lines (``cpu.stat``, ``memory.stat``, ``cpuacct.stat``,
    ``memory.events``), by key.

    With ``keys`` only their lines are looked up (memory.stat has 30 to 60
    lines and a collector wants two); keys the file lacks are absent from the
    result, since which keys exist depends on the kernel and the controllers
    enabled (cpu.stat has ``nr_throttled`` only with the cpu controller).
    Without, every line is checked.
    """
    out: dict[str, int] = {}
    if keys is not None:
        for key in keys:
            line = find_line(text, key + " ")
            if line is not None:
                out[key] = _int(source, line, line[len(key) + 1:].rstrip())
        return out
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if len(f) != 2:
            raise ParseError(f"{source}: {excerpt(line)}: expected 'key value'")
        out[f[0]] = _int(source, line, f[1])
    return out


class IoStat(NamedTuple):
    """io.stat (v2) summed over the devices listed: bytes and operations read and written."""

    rbytes: int
    wbytes: int
    rios: int
    wios: int


_IO_KEYS = ("rbytes", "wbytes", "rios", "wios")


def _device(token: str) -> bool:
    major, sep, minor = token.partition(":")
    return bool(sep) and (major + minor).isascii() and major.isdigit() and minor.isdigit()


def parse_io_stat(text: str) -> IoStat:
    """``MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N`` per device with I/O.

    A cgroup without I/O has an empty file. Other ``key=value`` pairs may
    follow (``cost.*`` with io.cost, ``use_delay=`` ``delay=`` with
    io.latency; dbytes/dios are 5.0+): they are skipped.
    """
    sums = [0, 0, 0, 0]
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if (len(f) >= 5 and f[1][:7] == "rbytes=" and f[2][:7] == "wbytes=" and f[3][:5] == "rios="
                and f[4][:5] == "wios=" and _device(f[0]) and all("=" in tok for tok in f[5:])):
            # the kernel's order (blk-cgroup.c blkcg_print_one_stat): no search needed
            v = uints("io.stat", line, (f[1][7:], f[2][7:], f[3][5:], f[4][5:]))
            sums[0] += v[0]
            sums[1] += v[1]
            sums[2] += v[2]
            sums[3] += v[3]
            continue
        if not _device(f[0]):
            raise ParseError(f"io.stat: {excerpt(line)}: expected 'MAJ:MIN key=value...'")
        seen = 0
        for tok in f[1:]:
            key, sep, value = tok.partition("=")
            if not sep:
                raise ParseError(f"io.stat: {excerpt(line)}: expected 'MAJ:MIN key=value...'")
            if key in _IO_KEYS:
                i = _IO_KEYS.index(key)
                sums[i] += uints("io.stat", line, (value,))[0]
                seen |= 1 << i
        if seen != 15:
            raise ParseError(f"io.stat: {excerpt(line)}: expected rbytes, wbytes, rios and wios")
    return IoStat(*sums)


def parse_blkio(text: str, source: str = "blkio") -> tuple[int, int]:
    """(Read, Write) summed over devices, from ``blkio.throttle.io_service_bytes`` (bytes)
    or ``blkio.throttle.io_serviced`` (operations).

    Rows are ``MAJ:MIN <Read|Write|Sync|Async|Discard|Total> N`` (Discard is
    4.19+), then a final ``Total N``; a cgroup without I/O prints only
    ``Total 0``.
    """
    read = write = 0
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if len(f) == 2 and f[0] == "Total":
            uints(source, line, (f[1],))
            continue
        if len(f) != 3 or not _device(f[0]):
            raise ParseError(f"{source}: {excerpt(line)}: expected 'MAJ:MIN operation value' or 'Total value'")
        value = uints(source, line, (f[2],))[0]
        if f[1] == "Read":
            read += value
        elif f[1] == "Write":
            write += value
    return read, write


def parse_procs(text: str) -> list[int]:
    """``cgroup.procs``: one PID per line, unordered, possibly none; a PID that moved out
    and back in may be listed twice (it is listed once here)."""
    pids = text.split()
    return list(dict.fromkeys(uints("cgroup.procs", text.strip(), pids))) if pids else []
