"""/proc/uptime (fs/proc/uptime.c): ``2265.38 3794.89``.

Seconds since boot, then the idle time of all CPUs summed (so it can exceed
the first on a host with several CPUs). Both printed "%lu.%02lu".
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ._common import ParseError, excerpt


class Uptime(NamedTuple):
    """The single line of /proc/uptime."""

    seconds: float
    idle_seconds: float


def _seconds(text: str, word: str) -> float:
    whole, _, frac = word.partition(".")
    if not (whole.isdigit() and (frac.isdigit() or not frac) and word.isascii()) or not math.isfinite(float(word)):
        raise ParseError(f"uptime: {excerpt(text)}: {excerpt(word)} is not a number of seconds")
    return float(word)


def parse_uptime(text: str) -> Uptime:
    words = text.split()
    if len(words) != 2:
        raise ParseError(f"uptime: {excerpt(text)}: expected 'seconds idle_seconds'")
    return Uptime(_seconds(text, words[0]), _seconds(text, words[1]))
