"""When to log a recurring problem: at once the first time, then at most once a
minute with how often it happened since (collectd's ``c_complain``)."""

from __future__ import annotations

import time
from typing import Callable, Optional


class Complaint:
    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._count = 0
        self._last: Optional[float] = None

    def due(self, n: int = 1, force: bool = False) -> Optional[int]:
        """Count ``n`` more; when a log line is due (or ``force``d with something to say),
        how many were counted since the last one, else None."""
        self._count += n
        now = self._clock()
        if not self._count or (not force and self._last is not None and now - self._last < self.every):
            return None
        self._last, count, self._count = now, self._count, 0
        return count
