"""dstat's blocks of columns, filled from one cycle's samples.

A block is one dstat plugin (``total cpu usage``, ``dsk/sda``, ``paging``):
a title, column nicks, and a function from a :class:`Frame` (the cycle's
samples) to this row's values. The values are the ones the collectors
computed for Graphite, rates and aggregates included; a block picks them,
and adds them up only where one dstat column spans several of a group's
keys (cpu ``usr``, memory ``used``, the nfs columns).
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

from carbon_client.top.format import DEFAULT_STYLE, Style, Theme, cprint, csv_value

Values = list  # one list of column values per instance


class Frame:
    """One cycle's samples, looked up as Graphite paths name them: group, instance, key."""

    def __init__(self, samples: Sequence) -> None:
        self.collectors = {s.collector.name for s in samples}
        self._groups: dict[str, list] = {}
        for s in samples:
            self._groups.setdefault(s.collector.group, []).append(s)

    def sample(self, group: str, instance: Optional[str]):
        """The sample of ``group`` holding ``instance`` (the ``carbon_client`` group has two)."""
        for s in self._groups.get(group, ()):
            if instance in s.values:
                return s
        return None

    def get(self, group: str, instance: Optional[str], *keys: str) -> list:
        """Values of ``keys`` for one instance (None where missing)."""
        s = self.sample(group, instance)
        return [None if s is None else s.get(instance, k) for k in keys]

    def row(self, group: str, instance: Optional[str]) -> Optional[tuple[list, dict]]:
        """One instance's values and its schema's key -> position index."""
        s = self.sample(group, instance)
        return None if s is None else (s.values[instance], s.schemas[instance].index)

    def totals(self, group: str, instance: Optional[str]) -> dict:
        """One instance's cumulative counters by key (the sampler's totals; empty without them)."""
        s = self.sample(group, instance)
        if s is None or s.totals is None or instance not in s.totals:
            return {}
        return {m.key: v for m, v in zip(s.schemas[instance].total_metrics, s.totals[instance])}

    def instances(self, group: str) -> list:
        return [i for s in self._groups.get(group, ()) for i in s.values]


class Block:
    """One dstat plugin: a title, column nicks, and a function giving this row's values.

    ``name`` is one title (a string: dstat's scalar plugins such as paging) or
    a list of per-instance titles (``['dsk/total', 'dsk/vda']``); ``compute``
    returns one list of values per title (one list for a string title).
    ``types``/``scales`` override ``ctype``/``scale`` per column.
    """

    def __init__(self, name, nicks: Sequence[str], ctype: str, width: int, scale: float,
                 compute: Callable[[Frame], Values], types: Sequence[str] = (),
                 scales: Sequence[float] = ()) -> None:
        self.name = name
        self.listed = not isinstance(name, str)
        self.names = list(name) if self.listed else [name]
        self.nicks = tuple(nicks)
        self.width = width
        self.types = tuple(types) or (ctype,) * len(self.nicks)
        self.scales = tuple(scales) or (scale,) * len(self.nicks)
        self.compute = compute

    # widths, as dstat's statwidth/colwidth
    def colwidth(self) -> int:
        n = len(self.nicks)
        return self.width if not self.listed else n * self.width + n - 1

    def statwidth(self) -> int:
        if self.listed:
            return len(self.names) * self.colwidth() + len(self.names) - 1
        return len(self.nicks) * self.colwidth() + len(self.nicks) - 1

    def title(self, t: Theme) -> str:
        if not self.listed:
            w = self.statwidth()
            return t.title + self.name[0:w].center(w).replace(" ", "-") + t.default
        w = self.colwidth()
        sep = (t.frame + "-" + t.title) if t.title else " "
        return t.title + sep.join(n[0:w].center(w).replace(" ", "-") for n in self.names)

    def subtitle(self, t: Theme) -> str:
        one = " ".join(t.subtitle + k[0:self.width].center(self.width) + t.default for k in self.nicks)
        return (t.frame + ":").join([one] * len(self.names))

    def show(self, values: Values, t: Theme, style: Style = DEFAULT_STYLE) -> str:
        out = []
        w, types, scales = self.width, self.types, self.scales
        for vals in values:
            out.append(" ".join(
                cprint(v, types[i], w, scales[i], t, style) for i, v in enumerate(vals)
            ))
        return (t.frame + ":").join(out)

    def csvtitle(self) -> str:
        pad = "," * (len(self.nicks) - 1)
        return ",".join(f'"{n}"{pad}' for n in self.names)

    def csvsubtitle(self) -> str:
        if len(self.names) == 1:
            return ",".join(f'"{k}"' for k in self.nicks)
        return ",".join(f'"{n}:{k}"' for n in self.names for k in self.nicks)

    @staticmethod
    def csvrow(values: Values) -> str:
        return ",".join(csv_value(v) for vals in values for v in vals)


def cpu_block() -> Block:
    """dstat 0.7.3+: ``usr`` is user + nice + irq + softirq."""
    def compute(f: Frame) -> Values:
        user, nice, system, idle, iowait, irq, softirq, steal = f.get(
            "cpu", "total", "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
        usr = None if None in (user, nice, irq, softirq) else user + nice + irq + softirq
        return [[usr, system, idle, iowait, steal]]

    return Block(["total cpu usage"], ("usr", "sys", "idl", "wai", "stl"), "p", 3, 34, compute)


def disk_block(disks: Sequence[str], instances: Optional[Sequence[str]] = None) -> Block:
    """``disks`` as the user named them; ``instances`` the disk group's names for them."""
    insts = list(instances or disks)

    def compute(f: Frame) -> Values:
        return [f.get("disk", d, "read_bytes", "write_bytes") for d in insts]

    return Block(["dsk/" + d for d in disks], ("read", "writ"), "b", 5, 1024, compute)


def net_block(nics: Sequence[str]) -> Block:
    """``total`` is the net group's own: physical NICs (see the Net collector)."""
    def compute(f: Frame) -> Values:
        return [f.get("net", n, "rx_bytes", "tx_bytes") for n in nics]

    return Block(["net/" + n for n in nics], ("recv", "send"), "b", 5, 1024, compute)


def page_block() -> Block:
    return Block("paging", ("in", "out"), "d", 5, 1024,
                 lambda f: [f.get("paging", None, "swap_in", "swap_out")])


def sys_block() -> Block:
    return Block("system", ("int", "csw"), "d", 5, 1000,
                 lambda f: [f.get("system", None, "interrupts", "context_switches")])


def load_block() -> Block:
    return Block("load avg", ("1m", "5m", "15m"), "f", 4, 0.5,
                 lambda f: [f.get("load", None, "1m", "5m", "15m")])


def mem_block() -> Block:
    def compute(f: Frame) -> Values:
        used, shared, free, buffers, cached = f.get(
            "memory", None, "used", "shared", "free", "buffers", "cached")
        # dstat 0.7.4: MemTotal - MemFree - Buffers - Cached - SReclaimable + Shmem
        return [[None if used is None else used + (shared or 0), free, buffers, cached]]

    return Block("memory usage", ("used", "free", "buff", "cach"), "f", 5, 1024, compute)


def swap_block(listed: bool) -> Block:
    """dstat_swap (``swp/total``, from /proc/swaps) when the host has swap, else dstat_swap_old (``swap``)."""
    name = ["swp/total"] if listed else "swap"
    return Block(name, ("used", "free"), "d", 5, 1024,
                 lambda f: [f.get("swap", None, "used", "free")])


# dstat's nfs3 / nfsd3 columns by operation name, over every version.
_NFS_READDIR = ("readdir", "readdirplus")
_NFS_FS = ("fsstat", "fsinfo", "pathconf", "statfs")
_NFS_NOT_OTHER = frozenset(("null", "compound", "read", "write", "commit") + _NFS_READDIR + _NFS_FS)
_VERSION = re.compile(r"^v\d+(ops)?$")


def nfs_block(group: str) -> Block:
    def compute(f: Frame) -> Values:
        insts = [i for i in f.instances(group) if isinstance(i, str) and _VERSION.match(i)]
        if "v4ops" in insts and "v4" in insts:
            insts.remove("v4")  # the server's v4 line is null + compound; its ops are in v4ops
        read = write = readdir = fs = commit = other = 0.0
        known = False
        for inst in insts:
            r = f.row(group, inst)
            if r is None:
                continue
            vals, idx = r
            if any(vals[i] is None for i in idx.values()):
                continue
            known = True
            for key, i in idx.items():
                v = vals[i]
                if key == "read":
                    read += v
                elif key == "write":
                    write += v
                elif key == "commit":
                    commit += v
                elif key in _NFS_READDIR:
                    readdir += v
                elif key in _NFS_FS:
                    fs += v
                elif key not in _NFS_NOT_OTHER:
                    other += v
        if not known:
            return [[None] * 6]
        return [[read, write, readdir, other, fs, commit]]

    if group == "nfs":
        return Block("nfs client", ("read", "writ", "rdir", "othr", "fs", "cmmt"), "d", 5, 1000, compute)
    return Block("nfs server", ("read", "writ", "rdir", "inod", "fs", "cmmt"), "d", 5, 1000, compute)


# writeboost columns: nick, metric key, type, scale; a key the group does not declare drops its column.
WRITEBOOST_COLUMNS = (
    ("rhit", "read_hits", "d", 1000),
    ("rmis", "read_misses", "d", 1000),
    ("whit", "write_hits", "d", 1000),
    ("wmis", "write_misses", "d", 1000),
    ("dirty", "dirty_ratio", "p", 34),
    ("lag", "writeback_lag", "d", 1000),
)


def writeboost_block(frame: Frame) -> Optional[Block]:
    """Per target, the writeboost metrics this build declares; None when it declares none of them."""
    targets = [i for i in frame.instances("writeboost") if isinstance(i, str)]
    declared: set[str] = set()
    for t in targets:
        r = frame.row("writeboost", t)
        if r is not None:
            declared.update(r[1])
    cols = [c for c in WRITEBOOST_COLUMNS if c[1] in declared]
    if not cols or not targets:
        return None
    keys = [k for _, k, _, _ in cols]

    def compute(f: Frame) -> Values:
        return [f.get("writeboost", t, *keys) for t in targets]

    return Block(["wb/" + t for t in targets], [c[0] for c in cols], "d", 5, 1000, compute,
                 types=[c[2] for c in cols], scales=[c[3] for c in cols])


def sender_block() -> Block:
    """``carbon``: from the agent's health sample, lines sent per second (the sampler's rate),
    lines queued, and whether a destination is connected."""
    def compute(f: Frame) -> Values:
        sent, buffered, connected = f.get("carbon_client", None, "sent", "buffered", "connected")
        return [[sent, buffered, None if connected is None else ("up" if connected else "down")]]

    return Block("carbon", ("sent", "queue", "conn"), "d", 5, 1000, compute,
                 types=("d", "d", "s"), scales=(1000, 1000, 0))
