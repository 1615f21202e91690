"""The agent's own health, sent every interval under `host.carbon_client`."""

from __future__ import annotations

import os
from typing import Callable, Optional

from carbon_client.metrics import Collector, Raw, Schema, counter, gauge

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# The group's interval unless ``intervals: {agent: ...}`` says otherwise: the agent's interval,
# or the first multiple of it that is at least this many seconds. The agent's own series need
# no finer grain, and at a 1 s interval sending them every tick cost 1 to 11 % more CPU with
# the default collectors (docs/BENCHMARKS.md). Its counters lose nothing; cycle_ms is the
# longest cycle since the last report.
SECONDS = 10

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
    gauge("cycle_ms", "ms", "time the longest collection cycle since the last report took"),
    counter("skipped", "1/s", "ticks skipped: a cycle overran the interval, or the clock jumped ahead"),
    counter("repeated", "1/s", "ticks stamped no later than the one before: the clock stepped back"),
    counter("cpu_percent", "%", "the agent's own CPU use, percent of one core",
            field="cpu_seconds", scale=100.0, total=False),
    gauge("rss_bytes", "B", "the agent's resident memory"),
))
_PER_COLLECTOR = (
    gauge("duration_ms", "ms", "time the collector's last read took"),
    gauge("success", "", "1 when the last read succeeded, 0 when it failed"),
    counter("errors", "1/s", "failed reads"),
    counter("bad_lines", "1/s", "malformed lines of its source, skipped"),
)
PER_COLLECTOR = Schema(("duration_ms", "success", "errors", "bad_lines"), ("errors", "bad_lines"), _PER_COLLECTOR)
# A collector read off the host cycle (metrics.Collector.blocking) also says what that cost.
PER_BLOCKING = Schema(("duration_ms", "success", "errors", "bad_lines", "timeouts", "skipped"),
                      ("errors", "bad_lines", "timeouts", "skipped"), _PER_COLLECTOR + (
    counter("timeouts", "1/s", "reads off the host cycle that took longer than their timeout "
                               "(their values are dropped)"),
    counter("skipped", "1/s", "ticks at which the collector was still busy with its last read"),
))


class Health(Collector):
    """The agent (instance None) and each collector running or failing (instance: its name).

    ``agent()`` gives the agent's fields up to ``repeated`` (the sender's, the
    cycle's, the scheduler's), ``process()`` its CPU seconds and resident bytes,
    ``collectors()`` each collector's fields of PER_COLLECTOR, or of PER_BLOCKING
    for one read off the host cycle.
    """

    name = "agent"
    group = "carbon_client"
    description = (
        "The agent itself (`host.carbon_client.<key>`): lines sent, dropped and resent, buffer "
        "and spool depth, reconnects, whether a destination is connected, the cycle's duration, "
        "and its own CPU and memory. Per collector (`host.carbon_client.<collector>.<key>`): how "
        "long its last read took and whether it succeeded. Sent every 10 s, or every interval when "
        "that is longer (the first multiple of it from 10 s); `intervals: {agent: 1s}` sends it every tick."
    )

    def __init__(self, source, options=None, *, agent: Callable[[], tuple],
                 collectors: Callable[[], dict], process: Optional[Callable[[], tuple]] = None) -> None:
        super().__init__(source, options)
        self.agent = agent
        self.collectors = collectors
        self.process = process or ProcessUsage()
        self._collectors: dict = {}
        every = getattr(options, "interval", SECONDS) or SECONDS
        self.interval = -(-SECONDS // every) * every

    def probe(self) -> None:
        return None

    def schema(self, instance: Optional[str]) -> Schema:
        if instance is None:
            return AGENT
        return PER_BLOCKING if len(self._collectors[instance]) == len(PER_BLOCKING.fields) else PER_COLLECTOR

    @classmethod
    def reference(cls) -> dict[Optional[str], Schema]:
        return {None: AGENT, "<collector>": PER_COLLECTOR, "<collector off the cycle>": PER_BLOCKING}

    def read(self) -> Raw:
        self._collectors = self.collectors()
        return {None: (*self.agent(), *self.process()), **self._collectors}


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
