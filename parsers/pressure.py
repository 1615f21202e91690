"""Pressure stall information: /proc/pressure/{cpu,memory,io,irq} and cgroup v2 ``*.pressure``
(kernel/sched/psi.c psi_show; Documentation/accounting/psi.rst)::

    some avg10=0.03 avg60=0.12 avg300=0.38 total=30545142
    full avg10=0.00 avg60=0.00 avg300=0.00 total=0

``avgN``: percent of wall time stalled, decayed over N seconds ("%lu.%02lu");
``total``: cumulative stall time in microseconds. cpu has no ``full`` line
before 5.13; irq (6.1+, CONFIG_IRQ_TIME_ACCOUNTING) has only ``full``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ._common import ParseError, excerpt


@dataclass(frozen=True, slots=True)
class PressureLine:
    """One ``some`` or ``full`` line."""

    avg10: float
    avg60: float
    avg300: float
    total: int


@dataclass(frozen=True, slots=True)
class Pressure:
    """One pressure file; a line the kernel does not print is None."""

    some: Optional[PressureLine] = None
    full: Optional[PressureLine] = None


_FORMAT = "expected 'some|full avg10=N.NN avg60=N.NN avg300=N.NN total=N'"


def _avg(line: str, word: str) -> float:
    if not (word.replace(".", "", 1).isdigit() and word.isascii() and word[0] != "."):
        raise ParseError(f"pressure: {excerpt(line)}: {excerpt(word)} is not a percentage")
    value = float(word)
    if not math.isfinite(value):  # float("9" * 400) is inf
        raise ParseError(f"pressure: {excerpt(line)}: {excerpt(word)} is not a percentage")
    return value


def _line(line: str, words: list[str]) -> PressureLine:
    """The values of one line by name; names a later kernel adds are ignored."""
    if (len(words) == 5 and words[1][:6] == "avg10=" and words[2][:6] == "avg60=" and words[3][:7] == "avg300="
            and words[4][:6] == "total="):  # the kernel's order
        avg10, avg60, avg300, total = words[1][6:], words[2][6:], words[3][7:], words[4][6:]
    else:
        found = dict(w.partition("=")[::2] for w in words[1:])
        if len(found) != len(words) - 1:  # a name twice
            raise ParseError(f"pressure: {excerpt(line)}: {_FORMAT}")
        try:
            avg10, avg60, avg300, total = found["avg10"], found["avg60"], found["avg300"], found["total"]
        except KeyError:
            raise ParseError(f"pressure: {excerpt(line)}: {_FORMAT}") from None
    if not (total.isdigit() and total.isascii()):
        raise ParseError(f"pressure: {excerpt(line)}: {excerpt(total)} is not a count of microseconds")
    try:
        stalled = int(total)
    except ValueError as exc:  # beyond int()'s digit limit
        raise ParseError(f"pressure: {excerpt(line)}: {exc}") from None
    return PressureLine(_avg(line, avg10), _avg(line, avg60), _avg(line, avg300), stalled)


def parse_pressure(text: str) -> Pressure:
    lines: dict[str, PressureLine] = {}
    for line in text.split("\n"):
        words = line.split()
        if not words:
            continue
        kind = words[0]
        if kind not in ("some", "full") or kind in lines:
            raise ParseError(f"pressure: {excerpt(line)}: {_FORMAT}")
        lines[kind] = _line(line, words)
    if not lines:
        raise ParseError(f"pressure: {excerpt(text)}: no some or full line")
    return Pressure(lines.get("some"), lines.get("full"))
