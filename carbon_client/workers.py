"""Threads for the collectors whose read can block, off the host cycle.

A fixed number of threads take jobs from one queue; a job is one read of one
collector. The caller keeps each collector to one job at a time (a collector
still running at its next tick is skipped, not queued again), so neither the
threads nor the queue can grow: at most one waiting job per collector. A
read that never returns (a statvfs on a dead NFS server) holds one thread;
the others go on.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

log = logging.getLogger("carbon_client")


class Workers:
    def __init__(self, size: int, name: str = "collector") -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(max(1, size))]
        for t in self._threads:
            t.start()

    @property
    def size(self) -> int:
        return len(self._threads)

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def close(self) -> None:
        """Let every thread end once the jobs queued before are done (a hung one stays: daemon)."""
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:  # the boundary of a worker: a job's own errors are its business
                log.exception("an off-cycle job failed")
