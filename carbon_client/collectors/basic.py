"""Host-wide groups from /proc: load, cpu, system, memory, swap, paging."""

from __future__ import annotations

import os
from functools import reduce
from operator import add

from carbon_client.metrics import Collector, Raw, Unavailable, counter, derived, gauge
from carbon_client.parsers.loadavg import parse_loadavg
from carbon_client.parsers.meminfo import parse_meminfo
from carbon_client.parsers.stat import CpuTimes, parse_stat, parse_stat_totals
from carbon_client.parsers.vmstat import parse_vmstat

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# The meminfo lines memory and swap use: looked up, not the whole file parsed.
MEMINFO_KEYS = frozenset((
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active",
    "Inactive", "SwapTotal", "SwapFree", "Dirty", "Writeback", "Shmem", "SReclaimable",
    "SUnreclaim",
))


def _meminfo(text: str) -> dict[str, int]:
    return parse_meminfo(text, MEMINFO_KEYS)


def _used_percent(total, used):
    return used * 100.0 / total if total else 0.0


class Load(Collector):
    name = group = "load"
    description = "Load averages (/proc/loadavg)."
    source_path = "loadavg"
    fields = ("1m", "5m", "15m")
    metrics = (
        gauge("1m", "", "load average over 1 minute"),
        gauge("5m", "", "load average over 5 minutes"),
        gauge("15m", "", "load average over 15 minutes"),
    )

    def read(self) -> Raw:
        la = parse_loadavg(self.source.read_proc("loadavg"))
        return {None: (la.load1, la.load5, la.load15)}


_CPU_STATES = CpuTimes._fields[:8]


def _cpu_ticks(ticks_user, ticks_nice, ticks_system, ticks_idle, ticks_iowait, ticks_irq, ticks_softirq,
               ticks_steal):
    """Ticks per second of every state; a state whose counter went backwards (iowait can
    dip by a tick: proc(5)) is left out, so the others still add up to 100 %."""
    known = [t for t in (ticks_user, ticks_nice, ticks_system, ticks_idle, ticks_iowait, ticks_irq,
                         ticks_softirq, ticks_steal) if t is not None]
    return reduce(add, known) if known else None


class Cpu(Collector):
    name = group = "cpu"
    description = (
        "CPU time by state in percent of all CPU time over the interval (/proc/stat). "
        "Instance `total` always; `cpuN` per core with `cpu_per_core: true`. "
        "guest time is part of user/nice, as the kernel counts it."
    )
    instances = "`total`, and `cpuN` per core with `cpu_per_core: true`"
    source_path = "stat"
    fields = _CPU_STATES
    counters = frozenset(_CPU_STATES)
    metrics = (
        # ticks per second in each state, and their sum: helpers, not sent
        *(counter(f"ticks_{s}", "1/s", f"{s} ticks", field=s, total=False, send=False) for s in _CPU_STATES),
        derived("ticks", "1/s", "ticks of every state whose counter went forward", _cpu_ticks, send=False,
                partial=True),
        derived("user", "%", "time spent in user, percent", lambda ticks_user, ticks: 100.0 * ticks_user / ticks if ticks > 0 else None),
        derived("nice", "%", "time spent in nice, percent", lambda ticks_nice, ticks: 100.0 * ticks_nice / ticks if ticks > 0 else None),
        derived("system", "%", "time spent in system, percent",
                lambda ticks_system, ticks: 100.0 * ticks_system / ticks if ticks > 0 else None),
        derived("idle", "%", "time spent in idle, percent", lambda ticks_idle, ticks: 100.0 * ticks_idle / ticks if ticks > 0 else None),
        derived("iowait", "%", "time spent in iowait, percent",
                lambda ticks_iowait, ticks: 100.0 * ticks_iowait / ticks if ticks > 0 else None),
        derived("irq", "%", "time spent in irq, percent", lambda ticks_irq, ticks: 100.0 * ticks_irq / ticks if ticks > 0 else None),
        derived("softirq", "%", "time spent in softirq, percent",
                lambda ticks_softirq, ticks: 100.0 * ticks_softirq / ticks if ticks > 0 else None),
        derived("steal", "%", "time spent in steal, percent", lambda ticks_steal, ticks: 100.0 * ticks_steal / ticks if ticks > 0 else None),
    )

    def read(self) -> Raw:
        per_core = getattr(self.options, "cpu_per_core", False)
        st = self.source.parsed("stat", parse_stat if per_core else parse_stat_totals)
        out = {"total": st.cpu[:8]}
        for name, times in st.cpus.items():
            out[name] = times[:8]
        return out


class System(Collector):
    name = group = "system"
    description = "Context switches, interrupts, forks and runnable/blocked tasks (/proc/stat)."
    source_path = "stat"
    fields = ("ctxt", "intr", "softirq", "processes", "procs_running", "procs_blocked")
    counters = frozenset(("ctxt", "intr", "softirq", "processes"))
    metrics = (
        counter("context_switches", "1/s", "context switches per second", field="ctxt"),
        counter("interrupts", "1/s", "interrupts serviced per second", field="intr"),
        counter("softirqs", "1/s", "softirqs serviced per second", field="softirq"),
        counter("forks", "1/s", "processes and threads created per second", field="processes"),
        gauge("procs_running", "", "tasks runnable now", field="procs_running"),
        gauge("procs_blocked", "", "tasks blocked on I/O now", field="procs_blocked"),
    )

    def read(self) -> Raw:
        st = self.source.parsed("stat", parse_stat_totals)
        return {None: (st.ctxt, st.intr, st.softirq, st.processes, st.procs_running, st.procs_blocked)}


class Memory(Collector):
    name = group = "memory"
    description = (
        "Physical memory in bytes (/proc/meminfo). used = total - free - buffers - cached - "
        "slab_reclaimable, as collectd and free(1) before procps 4 count it; available is "
        "MemAvailable (3.14+), or free + buffers + cached on older kernels."
    )
    source_path = "meminfo"
    fields = (
        "total", "free", "available", "used", "buffers", "cached", "shared",
        "slab_reclaimable", "slab_unreclaimable", "dirty", "writeback", "active", "inactive",
    )
    metrics = (
        gauge("total", "B", "MemTotal"),
        gauge("free", "B", "MemFree"),
        gauge("available", "B", "MemAvailable: memory available for new work without swapping"),
        gauge("used", "B", "total - free - buffers - cached - slab_reclaimable"),
        gauge("buffers", "B", "Buffers"),
        gauge("cached", "B", "Cached (page cache, without swap cache)"),
        gauge("shared", "B", "Shmem (tmpfs, shared memory)"),
        gauge("slab_reclaimable", "B", "SReclaimable"),
        gauge("slab_unreclaimable", "B", "SUnreclaim"),
        gauge("dirty", "B", "Dirty: waiting to be written back"),
        gauge("writeback", "B", "Writeback: being written back now"),
        gauge("active", "B", "Active"),
        gauge("inactive", "B", "Inactive"),
        derived("used_percent", "%", "used / total * 100", _used_percent),
    )

    def read(self) -> Raw:
        m = self.source.parsed("meminfo", _meminfo)
        g = m.get
        total, free, buffers, cached = g("MemTotal", 0), g("MemFree", 0), g("Buffers", 0), g("Cached", 0)
        sreclaim = g("SReclaimable", 0)
        available = g("MemAvailable")
        if available is None:
            available = free + buffers + cached
        used = max(0, total - free - buffers - cached - sreclaim)
        return {None: (
            total, free, available, used, buffers, cached, g("Shmem", 0), sreclaim,
            g("SUnreclaim", 0), g("Dirty", 0), g("Writeback", 0), g("Active", 0), g("Inactive", 0),
        )}


class Swap(Collector):
    name = group = "swap"
    description = "Swap space in bytes (/proc/meminfo); swap traffic is in the paging group."
    source_path = "meminfo"
    fields = ("total", "free", "used", "cached")
    metrics = (
        gauge("total", "B", "SwapTotal"),
        gauge("free", "B", "SwapFree"),
        gauge("used", "B", "SwapTotal - SwapFree"),
        gauge("cached", "B", "SwapCached: swapped out and back in, still in swap"),
        derived("used_percent", "%", "used / total * 100 (0 without swap)", _used_percent),
    )

    def read(self) -> Raw:
        m = self.source.parsed("meminfo", _meminfo)
        total, free = m.get("SwapTotal", 0), m.get("SwapFree", 0)
        return {None: (total, free, max(0, total - free), m.get("SwapCached", 0))}


class Paging(Collector):
    name = group = "paging"
    description = "Paging and swapping traffic and page faults (/proc/vmstat)."
    source_path = "vmstat"
    fields = ("pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault")
    counters = frozenset(fields)
    metrics = (
        counter("page_in", "B/s", "paged in from block devices (pgpgin)", field="pgpgin", scale=1024),
        counter("page_out", "B/s", "paged out to block devices (pgpgout)", field="pgpgout", scale=1024),
        counter("swap_in", "B/s", "swapped in (pswpin)", field="pswpin", scale=PAGE_SIZE),
        counter("swap_out", "B/s", "swapped out (pswpout)", field="pswpout", scale=PAGE_SIZE),
        counter("faults", "1/s", "page faults (pgfault)", field="pgfault"),
        counter("major_faults", "1/s", "page faults that needed I/O (pgmajfault)", field="pgmajfault"),
    )

    def read(self) -> Raw:
        v = parse_vmstat(self.source.read_proc("vmstat"), self.fields)
        try:
            return {None: tuple(v[f] for f in self.fields)}
        except KeyError as exc:
            raise Unavailable(f"vmstat has no {exc.args[0]} line") from None
