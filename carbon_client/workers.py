"""Threads for the collectors whose read can block, off the host cycle.

Threads take work from one queue. The reads of a tick that were quick last
time (the caller decides) go in as one batch, which one thread runs in
order: one thread woken a tick, not one a collector (waking a thread costs
more than most of these reads). The others (new, slow: a probe of a far
host, an exec that takes its time) go alone, so they run at once, side by
side. There is one thread until the batches waiting outnumber the idle
threads; then more are started, up to ``size``: a host whose reads all
return quickly keeps using one warm thread. The caller keeps each collector
to one job at a time (a collector still running at its next tick is skipped,
not queued again), so neither the threads nor the queue can grow.

A read that stops returning (a statvfs on an NFS server that just died)
holds its thread, and the jobs behind it in its batch have not started: the
next submit hands them to another thread, so a hung read delays the others
by one tick at most, and only once: from then on it is not quick.
"""

from __future__ import annotations

import logging
import queue
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
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running: set[_Batch] = set()  # batches a thread is working through
        self._name = name
        self.size = max(1, size)
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads done with their batch, waiting for the next
        self._queued = 0  # batches put in the queue that no thread has taken yet
        self._grow()

    @property
    def threads(self) -> int:
        """Threads started so far."""
        return len(self._threads)

    def _grow(self) -> None:
        """One more thread; none when the system refuses one (TasksMax): those there go on."""
        t = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
        try:
            t.start()
        except RuntimeError as exc:
            log.warning("no thread for the collectors that can block (%s); %d go on", exc, len(self._threads))
            self.size = len(self._threads)
            return
        self._threads.append(t)
        self._idle += 1

    def submit(self, shared: Sequence[Job] = (), alone: Sequence[Job] = ()) -> None:
        """Queue the ``shared`` jobs as one batch and each of ``alone`` as its own; first, the
        jobs not yet started behind a job that has run since the last submit go to another
        thread. Threads are started while fewer are idle than batches wait."""
        batches = [_Batch(list(shared))] if shared else []
        batches += [_Batch([job]) for job in alone]
        with self._lock:
            for batch in self._running:
                if batch.next < len(batch.jobs):
                    batches.append(_Batch(batch.jobs[batch.next:]))
                    del batch.jobs[batch.next:]
            self._queued += len(batches)
            while self._idle < self._queued and len(self._threads) < self.size:
                self._grow()
            for batch in batches:
                self._queue.put(batch)

    def close(self) -> None:
        """Let every thread end once the jobs queued before are done (a hung one stays: daemon)."""
        for _ in self._threads:
            self._queue.put(None)

    def _work(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            with self._lock:
                self._idle -= 1
                self._queued -= 1
                self._running.add(batch)
            while True:
                with self._lock:
                    if batch.next >= len(batch.jobs):
                        self._running.discard(batch)
                        self._idle += 1
                        break
                    job = batch.jobs[batch.next]
                    batch.next += 1
                try:
                    job()
                except Exception:  # the boundary of a worker: a job's own errors are its business
                    log.exception("an off-cycle job failed")
