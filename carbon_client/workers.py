"""Threads for the collectors whose read can block, off the host cycle.

Threads take work from one queue. The reads of a tick that were quick last
time (the caller decides) go in as one batch, which one thread runs in
order: one thread woken a tick, not one a collector (waking a thread costs
more than most of these reads). The others (new, slow: a probe of a far
host, an exec that takes its time) go alone, so they run at once, side by
side. A batch goes to the thread that went idle last (its stack and data
still in the caches), and a thread is started only when none is idle, up to
``size``: a host whose reads are all quick keeps using one warm thread. The caller keeps each collector
to one job at a time (a collector still running at its next tick is skipped,
not queued again), so neither the threads nor the queue can grow.

A read that stops returning (a statvfs on an NFS server that just died)
holds its thread, and the jobs behind it in its batch have not started: the
next submit hands them to another thread, so a hung read delays the others
by one tick at most, and only once: from then on it is not quick.
"""

from __future__ import annotations

import logging
from collections import deque
import threading
from typing import Callable, Sequence

log = logging.getLogger("carbon_client")

Job = Callable[[], None]


class _Batch:
    __slots__ = ("jobs", "next")

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.next = 0  # the first job no thread has started


class Workers:
    def __init__(self, size: int, name: str = "collector") -> None:
        self._lock = threading.Lock()
        self._waiting: deque[_Batch] = deque()  # batches no thread has taken yet
        self._running: set[_Batch] = set()  # batches a thread is working through
        self._idle: list[threading.Lock] = []  # idle threads' wake locks, the last idle on top
        self._closing = False
        self._name = name
        self.size = max(1, size)
        self._threads: list[threading.Thread] = []

    @property
    def threads(self) -> int:
        """Threads started so far."""
        return len(self._threads)

    def submit(self, shared: Sequence[Job] = (), alone: Sequence[Job] = ()) -> None:
        """Queue the ``shared`` jobs as one batch and each of ``alone`` as its own; first, the
        jobs not yet started behind a job that has run since the last submit go to another
        thread. Each batch wakes the thread idle last, or starts one when none is idle."""
        batches = [_Batch(list(shared))] if shared else []
        batches += [_Batch([job]) for job in alone]
        with self._lock:
            for batch in self._running:
                if batch.next < len(batch.jobs):
                    batches.append(_Batch(batch.jobs[batch.next:]))
                    del batch.jobs[batch.next:]
            self._waiting.extend(batches)
            for _ in batches:
                if self._idle:
                    self._idle.pop().release()
                elif len(self._threads) < self.size:
                    self._grow()

    def _grow(self) -> None:
        """One more thread (it takes a waiting batch); none when the system refuses one
        (TasksMax): those there go on."""
        t = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
        try:
            t.start()
        except RuntimeError as exc:
            log.warning("no thread for the collectors that can block (%s); %d go on", exc, len(self._threads))
            self.size = max(1, len(self._threads))
            return
        self._threads.append(t)

    def close(self) -> None:
        """Let every thread end once the batches queued before are done (a hung one stays: daemon)."""
        with self._lock:
            self._closing = True
            while self._idle:
                self._idle.pop().release()

    def _work(self) -> None:
        wake = threading.Lock()
        wake.acquire()
        while True:
            with self._lock:
                if self._waiting:
                    batch = self._waiting.popleft()
                    self._running.add(batch)
                elif self._closing:
                    return
                else:
                    self._idle.append(wake)
                    batch = None
            if batch is None:
                wake.acquire()  # released by submit() or close()
                continue
            self._run(batch)

    def _run(self, batch: _Batch) -> None:
        while True:
            with self._lock:
                if batch.next >= len(batch.jobs):
                    self._running.discard(batch)
                    return
                job = batch.jobs[batch.next]
                batch.next += 1
            try:
                job()
            except Exception:  # the boundary of a worker: a job's own errors are its business
                log.exception("an off-cycle job failed")
