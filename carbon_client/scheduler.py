"""Ticks on wall-clock interval boundaries, drift-free.

Each tick's timestamp is an exact multiple of the interval. The wait for the
next boundary is computed afresh from the wall clock every time and slept on
the monotonic clock (``Event.wait``), so delays never accumulate; a cycle that
overruns skips the boundaries it missed instead of firing them in a bunch.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class Scheduler:
    def __init__(
        self,
        interval: int,
        tick: Callable[[int], None],
        *,
        wall: Callable[[], float] = time.time,
        wait: Optional[Callable[[float], bool]] = None,
    ) -> None:
        if interval < 1:
            raise ValueError("interval must be at least 1 second")
        self.interval = interval
        self.tick = tick
        self.wall = wall
        self.wait = wait
        self.skipped = 0
        self.last_ts: Optional[int] = None

    def next_boundary(self, now: float) -> int:
        iv = self.interval
        ts = (int(now) // iv + 1) * iv
        if self.last_ts is not None and ts <= self.last_ts:
            # Woke a hair early (the wall clock lags the monotonic one): not the same tick twice.
            ts = self.last_ts + iv
        return ts

    def run(self, stop: threading.Event) -> None:
        wait = self.wait or stop.wait
        while not stop.is_set():
            now = self.wall()
            ts = self.next_boundary(now)
            if wait(max(0.0, ts - now)):
                return
            if self.last_ts is not None:
                self.skipped += max(0, (ts - self.last_ts) // self.interval - 1)
            self.last_ts = ts
            self.tick(ts)
