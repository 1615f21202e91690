"""The agent's own health, sent every interval under `host.carbon_client`."""

from __future__ import annotations

import os
from typing import Optional

from carbon_client.metrics import Collector, Raw, counter, gauge


class AgentHealth(Collector):
    name = "agent"
    group = "carbon_client"
    description = (
        "The agent itself: lines sent, dropped and resent, buffer and spool depth, "
        "reconnects, whether a destination is connected, the cycle's duration, and its "
        "own CPU and memory."
    )
    fields = (
        "sent", "dropped", "resent", "reconnects", "buffered", "spooled", "connected",
        "destination", "cycle_ms", "skipped", "cpu_seconds", "rss_bytes",
    )
    counters = frozenset(("sent", "dropped", "resent", "reconnects", "skipped", "cpu_seconds"))
    metrics = (
        counter("sent", "lines/s", "lines written to Carbon"),
        counter("dropped", "lines/s", "lines dropped: buffer and spool full"),
        counter("resent", "lines/s", "lines sent again after a reconnect (at-least-once)"),
        counter("reconnects", "1/s", "connections established after a failure"),
        gauge("buffered", "lines", "lines waiting in memory"),
        gauge("spooled", "lines", "lines waiting in the disk spool"),
        gauge("connected", "", "destinations connected now (0 or 1 in failover mode)"),
        gauge("destination", "", "which destination is in use: 1 for the first, 2 for the second... 0 for none"),
        gauge("cycle_ms", "ms", "time the last collection cycle took"),
        counter("skipped", "1/s", "ticks skipped because a cycle overran the interval"),
        counter("cpu_percent", "%", "the agent's own CPU use, percent of one core",
                field="cpu_seconds", scale=100.0, total=False),
        gauge("rss_bytes", "B", "the agent's resident memory"),
    )

    def __init__(self, source, options=None, stats=None) -> None:
        super().__init__(source, options)
        self.stats = stats
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._statm: Optional[int] = None  # kept open: one pread a cycle

    def probe(self) -> None:
        return None

    def _rss(self) -> int:
        try:
            if self._statm is None:
                self._statm = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
            return int(os.pread(self._statm, 256, 0).split()[1]) * self._page
        except (OSError, ValueError, IndexError):
            return 0

    def values(self) -> tuple:
        """The raw tuple: ``stats()`` gives the fields up to ``skipped``, in order."""
        t = os.times()
        return (*self.stats(), t.user + t.system, self._rss())

    def read(self) -> Raw:
        return {None: self.values()}


class CollectorHealth(Collector):
    name = "collectors"
    group = "carbon_client"
    description = "Per collector, as instance: how long its last read took and whether it succeeded."
    instances = "the collector's name"
    fields = ("duration_ms", "success", "errors")
    counters = frozenset(("errors",))
    metrics = (
        gauge("duration_ms", "ms", "time the collector's last read took"),
        gauge("success", "", "1 when the last read succeeded, 0 when it failed"),
        counter("errors", "1/s", "failed reads"),
    )

    def __init__(self, source, options=None, stats=None) -> None:
        super().__init__(source, options)
        self.stats = stats

    def probe(self) -> None:
        return None

    def read(self) -> Raw:
        return self.stats()

