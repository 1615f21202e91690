"""Services and containers: CPU, throttling, memory, I/O, tasks and pressure per cgroup.

The cgroups are looked for (carbon_client.cgroupfs) at every read, or at
most every ``DISCOVER_EVERY`` seconds when reads come more often: a
container that starts shows at the next look, within 10 s; one that stops
(none of its files can be read) is not sent from that read on and is
forgotten at the next look, which is then the next read, with everything
learnt about it. Looking costs a directory listing per level of every
hierarchy (seven on a hybrid host), most of a read where few cgroups are
found (docs/BENCHMARKS.md). What is read for a cgroup is
worked out once, when it is first seen (its plan): the files of the v2 tree,
or on v1 and hybrid hosts the files of each v1 controller that has the
cgroup and the pressure files of the hybrid v2 tree. A file a cgroup lacks
(its parent does not enable the controller) is not tried again for
``RESCAN`` cycles.

v1 values are converted to v2's units: cpuacct.usage and throttled_time
are nanoseconds (v2: microseconds), memory.usage_in_bytes and
memory.limit_in_bytes stand for memory.current and memory.max, memory.stat's
total_rss and total_cache for anon and file, and the blkio throttle files'
Read and Write rows for io.stat's rbytes, wbytes, rios and wios.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Optional

from carbon_client.cgroupfs import SERVICE, Hierarchies, discover, find_hierarchies, ROOT
from carbon_client.collectors.devices import Selector
from carbon_client.logonce import LogOnce
from carbon_client.metrics import Collector, Raw, Unavailable, counter, derived, gauge
from carbon_client.parsers import ParseError
from carbon_client.parsers.cgroup import parse_blkio, parse_io_stat, parse_keyed, parse_value
from carbon_client.parsers.cgroup_pressure import parse_pressure

log = logging.getLogger("carbon_client.collectors")

# Cycles between retries of the files a cgroup lacked.
RESCAN = 60
# Seconds between two looks for cgroups that came and went, at most.
DISCOVER_EVERY = 10.0
# v1 prints "no limit" as LONG_MAX rounded down to a page (or 2^64 - 1 on old kernels).
V1_UNLIMITED = 1 << 62

_PSI = tuple(f"{r}_{k}" for r in ("cpu", "memory", "io") for k in ("some", "full"))
FIELDS = (
    "usage_usec", "nr_throttled", "throttled_usec", "memory_current", "memory_max", "anon", "file",
    "rbytes", "wbytes", "rios", "wios", "pids", *(f"{p}_{x}" for p in _PSI for x in ("avg10", "total")),
)
_AT = {f: i for i, f in enumerate(FIELDS)}

_PSI_HELP = {
    "some": "at least one task stalled on", "full": "every non-idle task stalled at once on",
}
_PSI_RESOURCE = {"cpu": "CPU", "memory": "memory", "io": "I/O"}


def _psi_metrics():
    for p in _PSI:
        res, kind = p.split("_")
        what = f"{_PSI_HELP[kind]} {_PSI_RESOURCE[res]}"
        yield gauge(f"pressure_{p}_avg10", "%", f"time {what}, 10 s average ({res}.pressure)",
                    field=f"{p}_avg10")
        yield counter(f"pressure_{p}_stall", "%", f"time {what} over the interval ({res}.pressure total)",
                      field=f"{p}_total", scale=1e-4, total=False)


Fill = Callable[[str, list], None]


def _value(at: int, source: str, per_unit: float = 1.0) -> Fill:
    def fill(text: str, raw: list) -> None:
        v = parse_value(text, source)
        raw[at] = v if v is None or per_unit == 1.0 else v * per_unit
    return fill


def _v1_limit(text: str, raw: list) -> None:
    v = parse_value(text, "memory.limit_in_bytes")
    raw[_AT["memory_max"]] = v if v is not None and v < V1_UNLIMITED else None


def _keyed(source: str, pairs: tuple[tuple[str, str, float], ...]) -> Fill:
    """Keys of a flat keyed file into fields: (key, field, unit conversion)."""
    keys = tuple(k for k, _, _ in pairs)
    where = tuple((k, _AT[f], per) for k, f, per in pairs)

    def fill(text: str, raw: list) -> None:
        d = parse_keyed(text, keys, source)
        for key, at, per in where:
            v = d.get(key)
            if v is not None:
                raw[at] = v if per == 1.0 else v * per
    return fill


def _v1_memory_stat(text: str, raw: list) -> None:
    d = parse_keyed(text, ("total_rss", "total_cache", "rss", "cache"), "memory.stat")
    # total_*: the cgroup and its children, as memory.usage_in_bytes counts them.
    raw[_AT["anon"]] = d.get("total_rss", d.get("rss"))
    raw[_AT["file"]] = d.get("total_cache", d.get("cache"))


def _io_stat(text: str, raw: list) -> None:
    raw[_AT["rbytes"]:_AT["wios"] + 1] = parse_io_stat(text)


def _blkio(first: str, source: str) -> Fill:
    at = _AT[first]

    def fill(text: str, raw: list) -> None:
        raw[at:at + 2] = parse_blkio(text, source)
    return fill


def _pressure(resource: str) -> Fill:
    some, full = _AT[f"{resource}_some_avg10"], _AT[f"{resource}_full_avg10"]

    def fill(text: str, raw: list) -> None:
        p = parse_pressure(text)
        if p.some is not None:
            raw[some], raw[some + 1] = p.some.avg10, p.some.total
        if p.full is not None:
            raw[full], raw[full + 1] = p.full.avg10, p.full.total
    return fill


_V2_CPU = _keyed("cpu.stat", (("usage_usec", "usage_usec", 1.0), ("nr_throttled", "nr_throttled", 1.0),
                              ("throttled_usec", "throttled_usec", 1.0)))
_V2_USAGE = _keyed("cpu.stat", (("usage_usec", "usage_usec", 1.0),))
_V2_MEMORY_STAT = _keyed("memory.stat", (("anon", "anon", 1.0), ("file", "file", 1.0)))
_V1_CPU = _keyed("cpu.stat", (("nr_throttled", "nr_throttled", 1.0), ("throttled_time", "throttled_usec", 1e-3)))
_PRESSURE = tuple((f"{r}.pressure", _pressure(r)) for r in ("cpu", "memory", "io"))
# One function per file, shared by every cgroup's plan.
_MEMORY_CURRENT = _value(_AT["memory_current"], "memory.current")
_MEMORY_MAX = _value(_AT["memory_max"], "memory.max")
_PIDS = _value(_AT["pids"], "pids.current")
_CPUACCT_USAGE = _value(_AT["usage_usec"], "cpuacct.usage", 1e-3)  # ns -> us
_V1_USAGE = _value(_AT["memory_current"], "memory.usage_in_bytes")
_BLKIO_BYTES = _blkio("rbytes", "blkio.throttle.io_service_bytes")
_BLKIO_OPS = _blkio("rios", "blkio.throttle.io_serviced")


class _Plan:
    """What to read for one cgroup: (file, fill) pairs, and the files it lacked."""

    __slots__ = ("kind", "ident", "files", "missing")

    def __init__(self, kind: str, ident: str, files: list[tuple[str, Fill]]) -> None:
        self.kind = kind
        self.ident = ident
        self.files = files
        self.missing: set[str] = set()


def plan_files(source, h: Hierarchies, rel: str) -> list[tuple[str, Fill]]:
    """The files of cgroup ``rel`` in each hierarchy, and how each fills the raw tuple."""
    if h.pure:
        d = f"{h.v2}/{rel}"
        return [
            (f"{d}/cpu.stat", _V2_CPU),
            (f"{d}/memory.current", _MEMORY_CURRENT),
            (f"{d}/memory.max", _MEMORY_MAX),
            (f"{d}/memory.stat", _V2_MEMORY_STAT),
            (f"{d}/io.stat", _io_stat),
            (f"{d}/pids.current", _PIDS),
            *((f"{d}/{name}", fill) for name, fill in _PRESSURE),
        ]
    v1 = h.v1
    files: list[tuple[str, Fill]] = []
    cpuacct = v1.get("cpuacct")
    if cpuacct and source.sys_exists(f"{cpuacct}/{rel}"):
        files.append((f"{cpuacct}/{rel}/cpuacct.usage", _CPUACCT_USAGE))
    elif h.v2:
        files.append((f"{h.v2}/{rel}/cpu.stat", _V2_USAGE))
    if "cpu" in v1:
        files.append((f"{v1['cpu']}/{rel}/cpu.stat", _V1_CPU))
    if "memory" in v1:
        d = f"{v1['memory']}/{rel}"
        files += [
            (f"{d}/memory.usage_in_bytes", _V1_USAGE),
            (f"{d}/memory.limit_in_bytes", _v1_limit),
            (f"{d}/memory.stat", _v1_memory_stat),
        ]
    if "blkio" in v1:
        d = f"{v1['blkio']}/{rel}"
        files += [
            (f"{d}/blkio.throttle.io_service_bytes", _BLKIO_BYTES),
            (f"{d}/blkio.throttle.io_serviced", _BLKIO_OPS),
        ]
    if "pids" in v1:
        files.append((f"{v1['pids']}/{rel}/pids.current", _PIDS))
    if h.v2:
        files += [(f"{h.v2}/{rel}/{name}", fill) for name, fill in _PRESSURE]
    return files


class Cgroup(Collector):
    name = group = "cgroup"
    blocking = True
    description = (
        "systemd services (system.slice/*.service) and containers (Docker, containerd and CRI-O "
        "under Kubernetes, podman, and podman pods), one instance each, from their cgroups "
        "under the sys root: v2, or on v1 and hybrid hosts the memory, cpuacct, cpu, blkio and "
        "pids controllers and the hybrid v2 tree's pressure files. Values a cgroup does not "
        "have (its parent does not enable the controller, a v1 host has no pressure files) "
        "are not sent. `cgroup_include` and `cgroup_exclude` select instances by name "
        "(globs); `cgroup_names` names containers by id or id prefix. New cgroups are looked "
        "for at every read, or every 10 s at a shorter interval; a cgroup that is gone is not "
        "sent from the next read on."
    )
    instances = ("a service (its unit name without `.service`), or a container or podman pod "
                 "(the first 12 characters of its id, or the name `cgroup_names` gives it)")
    fields = FIELDS
    counters = frozenset(("usage_usec", "nr_throttled", "throttled_usec", "rbytes", "wbytes", "rios", "wios",
                          *(f"{p}_total" for p in _PSI)))
    metrics = (
        counter("cpu_percent", "%", "CPU time used, percent of one core (cpu.stat usage_usec; v1 cpuacct.usage)",
                field="usage_usec", scale=1e-4, total=False),
        counter("throttled_periods", "1/s", "enforcement periods in which cpu.max (v1 cpu.cfs_quota_us) "
                                            "throttled the cgroup (nr_throttled)", field="nr_throttled"),
        counter("throttled_time", "ms/s", "time its tasks were throttled, summed over CPUs (throttled_usec; "
                                          "v1 throttled_time)", field="throttled_usec", scale=1e-3, total=False),
        gauge("memory_current", "B", "memory in use, page cache included (memory.current; v1 "
                                     "memory.usage_in_bytes)"),
        gauge("memory_max", "B", "memory limit (memory.max; v1 memory.limit_in_bytes); not sent when unlimited"),
        derived("memory_percent", "%", "memory_current / memory_max * 100; not sent when unlimited",
                lambda memory_current, memory_max: memory_current * 100.0 / memory_max if memory_max else None),
        gauge("memory_anon", "B", "anonymous memory (memory.stat anon; v1 total_rss)", field="anon"),
        gauge("memory_file", "B", "page cache (memory.stat file; v1 total_cache)", field="file"),
        counter("io_read_bytes", "B/s", "bytes read from block devices (io.stat rbytes; v1 blkio Read)",
                field="rbytes"),
        counter("io_write_bytes", "B/s", "bytes written to block devices (io.stat wbytes; v1 blkio Write)",
                field="wbytes"),
        counter("io_reads", "1/s", "read operations (io.stat rios; v1 blkio io_serviced Read)", field="rios"),
        counter("io_writes", "1/s", "write operations (io.stat wios; v1 blkio io_serviced Write)", field="wios"),
        gauge("pids", "", "tasks (processes and threads) in the cgroup (pids.current)"),
        *_psi_metrics(),
    )

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self.include = Selector(getattr(options, "cgroup_include", None))
        self.exclude = Selector(getattr(options, "cgroup_exclude", None))
        # Longest prefix first: the most specific name wins.
        self.names = sorted(getattr(options, "cgroup_names", None) or (), key=lambda kv: -len(kv[0]))
        self.hierarchies: Optional[Hierarchies] = None
        self._plans: dict[str, _Plan] = {}
        self._looked_at: Optional[float] = None  # when the cgroups were last looked for
        self.clock: Callable[[], float] = time.monotonic
        self._reads = 0
        self._bad = LogOnce(log)

    def probe(self) -> None:
        h = find_hierarchies(self.source)
        if h is None:
            raise Unavailable(f"no cgroup hierarchy in {self.source.sys_path(ROOT)}")
        self.hierarchies = h

    def instance_name(self, kind: str, ident: str) -> str:
        """A service's unit name; a container's configured name, or its id's first 12 characters."""
        if kind == SERVICE:
            return ident
        for prefix, name in self.names:
            if ident.startswith(prefix):
                return name
        return ident[:12]

    def _selected(self, name: str) -> bool:
        if self.include.globs is not None and not self.include.explicit(name):
            return False
        return self.exclude.globs is None or not self.exclude.explicit(name)

    def _discover(self) -> dict[str, _Plan]:
        """The plans of the cgroups there now: those known kept, new ones made."""
        h = self.hierarchies
        assert h is not None
        old, plans = self._plans, {}
        for root in h.roots():
            for rel, (kind, ident) in discover(self.source, root).items():
                if rel not in plans:
                    plans[rel] = old.get(rel) or _Plan(kind, ident, plan_files(self.source, h, rel))
        return plans

    def read(self) -> Raw:
        if self.hierarchies is None:
            self.probe()
        now = self.clock()
        if self._looked_at is None or not 0 <= now - self._looked_at < DISCOVER_EVERY:
            self._plans, self._looked_at = self._discover(), now
        plans = self._plans
        self._reads += 1
        retry = self._reads % RESCAN == 0
        read_sys = self.source.read_sys
        out: dict[Optional[str], tuple] = {}
        bad: list = []  # the complaints of this cycle (file paths, name clashes)
        # Services keep their names; a container named like one is sent under its id.
        for rel in sorted(plans, key=lambda r: (plans[r].kind != SERVICE, r)):
            plan = plans[rel]
            name = self.instance_name(plan.kind, plan.ident)
            if name in out:
                fallback = plan.ident[:12]
                self._bad.complain(("name", rel), f"cgroup: {rel}: {name!r} is taken by another cgroup; "
                                                  f"sent as {fallback!r}")
                bad.append(("name", rel))
                name = fallback
                if name in out:
                    continue
            if not self._selected(name):
                continue
            if retry:
                plan.missing.clear()
            missing = plan.missing
            raw: list = [None] * len(FIELDS)
            lacked = []
            for path, fill in plan.files:
                if path in missing:
                    continue
                text = read_sys(path)
                if text is None:
                    lacked.append(path)
                    continue
                try:
                    fill(text, raw)
                except ParseError as err:
                    bad.append(path)
                    self._bad.complain(path, f"cgroup: {path}: {err}")
            if lacked and len(lacked) == len(plan.files) - len(missing):
                self._looked_at = None  # nothing could be read: gone; looked for again next read
                continue
            missing.update(lacked)
            out[name] = tuple(raw)
        self._bad.keep_only(bad)
        return out
