"""dstat-style rows from the agent's own collectors: ``carbon-client top`` and the live view of ``run``.

``carbon-client top [flags] [DELAY [COUNT]]`` prints the rows dstat 0.7.4
prints, with its flags (``-c -d -n -l -m -g -s -y``, ``-D``, ``-N``, ``-f``,
``--nocolor``, ``--noheaders``, ``--output``...), its grouped headers, its
fixed-width columns scaled with B/k/M/G (``cprint``: base 1024 for bytes, 1000
for counts) and its colours. The numbers are the collectors' samples (the same
values that go to Graphite), combined here into dstat's columns; nothing in
this module reads /proc.

dstat's definitions, and where the columns come from:

- cpu ``usr`` is user + nice + irq + softirq (dstat 0.7.3+), ``sys``, ``idl``,
  ``wai``, ``stl``: percent of all CPU time, as the cpu group sends it.
- ``dsk/total`` sums every block device that is neither a partition nor
  stacked on others (dm, md): the disk group's own ``total`` when it reports
  every device. dstat 0.7.4 finds partitions by a name pattern that misses
  nvme, mmcblk and xvd partitions and so counts their bytes twice; this view
  asks /sys (the disk group's rule) and does not.
- ``net/total`` sums every interface but ``lo``, bonding masters and VLAN
  sub-interfaces (dstat's ``^(lo|bond\\d+|face|.+\\.\\d+)$``), so bridges and
  veths count, as in dstat (the net group's own ``total`` counts only
  physical NICs).
- ``memory used`` is total - free - buffers - cached - reclaimable slab +
  shmem; ``paging`` is swap traffic (pswpin/pswpout) in bytes; ``system`` is
  interrupts and context switches per second.
- ``--nfs`` and ``--nfsd`` have dstat's nfs3 columns, counted over every NFS
  version the kernel reports (dstat counts v3 only); ``--writeboost`` shows,
  per target, whichever hit/miss, dirty and lag metrics the writeboost group
  declares.

The first row. dstat prints averages since boot in its first row (and 0 for
the network). This view never makes up a rate from one sample: it prints the
header at once, and its first row DELAY seconds later, covering that first
interval, so every row means the same thing and COUNT rows take COUNT x DELAY
seconds. Side by side, our row N is dstat's row N + 1.

Other differences from dstat, on purpose:
- a value the collectors do not have this interval (a device that appeared
  or was reset, a -D name that does not exist, CPU percentages when no tick
  passed) is a dash, where dstat prints 0 or drops the column;
- rows are whole lines: dstat redraws the current row every second when
  DELAY > 1 on a terminal; here a row appears once, when its interval ends;
- ``--output`` writes dstat's CSV layout (four preamble lines, the titles,
  the nicks, one line per row; appended when the file exists). dstat 0.7.4
  itself stops at its first CSV row under Python 3 (``types.ListType``).

``LiveView`` prints the same rows while ``run`` streams (on a terminal or with
``--show``), with a last ``carbon`` block for the sender: lines sent per
second, lines queued, and whether a destination is connected. ``run`` imports
this module only when it shows rows; it imports nothing heavy itself.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Callable, Optional, Sequence

# -- dstat's number formatting --------------------------------------------------

_C = {
    "black": "\033[0;30m", "darkred": "\033[0;31m", "darkgreen": "\033[0;32m",
    "darkyellow": "\033[0;33m", "darkblue": "\033[0;34m", "darkmagenta": "\033[0;35m",
    "darkcyan": "\033[0;36m", "gray": "\033[0;37m", "darkgray": "\033[1;30m", "red": "\033[1;31m",
    "green": "\033[1;32m", "yellow": "\033[1;33m", "blue": "\033[1;34m", "magenta": "\033[1;35m",
    "cyan": "\033[1;36m", "white": "\033[1;37m", "redbg": "\033[41m",
}
RESET = "\033[0;0m"
_UNDERLINE = "\033[4m"


class Theme:
    """dstat's ``theme`` for finished rows (``step == op.delay``); every code empty without colour."""

    __slots__ = ("title", "subtitle", "frame", "default", "error", "text", "unit", "done",
                 "colors", "reset")

    def __init__(self, color: bool = False, black_on_white: bool = False) -> None:
        if not color:
            for k in self.__slots__:
                setattr(self, k, "")
            self.colors = ("",)
            return
        c = _C
        self.title = c["darkblue"]
        self.frame = c["darkblue"]
        self.default = RESET
        self.reset = RESET
        self.error = c["white"] + c["redbg"]
        if black_on_white:
            self.subtitle = c["darkcyan"] + _UNDERLINE
            self.text = self.unit = self.done = c["black"]
            self.colors = tuple(c[k] for k in ("darkred", "darkmagenta", "darkgreen", "darkblue",
                                               "darkcyan", "black", "red", "green"))
        else:
            self.subtitle = c["blue"] + _UNDERLINE
            self.text = c["gray"]
            self.unit = c["darkgray"]
            self.done = c["white"]
            self.colors = tuple(c[k] for k in ("red", "yellow", "green", "blue", "cyan", "white",
                                               "darkred", "darkgreen"))


PLAIN = Theme(False)


class Style:
    """How numbers are forced: dstat's ``--bits``, ``--integer`` and ``--float``."""

    __slots__ = ("bits", "integer", "float")

    def __init__(self, bits: bool = False, integer: bool = False, float: bool = False) -> None:
        self.bits, self.integer, self.float = bits, integer, float


_STYLE = Style()


def dchg(var: float, width: int, base: int) -> tuple[str, int]:
    """dstat ``dchg``: an integer in ``width`` characters, divided by ``base`` as often as needed."""
    c = 0
    while True:
        ret = str(int(round(var)))
        if len(ret) <= width:
            return ret, c
        var = var / base
        c += 1


def fchg(var: float, width: int, base: int) -> tuple[str, int]:
    """dstat ``fchg``: as many decimals as fit in ``width`` once divided by ``base``."""
    c = 0
    while True:
        if var == 0:
            return "0", c
        ret = str(int(round(var, width)))
        if len(ret) <= width:
            i = width - len(ret) - 1
            while i > 0:
                ret = ("%%.%df" % i) % var
                if len(ret) <= width and ret != str(int(round(var, width))):
                    break
                i -= 1
            else:
                ret = str(int(round(var)))
            return ret, c
        var = var / base
        c += 1


_INF = float("inf")
_UNITS_1000 = (" ", "k", "M", "G", "T", "P", "E", "Z", "Y")
_UNITS_1024 = ("B", "k", "M", "G", "T", "P", "E", "Z", "Y")
_UNITS_BITS = ("b", "k", "M", "G", "T", "P", "E", "Z", "Y")


def cprint(var, ctype: str = "f", width: int = 4, scale: float = 1000,
           theme: Theme = PLAIN, style: Style = _STYLE) -> str:
    """One column as dstat 0.7.4's ``cprint`` prints it.

    ``ctype``: ``b`` bytes, ``d`` integer count, ``p`` percent, ``f`` float,
    ``s`` string. ``scale`` 1000 or 1024 adds a unit character (``k``, ``M``;
    ``B`` or a space below the first step) and takes it from ``width``; any
    other scale colours the value by ``int(var / scale)``. A negative value is
    a dash; so is None (no value for this interval: first sample, reset).
    """
    base = 1024 if scale == 1024 else 1000
    unit = False
    if scale in (1000, 1024) and width >= len(str(base)):
        unit = True
        width -= 1
    if var is None or (ctype != "s" and (var != var or abs(var) == _INF)):
        return theme.text + "-".rjust(width) + (" " if unit else "") + theme.default
    if ctype != "s" and var < 0:
        return theme.error + "-".rjust(width) + (" " if unit else "") + theme.default
    if base != 1024:
        units = _UNITS_1000
    elif style.bits and ctype == "b":
        units = _UNITS_BITS
        base = scale = 1000
        var = var * 8.0
    else:
        units = _UNITS_1024
    c = 0
    if style.integer and ctype in ("b", "d", "p", "f"):
        ret, c = dchg(var, width, base)
    elif style.float and ctype in ("b", "d", "p", "f"):
        ret, c = fchg(var, width, base)
    elif ctype in ("b", "d", "p"):
        ret, c = dchg(var, width, base)
    elif ctype == "f":
        ret, c = fchg(var, width, base)
    elif ctype == "s":
        ret = str(var)
    else:
        raise ValueError(f"unknown column type {ctype!r}")
    if ret == "0":
        color = theme.unit
    elif scale <= 0:
        color = theme.text
    elif ctype == "p" and round(var) >= 100.0:
        color = theme.done
    elif scale not in (1000, 1024):
        color = theme.colors[int(var / scale) % len(theme.colors)]
    elif ctype in ("b", "d", "f"):
        color = theme.colors[c % len(theme.colors)]
    else:
        color = theme.text
    ret = color + (ret.ljust(width) if ctype == "s" else ret.rjust(width))
    if unit:
        if round(var) != 0:
            ret += theme.unit + units[c]
        else:
            ret += " "
    return ret


def csv_value(var) -> str:
    """dstat's ``printcsv``: an integer when the value is whole, else 3 decimals; empty for None.

    "Whole" allows for float noise (10.000000000000002 is 10), which dstat's
    exact test would print as 10.000.
    """
    if var is None:
        return ""
    if isinstance(var, str):
        return var
    r = round(var)
    if abs(var - r) > 1e-9 * max(1.0, abs(var)):
        return "%.3f" % var
    return "%d" % int(r)


# -- blocks of columns ------------------------------------------------------------

Values = list  # one list of column values per instance


class Block:
    """One dstat plugin: a title, column nicks, and a function giving this row's values.

    ``name`` is one title (a string: dstat's scalar plugins such as paging) or
    a list of per-instance titles (``['dsk/total', 'dsk/vda']``); ``compute``
    returns one list of values per title (one list for a string title).
    ``types``/``scales`` override ``ctype``/``scale`` per column.
    """

    def __init__(self, name, nicks: Sequence[str], ctype: str, width: int, scale: float,
                 compute: Callable[["Frame"], Values], types: Sequence[str] = (),
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

    def show(self, values: Values, t: Theme, style: Style = _STYLE) -> str:
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


class Frame:
    """One cycle's samples by collector name, with lookups by (instance, key)."""

    _index: dict = {}

    def __init__(self, groups, stats: Optional[dict] = None, elapsed: float = 0.0) -> None:
        self.sampled = {c.name: s for c, _, s in groups}
        self.collectors = {c.name: c for c, _, _ in groups}
        self.stats = stats
        self.elapsed = elapsed

    def row(self, group: str, instance) -> Optional[tuple[list, dict]]:
        s = self.sampled.get(group)
        if s is None:
            return None
        vals = s.values.get(instance)
        if vals is None:
            return None
        schema = s.schemas[instance]
        idx = Frame._index.get(schema)
        if idx is None:
            idx = Frame._index[schema] = {m.key: i for i, m in enumerate(schema.metrics)}
        return vals, idx

    def get(self, group: str, instance, *keys: str) -> list:
        """Values of ``keys`` for one instance (None where missing)."""
        r = self.row(group, instance)
        if r is None:
            return [None] * len(keys)
        vals, idx = r
        return [vals[idx[k]] if k in idx else None for k in keys]

    def instances(self, group: str) -> list:
        s = self.sampled.get(group)
        return list(s.values) if s is not None else []


def _sum(vals) -> Optional[float]:
    """Sum ignoring None; None when nothing is known."""
    known = [v for v in vals if v is not None]
    return sum(known) if known else None


# -- the groups -----------------------------------------------------------------

# dstat 0.7.4 dstat_net.totalfilter
NET_NOT_IN_TOTAL = re.compile(r"^(lo|bond\d+|face|.+\.\d+)$")

# flag -> collector it needs
COLLECTOR = {
    "cpu": "cpu", "disk": "disk", "net": "net", "load": "load", "mem": "memory", "page": "paging",
    "swap": "swap", "sys": "system", "nfs": "nfs", "nfsd": "nfsd", "writeboost": "writeboost",
}
DEFAULT_GROUPS = ("cpu", "disk", "net", "page", "sys")


def cpu_block() -> Block:
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
    def total(f: Frame) -> list:
        rows = [f.get("net", n, "rx_bytes", "tx_bytes")
                for n in f.instances("net") if n != "total" and not NET_NOT_IN_TOTAL.match(n)]
        return [_sum(r[0] for r in rows), _sum(r[1] for r in rows)]

    def compute(f: Frame) -> Values:
        return [total(f) if n == "total" else f.get("net", n, "rx_bytes", "tx_bytes") for n in nics]

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
    """``carbon``: lines sent per second, lines queued, and whether a destination is connected."""
    last: dict = {}

    def compute(f: Frame) -> Values:
        s = f.stats or {}
        sent = s.get("sent")
        rate = None
        if sent is not None and "sent" in last and f.elapsed > 0 and sent >= last["sent"]:
            rate = (sent - last["sent"]) / f.elapsed
        last["sent"] = sent
        conn = s.get("connected")
        return [[rate, s.get("buffered"), None if conn is None else ("up" if conn else "down")]]

    return Block("carbon", ("sent", "queue", "conn"), "d", 5, 1000, compute,
                 types=("d", "d", "s"), scales=(1000, 1000, 0))


# -- the terminal -----------------------------------------------------------------

def term_colors(out) -> bool:
    """dstat's gettermcolor: a terminal whose terminfo entry has colours."""
    if not _isatty(out) or os.environ.get("TERM", "dumb") == "dumb":
        return False
    try:
        import curses
    except ImportError:
        return False
    try:
        curses.setupterm(fd=out.fileno())
        return curses.tigetnum("colors") >= 0
    except (curses.error, OSError, ValueError, AttributeError):  # no terminfo entry for TERM, no fd
        return False


def _isatty(out) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _termsize(out) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(out.fileno())
        return size.lines, size.columns
    except (AttributeError, ValueError, OSError):
        return 25, 80


class Screen:
    """Headers, trimming to the terminal width, and the rows, as dstat's ``perform`` does them.

    The header goes out once at :meth:`start`; on a terminal it comes again
    every screenful (a header and ``lines - 2`` rows: dstat's ``--noupdate``
    rhythm, since rows here are whole lines) and whenever a resize changes
    which blocks fit, unless ``headers`` is off (``--noheaders``).
    """

    def __init__(self, blocks: list[Block], out, *, color: bool, headers: bool = True,
                 tty: Optional[bool] = None, termsize: Optional[Callable[[], tuple[int, int]]] = None,
                 style: Style = _STYLE, black_on_white: bool = False, err=None) -> None:
        self.blocks = blocks
        self.out = out
        self.err = err if err is not None else sys.stderr
        self.tty = _isatty(out) if tty is None else tty
        self.termsize = termsize or (lambda: _termsize(out))
        self.theme = Theme(color, black_on_white)
        self.style = style
        self.headers = headers
        self.rows = 0
        self.cols = 0
        self.visible = list(blocks)

    def _fit(self, cols: int) -> list[Block]:
        """dstat's vislist: the blocks that fit in ``cols`` columns."""
        vis, cur = [], 0
        for b in self.blocks:
            w = cur + b.statwidth() + 1
            if w <= cols or (vis == self.blocks[:-1] and w < cols):
                vis.append(b)
                cur = w
        return vis

    def header(self) -> str:
        t, vis = self.theme, self.visible
        titles = (t.frame + " ").join(b.title(t) for b in vis)
        subs = (t.frame + "|").join(b.subtitle(t) for b in vis)
        if vis != self.blocks:
            titles += t.title + ">"
            subs += t.title + ">"
        return titles + t.reset + "\n" + subs + t.reset + "\n"

    def start(self) -> str:
        """The first header."""
        if self.tty:
            self.cols = self.termsize()[1]
            self.visible = self._fit(self.cols)
            if self.visible != self.blocks:
                print("Terminal width too small, trimming output.", file=self.err)
        return self.header()

    def render(self, frame: Frame) -> str:
        """One row, after a header when one is due."""
        text = ""
        if self.tty:
            lines, cols = self.termsize()
            old = self.visible
            if cols != self.cols:
                self.visible = self._fit(cols)
                self.cols = cols
            if self.headers and lines >= 6 and (
                old != self.visible or (self.rows and self.rows % (lines - 2) == 0)
            ):
                text = self.header()
        t = self.theme
        vis = self.visible
        line = (t.frame + "|").join(b.show(b.compute(frame), t, self.style) for b in vis)
        if vis != self.blocks:
            line += t.frame + ">"
        self.rows += 1
        return text + line + t.reset + "\n"

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()


# -- carbon-client top ----------------------------------------------------------------

USAGE = "carbon-client top [-acdfglmnsy] [-D DISKS] [-N NICS] [options] [DELAY [COUNT]]"


def make_parser():
    import argparse

    p = argparse.ArgumentParser(
        prog="carbon-client top", usage=USAGE,
        description="dstat-style rows from carbon-client's collectors (what goes to Graphite).",
        epilog="DELAY is the delay in seconds between rows (default: 1); COUNT the number of "
               "rows before exiting (default: unlimited). The first row comes after DELAY "
               "seconds and covers that interval (dstat's first row is an average since boot).",
    )
    g = p.add_argument_group("groups (in the order given; default -cdngy)")
    for short, long, group, text in (
        ("-c", "--cpu", "cpu", "cpu usage (usr includes nice, irq and softirq)"),
        ("-d", "--disk", "disk", "disk bytes read and written"),
        ("-n", "--net", "net", "network bytes received and sent"),
        ("-g", "--page", "page", "paging (swap traffic)"),
        ("-y", "--sys", "sys", "interrupts and context switches"),
        ("-l", "--load", "load", "load averages"),
        ("-m", "--mem", "mem", "memory usage"),
        ("-s", "--swap", "swap", "swap usage"),
    ):
        g.add_argument(short, long, dest="groups", action="append_const", const=group, help=text)
    for long, group, text in (
        ("--nfs", "nfs", "NFS client calls (dstat's nfs3 columns, every version)"),
        ("--nfsd", "nfsd", "NFS server calls (dstat's nfsd3 columns, every version)"),
        ("--writeboost", "writeboost", "dm-writeboost hits, misses, dirty blocks per target"),
    ):
        g.add_argument(long, dest="groups", action="append_const", const=group, help=text)
    g.add_argument("-a", "--all", dest="groups", action="append_const", const="all",
                   help="equals -cdngy")
    g.add_argument("-D", metavar="total,sda", dest="disks",
                   help="disks to show; total = every disk but partitions and dm/md")
    g.add_argument("-N", metavar="total,eth0", dest="nics",
                   help="interfaces to show; total = all but lo, bonds and VLANs")
    g.add_argument("-f", "--full", action="store_true", help="expand -D and -N to every device")
    o = p.add_argument_group("output")
    o.add_argument("--nocolor", dest="color", action="store_false", default=None, help="no colours")
    o.add_argument("--color", dest="color", action="store_true", help="colours even when not a terminal")
    o.add_argument("--bw", "--black-on-white", dest="bw", action="store_true",
                   help="colours for a white background")
    o.add_argument("--noheaders", dest="headers", action="store_false", default=True,
                   help="do not repeat the header every screenful")
    o.add_argument("-o", "--output", metavar="FILE", help="also write CSV rows to FILE (appended)")
    o.add_argument("--bits", action="store_true", help="bits instead of bytes (disk and network)")
    o.add_argument("--float", action="store_true", help="force float values")
    o.add_argument("--integer", action="store_true", help="force integer values")
    s = p.add_argument_group("sources")
    s.add_argument("--config", metavar="FILE", help="carbon-client YAML config (proc_root, sys_root...)")
    s.add_argument("--proc-root", metavar="DIR", help="where /proc is (default /proc)")
    s.add_argument("--sys-root", metavar="DIR", help="where /sys is (default /sys)")
    p.add_argument("delay", metavar="DELAY", nargs="?", type=int, default=1)
    p.add_argument("count", metavar="COUNT", nargs="?", type=int, default=-1)
    return p


def _groups(requested: Optional[list[str]]) -> list[str]:
    out: list[str] = []
    for g in requested or ["all"]:
        for name in (DEFAULT_GROUPS if g == "all" else (g,)):
            if name not in out:
                out.append(name)
    return out


def _devices(spec: Optional[str]) -> Optional[list[str]]:
    if spec is None:
        return None
    names = [n.strip() for n in spec.split(",") if n.strip()]
    return [n[5:] if n.startswith("/dev/") else n for n in names] or None


class Top:
    """The state of one ``carbon-client top`` run."""

    def __init__(self, args, out, err, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, tty: Optional[bool] = None,
                 termsize=None, argv: Sequence[str] = ()) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.monotonic = monotonic
        self.sleep = sleep
        self.tty = _isatty(out) if tty is None else tty
        self.termsize = termsize
        self.argv = list(argv)

    def _config(self, names: list[str]):
        from carbon_client.config import build, load_file

        a = self.args
        file_values = load_file(a.config) if a.config else {}
        flags = {
            "proc_root": a.proc_root, "sys_root": a.sys_root, "interval": a.delay,
            "collectors": names or None, "disks": ["*"], "nics": ["*"], "counters": "both",
        }
        return build(file_values, flags)

    def _blocks(self, groups: list[str], agent, frame: Frame, raw: dict) -> list[Block]:
        unavailable = agent.unavailable()
        known = set(agent.enabled) | set(unavailable)
        blocks = []
        for g in groups:
            cname = COLLECTOR[g]
            flag = "--" + g
            if cname not in known:
                self.err.write(f"carbon-client top: {flag}: no {cname} collector in this carbon-client\n")
                continue
            if cname in unavailable:
                self.err.write(f"carbon-client top: {flag}: not available: {unavailable[cname]}\n")
                continue
            if cname not in frame.sampled:
                self.err.write(f"carbon-client top: {flag}: the {cname} collector failed to read\n")
                continue
            if g == "cpu":
                blocks.append(cpu_block())
            elif g == "disk":
                disks = self._disks(frame, raw, agent.collector(cname))
                blocks.append(disk_block(disks, [self._disk_instance(d, frame) for d in disks]))
            elif g == "net":
                blocks.append(net_block(self._nics(frame, raw)))
            elif g == "page":
                blocks.append(page_block())
            elif g == "sys":
                blocks.append(sys_block())
            elif g == "load":
                blocks.append(load_block())
            elif g == "mem":
                blocks.append(mem_block())
            elif g == "swap":
                (total,) = frame.get("swap", None, "total")
                blocks.append(swap_block(bool(total)))
            elif g in ("nfs", "nfsd"):
                blocks.append(nfs_block(cname))
            elif g == "writeboost":
                b = writeboost_block(frame)
                if b is None:
                    self.err.write(f"carbon-client top: {flag}: no writeboost target with "
                                   "hit, miss, dirty or lag metrics\n")
                else:
                    blocks.append(b)
        return blocks

    def _disks(self, frame: Frame, raw: dict, disk) -> list[str]:
        wanted = _devices(self.args.disks)
        if wanted is None:
            if not self.args.full:
                return ["total"]
            totals = raw.get("disk") or {}
            return sorted(i for i in frame.instances("disk")
                          if i != "total" and disk.in_aggregate(i) and any(totals.get(i) or ()))
        return wanted

    def _disk_instance(self, name: str, frame: Frame) -> str:
        """The disk group names dm devices by their dm name; dstat by the kernel's (dm-0)."""
        if name.startswith("dm-") and name not in frame.instances("disk"):
            return self._agent.source.read_sys(f"block/{name}/dm/name") or name
        return name

    def _nics(self, frame: Frame, raw: dict) -> list[str]:
        wanted = _devices(self.args.nics)
        if wanted is not None:
            return wanted
        if not self.args.full:
            return ["total"]
        totals = raw.get("net") or {}
        # dstat -f: every interface with packets, but lo
        return sorted(i for i in frame.instances("net")
                      if i not in ("total", "lo") and any((totals.get(i) or (0, 0, 0, 0))[2:4]))

    def run(self) -> int:
        from carbon_client.agent import Agent
        from carbon_client.collectors import REGISTRY

        a = self.args
        if a.delay < 1:
            self.err.write("carbon-client top: DELAY must be an integer greater than zero\n")
            return 2
        groups = _groups(a.groups)
        names = []
        for g in groups:
            cname = COLLECTOR[g]
            if cname in REGISTRY and cname not in names:
                names.append(cname)
        if not names:
            for g in groups:
                self.err.write(
                    f"carbon-client top: --{g}: no {COLLECTOR[g]} collector in this carbon-client\n")
            return 8
        agent = self._agent = Agent(self._config(names), monotonic=self.monotonic, health=False)
        try:
            return self._loop(agent, groups)
        finally:
            agent.source.close()

    def _loop(self, agent, groups: list[str]) -> int:
        a = self.args
        t0 = self.monotonic()
        first = agent.sample()
        frame = Frame(first)
        raw = {c.name: s.totals for c, _, s in first}
        blocks = self._blocks(groups, agent, frame, raw)
        if not blocks:
            self.err.write("carbon-client top: none of the stats you selected are available\n")
            return 8
        color = a.color if a.color is not None else term_colors(self.out)
        screen = Screen(blocks, self.out, color=color, headers=a.headers, tty=self.tty,
                        termsize=self.termsize, style=Style(a.bits, a.integer, a.float),
                        black_on_white=a.bw, err=self.err)
        csv = self._open_csv(blocks) if a.output else None
        try:
            screen.write(screen.start())
            n = 0
            while a.count < 0 or n < a.count:
                n += 1
                due = t0 + n * a.delay
                now = self.monotonic()
                if now - due > a.delay / 2:
                    # suspended or stalled: the next tick after now, in phase; no catch-up burst
                    t0 += -(-(now - due) // a.delay) * a.delay
                    due = t0 + n * a.delay
                if due > now:
                    self.sleep(due - now)
                frame = Frame(agent.sample())
                screen.write(screen.render(frame))
                if csv is not None:
                    csv.write(",".join(b.csvrow(b.compute(frame)) for b in blocks) + "\n")
                    csv.flush()
        finally:
            if csv is not None:
                csv.close()
        return 0

    def _open_csv(self, blocks: list[Block]):
        """dstat's CSV file: four preamble lines, the titles, the nicks; appended to when it exists."""
        import getpass

        from carbon_client import __version__

        path = self.args.output
        exists = os.path.exists(path)
        f = open(path, "a", encoding="utf-8")
        host = os.uname().nodename
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        if not exists:
            f.write(f'"carbon-client {__version__} CSV output"\n')
            f.write(",".join(('"Source:"', f'"{self._agent.source.proc_root}"', "", "", "",
                              '"Delay:"', f'"{self.args.delay}"')) + "\n")
        else:
            f.write("\n\n")
        f.write(",".join(('"Host:"', f'"{host}"', "", "", "", '"User:"', f'"{user}"')) + "\n")
        cmd = " ".join(["carbon-client top"] + self.argv).replace('"', "'")
        date = time.strftime("%d %b %Y %H:%M:%S %Z", time.localtime())
        f.write(",".join(('"Cmdline:"', f'"{cmd}"', "", "", "", '"Date:"', f'"{date}"')) + "\n")
        f.write(",".join(b.csvtitle() for b in blocks) + "\n")
        f.write(",".join(b.csvsubtitle() for b in blocks) + "\n")
        f.flush()
        return f


def main(argv: Sequence[str], out=None, err=None, **kw) -> int:
    """``carbon-client top ARGS``; returns the exit status."""
    import logging

    from carbon_client.config import ConfigError

    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    args = make_parser().parse_args(list(argv))
    # Unavailable groups are reported in the view, once; collector errors still show.
    logger = logging.getLogger("carbon_client")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return Top(args, out, err, argv=argv, **kw).run()
    except ConfigError as exc:
        err.write(f"carbon-client top: config error: {exc}\n")
        return 2
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            # `carbon-client top | head`: stop quietly
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, out.fileno())
            except (OSError, ValueError, AttributeError):
                pass
            return 0
        err.write(f"carbon-client top: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        logger.setLevel(level)


# -- the live view of `carbon-client run` ------------------------------------------------

class LiveView:
    """dstat-style rows while ``run`` streams, plus the sender's block; one row per cycle.

    The first cycle has no rates (one sample), so it prints only the header;
    rows follow from the second cycle on.
    """

    def __init__(self, agent, out, *, color: Optional[bool] = None, tty: Optional[bool] = None,
                 termsize=None) -> None:
        self.agent = agent
        self.out = out
        self.color = term_colors(out) if color is None else color
        self.tty = tty
        self.termsize = termsize
        self.screen: Optional[Screen] = None
        self.last_ts: Optional[int] = None

    def _blocks(self, frame: Frame) -> list[Block]:
        have = frame.sampled
        blocks = []
        if "cpu" in have:
            blocks.append(cpu_block())
        if "disk" in have:
            blocks.append(disk_block(["total"]))
        if "net" in have:
            blocks.append(net_block(["total"]))
        if "paging" in have:
            blocks.append(page_block())
        if "system" in have:
            blocks.append(sys_block())
        for g in ("nfs", "nfsd"):
            if g in have:
                blocks.append(nfs_block(g))
        if "writeboost" in have:
            b = writeboost_block(frame)
            if b is not None:
                blocks.append(b)
        blocks.append(sender_block())
        return blocks

    def show(self, result, stats: dict) -> None:
        elapsed = result.timestamp - self.last_ts if self.last_ts is not None else 0.0
        self.last_ts = result.timestamp
        frame = Frame(result.groups, stats, elapsed)
        try:
            if self.screen is None:
                self.screen = Screen(self._blocks(frame), self.out, color=self.color, tty=self.tty,
                                     termsize=self.termsize)
                for b in self.screen.blocks:
                    b.compute(frame)  # the sender's rate starts here
                self.screen.write(self.screen.start())
                return
            self.screen.write(self.screen.render(frame))
        except BrokenPipeError:
            self.out = self.screen.out = open(os.devnull, "w")
