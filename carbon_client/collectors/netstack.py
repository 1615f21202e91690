"""Socket, softirq and connection-tracking state: sockstat, softnet and conntrack."""

from __future__ import annotations

import logging
from typing import Optional

from carbon_client.collectors.basic import PAGE_SIZE
from carbon_client.logonce import BadLines
from carbon_client.metrics import Collector, Metric, Raw, Schema, Unavailable, counter, derived, gauge
from carbon_client.parsers.conntrack import parse_conntrack_stat
from carbon_client.parsers.sockstat import parse_sockstat
from carbon_client.parsers.softnet import parse_softnet
from carbon_client.parsers.sysctl import parse_sysctl_int

log = logging.getLogger("carbon_client.collectors")

# -- sockstat ------------------------------------------------------------------------------

_SOCKSTAT_KEYS = {
    "used": ("", "sockets of every protocol allocated"),
    "inuse": ("", "sockets in use (in this network namespace)"),
    "orphan": ("", "TCP sockets no process holds any more (orphans)"),
    "tw": ("", "TCP sockets in TIME_WAIT"),
    "alloc": ("", "TCP sockets allocated, in every state"),
    "mem": ("B", "memory of the protocol's socket buffers (the kernel's pages times the page size)"),
    "memory": ("B", "memory of fragments waiting for reassembly"),
}
# What 6.18 prints, for the docs: protocol -> keys.
SOCKSTAT_LINES = {
    "sockets": ("used",), "tcp": ("inuse", "orphan", "tw", "alloc", "mem"), "udp": ("inuse", "mem"),
    "udplite": ("inuse",), "raw": ("inuse",), "frag": ("inuse", "memory"),
    "tcp6": ("inuse",), "udp6": ("inuse",), "udplite6": ("inuse",), "raw6": ("inuse",), "frag6": ("inuse", "memory"),
}


def _sockstat_metric(key: str) -> Metric:
    unit, text = _SOCKSTAT_KEYS.get(key, ("", key))
    return gauge(key, unit, text, scale=PAGE_SIZE if key == "mem" else 1.0)


def sockstat_schema(keys: tuple[str, ...]) -> Schema:
    return Schema(keys, frozenset(), tuple(_sockstat_metric(k) for k in keys))


class Sockstat(Collector):
    name = group = "sockstat"
    description = (
        "Sockets by protocol from /proc/net/sockstat and /proc/net/sockstat6 (gauges). The "
        "instance is the protocol lowercased, v6 ones ending in 6 (`tcp`, `tcp6`); `sockets.used` "
        "counts every protocol. `mem` is converted from pages to bytes. `inuse` counts this "
        "network namespace, `alloc`, `orphan` and `mem` the whole host."
    )
    instances = "the protocol: `sockets`, `tcp`, `udp`, `udplite`, `raw`, `frag`, `tcp6`, `udp6`..."
    source_path = "net/sockstat"
    FILES = ("net/sockstat", "net/sockstat6")

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self._errors = {rel: BadLines(log, rel, self) for rel in self.FILES}
        self._schemas: dict[tuple[str, ...], Schema] = {}
        self._current: dict[str, Schema] = {}

    @classmethod
    def reference(cls) -> dict[Optional[str], Schema]:
        return {proto: sockstat_schema(keys) for proto, keys in SOCKSTAT_LINES.items()}

    def schema(self, instance: Optional[str]) -> Schema:
        return self._current[instance]

    def read(self) -> Raw:
        out: dict[Optional[str], tuple] = {}
        current: dict[str, Schema] = {}
        for rel in self.FILES:
            try:
                text = self.source.read_proc(rel)
            except FileNotFoundError:
                continue  # no IPv6
            for line in parse_sockstat(text, self._errors[rel]):
                s = self._schemas.get(line.keys)
                if s is None:
                    s = self._schemas[line.keys] = sockstat_schema(line.keys)
                inst = line.proto.lower()
                out[inst] = line.values
                current[inst] = s
            self._errors[rel].end()
        self._current = current
        return out


# -- softnet -------------------------------------------------------------------------------

_SOFTNET_COUNTERS = ("processed", "dropped", "time_squeeze", "received_rps", "flow_limit_count")


class Softnet(Collector):
    name = group = "softnet"
    description = (
        "Packet processing in the network softirq (/proc/net/softnet_stat), summed over the CPUs "
        "(`host.softnet.<key>`) and, with `softnet_per_cpu: true`, per CPU "
        "(`host.softnet.cpuN.<key>`). `dropped` counts packets lost because a CPU's backlog was "
        "full (raise net.core.netdev_max_backlog), `time_squeeze` the times the softirq ran out of "
        "budget with work left (net.core.netdev_budget). received_rps needs 2.6.35+, "
        "flow_limit_count 3.x, backlog 5.10+."
    )
    instances = "none for the sum over CPUs; `cpuN` per CPU with `softnet_per_cpu: true`"
    source_path = "net/softnet_stat"
    fields = (*_SOFTNET_COUNTERS, "backlog")
    counters = frozenset(_SOFTNET_COUNTERS)
    metrics = (
        counter("processed", "1/s", "packets processed by the NET_RX softirq"),
        counter("dropped", "1/s", "packets dropped: the CPU's input backlog was full"),
        counter("time_squeeze", "1/s", "times NET_RX stopped with work left (budget or time used up)"),
        counter("received_rps", "1/s", "RPS inter-processor interrupts received"),
        counter("flow_limit_count", "1/s", "packets dropped by the RPS flow limit"),
        gauge("backlog", "", "packets waiting in the CPUs' backlogs now"),
    )

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self.per_cpu = bool(getattr(options, "softnet_per_cpu", False))
        self._errors = BadLines(log, "softnet_stat", self)

    def read(self) -> Raw:
        rows = parse_softnet(self.source.read_proc("net/softnet_stat"), self._errors)
        self._errors.end()
        if not rows:
            return {}
        # A column the kernel does not print is None on every row: None summed stays None.
        cols = list(zip(*rows))[1:]
        out: dict[Optional[str], tuple] = {None: tuple(None if c[0] is None else sum(c) for c in cols)}
        if self.per_cpu:
            for r in rows:
                out[f"cpu{r.cpu}"] = r[1:]
        return out


# -- conntrack -----------------------------------------------------------------------------

COUNT_MAX = (
    ("sys/net/netfilter/nf_conntrack_count", "sys/net/netfilter/nf_conntrack_max"),
    # before nf_conntrack (2.6.15..2.6.19 ip_conntrack)
    ("sys/net/ipv4/netfilter/ip_conntrack_count", "sys/net/ipv4/netfilter/ip_conntrack_max"),
)
STAT = "net/stat/nf_conntrack"
# Per-CPU event counters of net/stat/nf_conntrack, summed (names as the header prints them).
_CT_COUNTERS = {
    "found": "lookups that found an entry",
    "invalid": "packets that could not be tracked",
    "insert": "entries inserted",
    "insert_failed": "entries that could not be inserted (a clash lost)",
    "drop": "packets dropped: the table was full and no entry could be evicted",
    "early_drop": "entries evicted to make room when the table was full",
    "icmp_error": "ICMP errors that matched no entry",
    "search_restart": "lookups restarted because the table was resized or changed",
    "clashres": "insert clashes resolved (5.x+)",
    "chainlength": "inserts refused because a hash chain was too long (5.x+)",
}


class Conntrack(Collector):
    name = group = "conntrack"
    description = (
        "Netfilter connection tracking: entries in the table, its limit and how full it is "
        "(/proc/sys/net/netfilter/nf_conntrack_count and _max, or the older "
        "ip_conntrack_* files), and the per-CPU event counters of /proc/net/stat/nf_conntrack "
        "summed over the CPUs. When the table is full new connections are dropped (`drop`). "
        "Without the nf_conntrack module the group is disabled."
    )
    fields = ("count", "max", *_CT_COUNTERS)
    counters = frozenset(_CT_COUNTERS)
    metrics = (
        gauge("count", "", "connections tracked now"),
        gauge("max", "", "the table's limit (net.netfilter.nf_conntrack_max)"),
        derived("used_percent", "%", "count / max * 100", lambda count, max: count * 100.0 / max if max else None),
        *(counter(k, "1/s", text) for k, text in _CT_COUNTERS.items()),
    )

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self.paths: Optional[tuple[str, str]] = None

    def probe(self) -> None:
        for count, limit in COUNT_MAX:
            if self.source.proc_exists(count) and self.source.proc_exists(limit):
                self.paths = (count, limit)
                return
        raise Unavailable(f"{self.source.proc_path(COUNT_MAX[0][0])} does not exist (no nf_conntrack)")

    def read(self) -> Raw:
        assert self.paths is not None
        try:
            count, limit = (parse_sysctl_int(self.source.read_proc(p), p) for p in self.paths)
        except FileNotFoundError:  # nf_conntrack unloaded since the probe
            raise Unavailable(f"{self.source.proc_path(self.paths[0])} does not exist any more") from None
        try:
            stat = parse_conntrack_stat(self.source.read_proc(STAT))
        except FileNotFoundError:
            stat = {}
        return {None: (count, limit, *(stat.get(k) for k in _CT_COUNTERS))}
