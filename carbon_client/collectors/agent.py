"""The agent's own health, sent every interval under `host.carbon_client`."""

from __future__ import annotations

import os
from typing import Optional

from carbon_client.metrics import Collector, Raw, counter, gauge

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


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

    def __init__(self, source, options=None, stats=None, process=None) -> None:
        super().__init__(source, options)
        self.stats = stats
        self.process = process or ProcessUsage()

    def probe(self) -> None:
        return None

    def read(self) -> Raw:
        """``stats()`` gives the fields up to ``skipped``, ``process()`` the last two."""
        return {None: (*self.stats(), *self.process())}


class ProcessUsage:
    """This process's CPU seconds (user + system) and resident bytes.

    /proc/self/statm stays open and is re-read with pread: opening it costs
    about 100 us a cycle with cold caches (docs/BENCHMARKS.md), as much as
    reading loadavg and parsing it.
    """

    def __init__(self) -> None:
        self._statm: Optional[int] = None

    def __call__(self) -> tuple[float, int]:
        t = os.times()
        try:
            if self._statm is None:
                self._statm = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
            rss = int(os.pread(self._statm, 256, 0).split()[1]) * PAGE_SIZE
        except (OSError, ValueError, IndexError):
            rss = 0
        return t.user + t.system, rss


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

