"""/proc/diskstats (Documentation/admin-guide/iostats.rst; procfs blockdevice/stats.go)."""

from __future__ import annotations

from typing import Container, NamedTuple

from ._common import excerpt, OnError, ParseError, report, uints


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
_new = tuple.__new__  # a DiskStats from the 21 values checked above, without namedtuple's Python __new__


def parse_diskstats(text: str, on_error: OnError = None, skip: Container[str] = ()) -> list[DiskStats]:
    """All devices in file order but those named in ``skip``, whose lines are not
    converted. Field counts may differ from line to line."""
    out: list[DiskStats] = []
    for line in text.splitlines():
        f = line.split()
        if not f or (len(f) > 2 and f[2] in skip):
            continue
        pad = _PAD.get(len(f))
        if pad is None:
            report(on_error, ParseError(f"diskstats: {excerpt(line)}: expected 14, 18 or 20 fields, got {len(f)}"))
            continue
        name = f.pop(2)
        try:
            v = uints("diskstats", line, f)
        except ParseError as err:
            report(on_error, err)
            continue
        out.append(_new(DiskStats, (v[0], v[1], name, *v[2:], *pad, len(f) + 1)))
    return out
