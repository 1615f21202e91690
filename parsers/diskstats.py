"""/proc/diskstats (Documentation/admin-guide/iostats.rst; procfs blockdevice/stats.go)."""

from __future__ import annotations

from typing import Container, NamedTuple, Optional

from parsers import _common
from parsers._common import OnError, ParseError, report, uints


class DiskStats(NamedTuple):
    """One line of /proc/diskstats: ``major minor name`` and the stat fields.

    Sectors are 512-byte units whatever the device's block size. Fields a
    kernel does not print are 0 and ``fields`` says how many it printed:
    14 (< 4.18), 18 (4.18+ adds 4 discard fields), 20 (5.5+ adds 2 flush fields).
    """

    major: int
    minor: int
    name: str
    reads: int
    reads_merged: int
    sectors_read: int
    read_ms: int
    writes: int
    writes_merged: int
    sectors_written: int
    write_ms: int
    in_progress: int
    io_ms: int
    weighted_io_ms: int
    discards: int = 0
    discards_merged: int = 0
    sectors_discarded: int = 0
    discard_ms: int = 0
    flushes: int = 0
    flush_ms: int = 0
    fields: int = 14


_PAD = {14: (0, 0, 0, 0, 0, 0), 18: (0, 0), 20: ()}


def parse_diskstats(text: str, on_error: OnError = None,
                    skip: Optional[Container[str]] = None) -> list[DiskStats]:
    """All devices in file order. Field counts may differ from line to line.

    Lines of devices named in ``skip`` are left out unconverted (a host has
    dozens of loop and ram devices nobody reports).
    """
    fast = _common.speedups
    if fast is not None:
        got = fast.diskstats(text, DiskStats, skip)
        if got is not None:
            return got
    out: list[DiskStats] = []
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if skip is not None and len(f) > 2 and f[2] in skip:
            continue
        n = len(f)
        pad = _PAD.get(n)
        if pad is None:
            report(on_error, ParseError(f"diskstats: {line!r}: expected 14, 18 or 20 fields, got {n}"))
            continue
        name = f[2]
        del f[2]
        # int() takes '+1', '1_0' and non-ASCII digits: no such line is a kernel's.
        nums = line.replace(name, "", 1)
        if nums.isascii() and "_" not in nums and "+" not in nums and "-" not in nums:
            try:
                out.append(_new(DiskStats, (*_ints(f[:2]), name, *_ints(f[2:]), *pad, n)))
                continue
            except ValueError:
                pass
        try:
            v = uints("diskstats", line, f)
        except ParseError as err:
            report(on_error, err)
            continue
        out.append(DiskStats(v[0], v[1], name, *v[2:], *pad, n))
    return out


_new = tuple.__new__


def _ints(fields: list[str]) -> list[int]:
    return list(map(int, fields))
