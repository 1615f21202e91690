"""Per-device groups: disk (/proc/diskstats) and net (/proc/net/dev).

Devices are listed anew every cycle, so hot-plugged ones appear on the next
cycle and removed ones stop; facts read from /sys about a device are cached
only while it stays.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from operator import itemgetter
from typing import Optional, Sequence

from carbon_client.logonce import BadLines
from carbon_client.metrics import Collector, Raw, counter, derived, gauge
from carbon_client.parsers.diskstats import DiskStats, parse_diskstats
from carbon_client.parsers.net_dev import NetDev, parse_net_dev

log = logging.getLogger("carbon_client.collectors")


class Selector:
    """Glob list matching. None means the collector's default rule."""

    def __init__(self, globs: Optional[Sequence[str]]) -> None:
        self.globs = tuple(globs) if globs else None
        self._rx = (
            re.compile("|".join(fnmatch.translate(g) for g in self.globs)) if self.globs else None
        )

    def explicit(self, *names: str) -> bool:
        assert self._rx is not None
        return any(self._rx.match(n) for n in names)


# Reads between two full parses (see Devices).
RESCAN = 60


class Devices:
    """What a collector learnt of each device (``classify(item)``: None when the device
    is not reported), by a key whose first element is its name, kept while it stays.

    The lines of devices not reported (loop devices, partitions, interfaces
    a glob leaves out) are skipped unconverted by the parser: ``skip`` names
    them. Such a line is not seen, so every ``RESCAN`` reads the whole file
    is parsed again, and what is gone is forgotten; a device that takes the
    name of a skipped one is seen at the latest then. Converting a line costs
    about 4 us (docs/BENCHMARKS.md); a host has dozens of loop devices.
    """

    def __init__(self, classify) -> None:
        self.classify = classify
        self.known: dict = {}
        self.skip: frozenset = frozenset()
        self._reads = 0
        self._fresh: dict = {}
        self._changed = True
        self._parsed = 0  # devices the last read parsed

    def begin(self) -> frozenset:
        """The names the parser may skip this read."""
        self._fresh = {}
        self._changed = full = self._reads % RESCAN == 0
        self._reads += 1
        if full:
            self.known = {k: v for k, v in self.known.items() if v is not None}
            return frozenset()
        return self.skip

    def info(self, key, item):
        if key in self.known:
            info = self.known[key]
        else:
            info = self.classify(item)
            self._changed = True
        self._fresh[key] = info
        return info

    def end(self) -> None:
        """Keep what this read saw, and the skipped devices as they were."""
        fresh = self._fresh
        if not self._changed and len(fresh) == self._parsed:
            return  # the same devices as last time
        self._parsed = len(fresh)
        fresh.update((k, None) for k, v in self.known.items() if v is None and k not in fresh)
        self.known = fresh
        self.skip = frozenset(k[0] for k, v in fresh.items() if v is None)


# Partitions by name, for roots without /sys (node_exporter's rule plus mmcblk).
_PARTITION = re.compile(r"^((h|s|v|xv)d[a-z]+|nvme\d+n\d+p|mmcblk\d+p|md\d+p)\d+$")
_HIDDEN = re.compile(r"^(loop|ram|zram)\d+$")
_STACKED = re.compile(r"^(dm-|md)\d+$")

_DISK_FIELDS = DiskStats._fields[3:20]


class Disk(Collector):
    name = group = "disk"
    description = (
        "Block device I/O (/proc/diskstats). By default whole disks and device-mapper "
        "devices, named by their dm name; no partitions, loop, ram or zram devices unless "
        "`disks` names them. `total` sums whole disks that are not stacked on others "
        "(dm, md), so no byte is counted twice; its busy_percent is the busiest device."
    )
    instances = "the device (dm devices by dm name), and `total`"
    source_path = "diskstats"
    aggregate = "total"
    fields = _DISK_FIELDS
    counters = frozenset(f for f in _DISK_FIELDS if f != "in_progress")
    metrics = (
        counter("reads", "1/s", "reads completed"),
        counter("writes", "1/s", "writes completed"),
        counter("read_bytes", "B/s", "bytes read", field="sectors_read", scale=512),
        counter("write_bytes", "B/s", "bytes written", field="sectors_written", scale=512),
        counter("reads_merged", "1/s", "adjacent reads merged"),
        counter("writes_merged", "1/s", "adjacent writes merged"),
        counter("read_time", "ms/s", "time spent reading, summed over requests", field="read_ms"),
        counter("write_time", "ms/s", "time spent writing, summed over requests", field="write_ms"),
        counter("io_time", "ms/s", "time the device had I/O in flight", field="io_ms"),
        derived("busy_percent", "%", "percent of time with I/O in flight (iostat %util)",
                lambda io_time: min(100.0, io_time * 0.1), agg="max"),
        counter("avg_queue", "", "average requests in flight (iostat aqu-sz)",
                field="weighted_io_ms", scale=0.001, total=False),
        derived("await", "ms", "average time per completed request, queueing included",
                lambda reads, writes, read_time, write_time:
                (read_time + write_time) / (reads + writes) if reads + writes > 0 else 0.0),
        derived("read_await", "ms", "average time per completed read",
                lambda reads, read_time: read_time / reads if reads > 0 else 0.0),
        derived("write_await", "ms", "average time per completed write",
                lambda writes, write_time: write_time / writes if writes > 0 else 0.0),
        gauge("in_progress", "", "requests in flight now"),
        counter("discards", "1/s", "discards completed (4.18+)"),
        counter("discard_bytes", "B/s", "bytes discarded (4.18+)", field="sectors_discarded", scale=512),
    )

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self.select = Selector(getattr(options, "disks", None))
        self.devices = Devices(self._classify)
        self.members: set[str] = set()
        self._errors = BadLines(log, "diskstats", self)

    def _classify(self, d: DiskStats) -> Optional[tuple[str, bool]]:
        """(instance name, counts towards total) or None when not selected."""
        kname = d.name
        cls = f"class/block/{kname}"
        in_sys = self.source.sys_exists(cls)
        partition = self.source.sys_exists(cls + "/partition") if in_sys else bool(_PARTITION.match(kname))
        name = kname
        if kname.startswith("dm-"):
            name = self.source.read_sys(f"block/{kname}/dm/name") or kname
        if self.select.globs is None:
            if partition or _HIDDEN.match(kname):
                return None
        elif not self.select.explicit(kname, name):
            return None
        if partition or _STACKED.match(kname):
            member = False
        elif in_sys:
            member = not self.source.sys_listdir(f"block/{kname}/slaves")
        else:
            member = True
        return name, member

    def read(self) -> Raw:
        """Every reported device; what is learnt of a device (its name, whether it counts
        towards total) is kept while it stays, and forgotten when it goes."""
        devices = self.devices
        disks = parse_diskstats(self.source.read_proc("diskstats"), self._errors, devices.begin())
        self._errors.end()
        out, members = {}, set()
        for d in disks:
            info = devices.info((d.name, d.major, d.minor), d)
            if info is None:
                continue
            name, member = info
            out[name] = d[3:20]
            if member:
                members.add(name)
        devices.end()
        self.members = members
        return out

    @property
    def instance_names(self) -> dict[str, str]:
        """Instance name by kernel name (``dm-0`` -> ``vg-root``) of the devices the last read reported."""
        return {kname: info[0] for (kname, _, _), info in self.devices.known.items() if info is not None}


_NET_DEFAULT_SKIP = ("lo",)
# dstat's rule for interfaces that repeat others' traffic, for roots without /sys.
_NET_NOT_IN_TOTAL = re.compile(r"^(lo|bond\d+|.+\.\d+)$")
_NET_FIELDS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errs", "tx_errs", "rx_drop", "tx_drop")
_NET_PICK = itemgetter(*(NetDev._fields.index(f) for f in _NET_FIELDS))


class Net(Collector):
    name = group = "net"
    description = (
        "Network interface traffic (/proc/net/dev). By default every interface but lo. "
        "`total` sums physical interfaces (those with /sys/class/net/<nic>/device), so "
        "traffic crossing veth pairs and bridges on container hosts is not counted twice; "
        "without /sys it sums all but lo, bonding masters and VLAN sub-interfaces."
    )
    instances = "the interface, and `total`"
    source_path = "net/dev"
    aggregate = "total"
    fields = _NET_FIELDS
    counters = frozenset(_NET_FIELDS)
    metrics = (
        counter("rx_bytes", "B/s", "bytes received", field="rx_bytes"),
        counter("tx_bytes", "B/s", "bytes sent", field="tx_bytes"),
        counter("rx_packets", "1/s", "packets received", field="rx_packets"),
        counter("tx_packets", "1/s", "packets sent", field="tx_packets"),
        counter("rx_errors", "1/s", "receive errors", field="rx_errs"),
        counter("tx_errors", "1/s", "transmit errors", field="tx_errs"),
        counter("rx_drop", "1/s", "received packets dropped", field="rx_drop"),
        counter("tx_drop", "1/s", "packets dropped on transmit", field="tx_drop"),
    )

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self.select = Selector(getattr(options, "nics", None))
        self.devices = Devices(self._classify)
        self.members: set[str] = set()
        self._errors = BadLines(log, "net/dev", self)

    def _classify(self, name: str) -> Optional[bool]:
        """Counts towards total, or None when not selected."""
        if self.select.globs is None:
            if name in _NET_DEFAULT_SKIP:
                return None
        elif not self.select.explicit(name):
            return None
        if self.source.sys_exists(f"class/net/{name}"):
            return self.source.sys_exists(f"class/net/{name}/device")
        return not _NET_NOT_IN_TOTAL.match(name)

    def read(self) -> Raw:
        """Every reported interface; whether an interface counts towards total is kept
        while it stays, and forgotten when it goes."""
        devices = self.devices
        nics = parse_net_dev(self.source.read_proc("net/dev"), self._errors, devices.begin())
        self._errors.end()
        out, members = {}, set()
        for d in nics:
            member = devices.info((d.name,), d.name)
            if member is None:
                continue
            out[d.name] = _NET_PICK(d)
            if member:
                members.add(d.name)
        devices.end()
        self.members = members
        return out
