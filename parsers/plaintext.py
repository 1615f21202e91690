"""What an exec collector's command prints: Graphite plaintext or ``key value`` lines.

Each non-blank line is ``path value`` or ``path value timestamp`` (Carbon's
plaintext protocol, graphite.readthedocs.io "Feeding In Your Data"), fields
separated by spaces or tabs. The path is dotted; the value a decimal int or
float (``1``, ``-2.5``, ``1e3``), finite; a timestamp, when there is one, is
a number of seconds. A line with anything else raises :class:`ParseError`,
or with ``on_error`` is reported to it and skipped.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

from ._common import OnError, ParseError, excerpt, report


class Value(NamedTuple):
    """One line: its path (dots are levels), value, and timestamp if it gave one."""

    path: str
    value: float
    timestamp: Optional[float]


def _number(s: str) -> Optional[float]:
    if not s.isascii() or "_" in s or len(s) > 64:
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse_plaintext(text: str, on_error: OnError = None) -> list[Value]:
    """Every line in order (a path given twice is given twice: the caller keeps the last)."""
    out: list[Value] = []
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        value = _number(f[1]) if len(f) in (2, 3) else None
        ts = _number(f[2]) if len(f) == 3 else None
        if value is None or (len(f) == 3 and ts is None) or not f[0].strip("."):
            report(on_error, ParseError(f"plaintext: {excerpt(line)}: expected 'path value [timestamp]' "
                                        "with a finite number"))
            continue
        out.append(Value(f[0], value, ts))
    return out
