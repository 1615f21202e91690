"""/proc/loadavg: ``0.02 0.04 0.05 1/497 11947`` (proc(5))."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._common import excerpt, ParseError, uints


@dataclass(frozen=True, slots=True)
class LoadAvg:
    """The single line of /proc/loadavg."""

    load1: float
    load5: float
    load15: float
    running: int
    total: int
    last_pid: int


def _float(line: str, field: str) -> float:
    if not field.replace(".", "", 1).isdigit() or not field.isascii():
        raise ParseError(f"loadavg: {excerpt(line)}: {excerpt(field)} is not a load average")
    value = float(field)
    if not math.isfinite(value):  # float("9" * 400) is inf, not an error
        raise ParseError(f"loadavg: {excerpt(line)}: {excerpt(field)} is not a load average")
    return value


def parse_loadavg(text: str) -> LoadAvg:
    line = text.strip()
    fields = line.split()
    if len(fields) != 5 or fields[3].count("/") != 1 or "\n" in line:
        raise ParseError(f"loadavg: {excerpt(line)}: expected 'l1 l5 l15 running/total last_pid'")
    running, total = fields[3].split("/")
    r, t, pid = uints("loadavg", line, (running, total, fields[4]))
    return LoadAvg(
        _float(line, fields[0]), _float(line, fields[1]), _float(line, fields[2]), r, t, pid
    )
