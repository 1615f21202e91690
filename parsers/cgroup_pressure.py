"""Pressure stall information: a cgroup's ``cpu.pressure``, ``memory.pressure``,
``io.pressure`` and ``irq.pressure``, in the format of /proc/pressure/* too
(Documentation/accounting/psi.rst; kernel/sched/psi.c psi_show).

::

    some avg10=0.00 avg60=0.00 avg300=0.00 total=578
    full avg10=0.00 avg60=0.00 avg300=0.00 total=3597296

``some``: at least one task stalled; ``full``: all non-idle tasks stalled at
once. ``cpu`` has no ``full`` line before 5.13 and ``irq`` (6.1+) has only
``full``. The averages are percent of wall time; ``total`` is the stall time
in microseconds (a counter).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from ._common import ParseError, excerpt


class PressureLine(NamedTuple):
    """One ``some`` or ``full`` line."""

    avg10: float
    avg60: float
    avg300: float
    total: int


class Pressure(NamedTuple):
    """A pressure file: its ``some`` and ``full`` lines, None where the kernel prints none."""

    some: Optional[PressureLine]
    full: Optional[PressureLine]


def _bad(line: str) -> ParseError:
    return ParseError(f"pressure: {excerpt(line)}: expected 'some|full avg10=D.DD avg60=D.DD avg300=D.DD total=N'")


def _avg(line: str, v: str) -> float:
    # psi_show: "%lu.%02lu"
    digits = v[:-3] + v[-2:]
    if len(v) < 4 or v[-3] != "." or not (digits.isascii() and digits.isdigit()):
        raise _bad(line)
    return float(v)


def parse_pressure(text: str) -> Pressure:
    some = full = None
    for line in text.split("\n"):
        f = line.split()
        if not f:
            continue
        if (len(f) != 5 or f[1][:6] != "avg10=" or f[2][:6] != "avg60=" or f[3][:7] != "avg300="
                or f[4][:6] != "total="):
            raise _bad(line)
        total = f[4][6:]
        if not (total.isascii() and total.isdigit()) or len(total) > 20:
            raise _bad(line)
        rec = PressureLine(_avg(line, f[1][6:]), _avg(line, f[2][6:]), _avg(line, f[3][7:]), int(total))
        if f[0] == "some" and some is None:
            some = rec
        elif f[0] == "full" and full is None:
            full = rec
        else:
            raise ParseError(f"pressure: {excerpt(line)}: "
                             + ("a second line of its kind" if f[0] in ("some", "full") else "expected 'some' or 'full'"))
    if some is None and full is None:
        raise ParseError("pressure: empty")
    return Pressure(some, full)
