"""The agent's own health, sent every interval under `host.carbon_client`."""

from __future__ import annotations

import os
from typing import Callable, Optional

from carbon_client.metrics import Collector, Raw, Schema, counter, gauge

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

_AGENT_FIELDS = (
    "sent", "dropped", "resent", "reconnects", "buffered", "spooled", "connected",
    "destination", "cycle_ms", "skipped", "repeated", "cpu_seconds", "rss_bytes",
)
AGENT = Schema(_AGENT_FIELDS, ("sent", "dropped", "resent", "reconnects", "skipped", "repeated", "cpu_seconds"), (
    counter("sent", "lines/s", "lines written to Carbon"),
    counter("dropped", "lines/s", "lines dropped: buffer and spool full"),
    counter("resent", "lines/s", "lines sent again after a reconnect (at-least-once)"),
    counter("reconnects", "1/s", "connections established after a failure"),
    gauge("buffered", "lines", "lines waiting in memory"),
    gauge("spooled", "lines", "lines waiting in the disk spool"),
    gauge("connected", "", "destinations connected now (0 or 1 in failover mode)"),
    gauge("destination", "", "which destination is in use: 1 for the first, 2 for the second... 0 for none"),
    gauge("cycle_ms", "ms", "time the last collection cycle took"),
    counter("skipped", "1/s", "ticks skipped: a cycle overran the interval, or the clock jumped ahead"),
    counter("repeated", "1/s", "ticks stamped no later than the one before: the clock stepped back"),
    counter("cpu_percent", "%", "the agent's own CPU use, percent of one core",
            field="cpu_seconds", scale=100.0, total=False),
    gauge("rss_bytes", "B", "the agent's resident memory"),
))
PER_COLLECTOR = Schema(("duration_ms", "success", "errors", "timeouts", "skipped", "bad_lines"),
                       ("errors", "timeouts", "skipped", "bad_lines"), (
    gauge("duration_ms", "ms", "time the collector's last read took"),
    gauge("success", "", "1 when the last read succeeded, 0 when it failed"),
    counter("errors", "1/s", "failed reads"),
    counter("timeouts", "1/s", "reads off the host cycle that took longer than their timeout "
                               "(their values are dropped)"),
    counter("skipped", "1/s", "ticks at which the collector was still busy with its last read"),
    counter("bad_lines", "1/s", "malformed lines of its source, skipped"),
))


class Health(Collector):
    """The agent (instance None) and each collector running or failing (instance: its name).

    ``agent()`` gives the agent's fields up to ``repeated`` (the sender's, the
    cycle's, the scheduler's), ``process()`` its CPU seconds and resident bytes,
    ``collectors()`` each collector's fields of PER_COLLECTOR.
    """

    name = "agent"
    group = "carbon_client"
    description = (
        "The agent itself (`host.carbon_client.<key>`): lines sent, dropped and resent, buffer "
        "and spool depth, reconnects, whether a destination is connected, the cycle's duration, "
        "and its own CPU and memory. Per collector (`host.carbon_client.<collector>.<key>`): how "
        "long its last read took and whether it succeeded."
    )

    def __init__(self, source, options=None, *, agent: Callable[[], tuple],
                 collectors: Callable[[], dict], process: Optional[Callable[[], tuple]] = None) -> None:
        super().__init__(source, options)
        self.agent = agent
        self.collectors = collectors
        self.process = process or ProcessUsage()

    def probe(self) -> None:
        return None

    def schema(self, instance: Optional[str]) -> Schema:
        return AGENT if instance is None else PER_COLLECTOR

    @classmethod
    def reference(cls) -> dict[Optional[str], Schema]:
        return {None: AGENT, "<collector>": PER_COLLECTOR}

    def read(self) -> Raw:
        return {None: (*self.agent(), *self.process()), **self.collectors()}


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
