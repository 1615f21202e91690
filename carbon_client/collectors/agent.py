"""The agent's own health, sent every interval under `host.carbon_client`."""

from __future__ import annotations

import os

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
        self.process = process or process_usage

    def probe(self) -> None:
        return None

    def read(self) -> Raw:
        """``stats()`` gives the fields up to ``skipped``, ``process()`` the last two."""
        return {None: (*self.stats(), *self.process())}


def process_usage() -> tuple[float, int]:
    """This process's CPU seconds (user + system) and resident bytes."""
    t = os.times()
    try:
        with open("/proc/self/statm", "rb") as f:
            rss = int(f.read().split()[1]) * PAGE_SIZE
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

