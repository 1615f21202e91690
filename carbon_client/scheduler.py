"""Ticks on wall-clock interval boundaries, drift-free.

Each tick's timestamp is an exact multiple of the interval. The wait for the
next boundary is computed afresh from the wall clock every time and slept on
the monotonic clock (never longer than one interval), so delays never
accumulate; a cycle that overruns skips the boundaries it missed instead of
firing them in a bunch. When the wall clock steps (an administrator, a VM
resumed, NTP stepping instead of slewing), the next tick still comes within
one interval and is stamped from the wall clock as it is: a step forward
skips the boundaries in between, a step back repeats timestamps already
sent (Carbon keeps the last value of a slot); both are counted.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class StopFlag:
    """``threading.Event``'s set / is_set / wait, waiting on one lock.

    ``Event.wait`` runs a page of Python (threading.Condition) around the
    lock it sleeps on, every tick (some 20 us of CPU a tick at a 1 s interval
    on the benchmark machine). Here ``wait`` is one acquire of a lock
    held until ``set`` releases it. ``set`` is safe from another thread and
    from a signal handler: the interrupted acquire runs the handler, then
    finds the lock free.
    """

    def __init__(self) -> None:
        self._flag = False
        self._lock = threading.Lock()
        self._lock.acquire()

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        if not self._flag:
            self._flag = True
            try:
                self._lock.release()
            except RuntimeError:  # another thread released it first
                pass

    def wait(self, timeout: Optional[float] = None) -> bool:
        if self._flag:
            return True
        if self._lock.acquire(True, -1 if timeout is None else max(0.0, timeout)):
            try:
                self._lock.release()  # stay free: every later wait returns at once
            except RuntimeError:  # two set() calls raced and both released it
                pass
        return self._flag


class Scheduler:
    def __init__(
        self,
        interval: int,
        tick: Callable[[int], None],
        *,
        wall: Callable[[], float] = time.time,
        wait: Optional[Callable[[float], bool]] = None,
        heartbeat: Optional[Callable[[], None]] = None,
        heartbeat_every: Optional[float] = None,
        offset: float = 0.0,
    ) -> None:
        """``offset``: seconds after each boundary the tick fires (send jitter: a fleet's hosts
        spread their writes), its timestamp still the boundary; less than the interval."""
        if interval < 1:
            raise ValueError("interval must be at least 1 second")
        if not 0 <= offset < interval:
            raise ValueError("the offset must be at least 0 and less than the interval")
        self.offset = offset
        self.interval = interval
        self.tick = tick
        self.wall = wall
        self.wait = wait
        self.heartbeat = heartbeat
        self.heartbeat_every = heartbeat_every
        self.skipped = 0  # boundaries passed without a tick: a cycle overran, the clock jumped ahead
        self.repeated = 0  # ticks stamped no later than the one before: the clock stepped back
        self.last_ts: Optional[int] = None

    def next_boundary(self, now: float) -> int:
        """The timestamp of the tick to wait for: the first boundary after ``now``."""
        iv = self.interval
        ts = (int(now // iv) + 1) * iv
        last = self.last_ts
        if last is not None and ts <= last and last - now < min(1.0, iv / 2):
            # Woke a hair early (the wall clock lags the monotonic one): not the same tick twice.
            ts = last + iv
        return ts

    def _stamp(self, ts: int) -> int:
        """The timestamp of the tick that is due now: ``ts``, unless the wall clock
        stepped by more than an interval during the wait; counts what was skipped or repeated."""
        iv = self.interval
        now = self.wall() - self.offset
        if abs(now - ts) > iv:
            ts = int(now // iv) * iv
        last = self.last_ts
        if last is not None:
            if ts <= last:
                self.repeated += 1
            else:
                self.skipped += (ts - last) // iv - 1
        self.last_ts = ts
        return ts

    def _wait(self, wait: Callable[[float], bool], seconds: float) -> bool:
        """Wait, beating the heartbeat (systemd's watchdog) at least every heartbeat_every."""
        beat, every = self.heartbeat, self.heartbeat_every
        if beat is None or not every:
            return wait(seconds)
        while seconds > every:
            if wait(every):
                return True
            beat()
            seconds -= every
        return wait(seconds)

    def run(self, stop) -> None:
        wait = self.wait or stop.wait
        while not stop.is_set():
            now = self.wall() - self.offset
            ts = self.next_boundary(now)
            if self._wait(wait, min(max(0.0, ts - now), self.interval)):
                return
            self.tick(self._stamp(ts))
            if self.heartbeat is not None:
                self.heartbeat()
