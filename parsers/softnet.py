"""/proc/net/softnet_stat (net/core/net-procfs.c softnet_seq_show).

One row per online CPU, ``%08x`` hex fields separated by spaces, no header.
The width grew with the kernel:

| columns | since |
|---|---|
| 1-3 processed, dropped (backlog full), time_squeeze; 4-9 zero | always (9 columns) |
| 10 received_rps | 2.6.35 |
| 11 flow_limit_count | 3.x |
| 12 backlog length (gauge), 13 CPU id | 5.10 (7d58e6555870d) |
| 14 input_qlen, 15 process_qlen (gauges) | 6.x |

Offline CPUs have no row, so the CPU id is the 13th column where there is
one; before 5.10 the row number stands in for it.
"""

from __future__ import annotations

from string import hexdigits
from typing import NamedTuple, Optional

from ._common import OnError, ParseError, excerpt, report


class SoftnetRow(NamedTuple):
    """One CPU's row; a column the kernel does not print is None."""

    cpu: int
    processed: int
    dropped: int
    time_squeeze: int
    received_rps: Optional[int]
    flow_limit_count: Optional[int]
    backlog_len: Optional[int]


def _row(line: str, words: list[str], index: int) -> SoftnetRow:
    n = len(words)
    # strip() leaves nothing when every character is a hex digit
    if n < 9 or "".join(words).strip(hexdigits):
        raise ParseError(f"softnet_stat: {excerpt(line)}: expected 9 to 15 hex fields")
    v = [int(w, 16) for w in words[:13]]
    return SoftnetRow(
        v[12] if n >= 13 else index, v[0], v[1], v[2],
        v[9] if n >= 10 else None, v[10] if n >= 11 else None, v[11] if n >= 13 else None,
    )


def parse_softnet(text: str, on_error: OnError = None) -> list[SoftnetRow]:
    """Every CPU's row, in file order; a malformed row is one error (its CPU is left out)."""
    out: list[SoftnetRow] = []
    index = 0
    for line in text.split("\n"):
        words = line.split()
        if not words:
            continue
        try:
            out.append(_row(line, words, index))
        except ParseError as err:
            report(on_error, err)
        index += 1
    return out
