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

from dataclasses import dataclass
from typing import Optional

from ._common import ParseError, excerpt, uints


@dataclass(frozen=True, slots=True)
class PressureLine:
    """One ``some`` or ``full`` line."""

    avg10: float
    avg60: float
    avg300: float
    total: int


@dataclass(frozen=True, slots=True)
class Pressure:
    """A pressure file: its ``some`` and ``full`` lines, None where the kernel prints none."""

    some: Optional[PressureLine]
    full: Optional[PressureLine]


_FIELDS = ("avg10=", "avg60=", "avg300=", "total=")


def _avg(line: str, v: str) -> float:
    # psi_show: "%lu.%02lu"
    whole, dot, frac = v.partition(".")
    if not (dot and (whole + frac).isascii() and whole.isdigit() and len(frac) == 2 and frac.isdigit()):
        raise ParseError(f"pressure: {excerpt(line)}: expected avgN=D.DD")
    return float(v)


def parse_pressure(text: str) -> Pressure:
    lines: dict[str, PressureLine] = {}
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if len(f) != 5 or f[0] not in ("some", "full") or not all(
                a.startswith(b) for a, b in zip(f[1:], _FIELDS)):
            raise ParseError(f"pressure: {excerpt(line)}: expected "
                             "'some|full avg10=N avg60=N avg300=N total=N'")
        if f[0] in lines:
            raise ParseError(f"pressure: {excerpt(line)}: a second {f[0]!r} line")
        lines[f[0]] = PressureLine(
            _avg(line, f[1][6:]), _avg(line, f[2][6:]), _avg(line, f[3][7:]),
            uints("pressure", line, (f[4][6:],))[0],
        )
    if not lines:
        raise ParseError("pressure: empty")
    return Pressure(lines.get("some"), lines.get("full"))
