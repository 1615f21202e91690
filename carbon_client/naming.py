"""Graphite paths: the only place they are built and sanitized.

Default layout: ``[prefix.]host.group[.instance].key``. Every component keeps
``[A-Za-z0-9_-]``; any other character becomes ``_``, so ``flannel.1`` is
``flannel_1`` and a dot in a device name can never add a level. A component
is at most 200 characters (:data:`MAX_COMPONENT`), so Whisper can store it.
"""

from __future__ import annotations

import fnmatch
import re
import zlib
from typing import Mapping, Optional, Sequence

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

# carbon-cache keeps each level of a path as a directory or file name (".wsp" added to the last),
# and a level longer than the filesystem's 255 bytes is dropped there, silently for the sender:
# a long mount point, a systemd unit, an exec script's path. Longer components are cut.
MAX_COMPONENT = 200


def sanitize(component: str) -> str:
    """One path component: every character outside [A-Za-z0-9_-] becomes '_'; one longer than
    ``MAX_COMPONENT`` keeps its first characters and ends with ``_`` and the CRC-32 of the
    whole name (8 hex digits), so long names sharing a beginning stay apart."""
    c = _UNSAFE.sub("_", component) or "_"
    if len(c) > MAX_COMPONENT:
        c = f"{c[:MAX_COMPONENT - 9]}_{zlib.crc32(component.encode('utf-8', 'surrogateescape')):08x}"
    return c


def not_aggregate(name: str, aggregate: Optional[str]) -> str:
    """A device's instance name: its own, unless it is the aggregate's (a NIC or a dm device
    named ``total``), then ``<name>_device``, so the aggregate keeps its path."""
    return f"{name}_device" if name == aggregate else name


def components(names, reserved=()) -> dict:
    """The path component of each instance name of one group, one each, never equal.

    A name sanitizing to itself keeps it; a name changed by sanitizing keeps
    its sanitized form unless another name of the group (or a reserved one:
    the aggregate, ``total``) has that component: then, like a name of the
    aggregate's, it gets ``_`` and 6 hex digits of its CRC-32 (``eth.0`` beside
    ``eth_0`` is ``eth_0_3f1c2a``). Deterministic: the same names give the same
    components whatever their order. None (no instance) stays None.
    """
    out = {n: (sanitize(n) if n is not None else None) for n in names}
    taken = {n for n in names if n is not None and sanitize(n) == n and n not in reserved} | set(reserved)
    counts: dict = {}
    for n, c in out.items():
        if c is not None:
            counts[c] = counts.get(c, 0) + 1
    for n, c in out.items():
        if c is None or (c == n and n not in reserved):
            continue
        if c in taken or counts[c] > 1 or n in reserved:
            out[n] = f"{c}_{zlib.crc32(n.encode('utf-8', 'surrogateescape')):08x}"[: len(c) + 7]
    return out


def sanitize_dotted(path: str) -> str:
    """A dotted prefix: each level sanitized, empty levels dropped."""
    return ".".join(sanitize(p) for p in path.split(".") if p)


def mount_component(mountpoint: str) -> str:
    """``/`` -> ``root``, ``/var/lib`` -> ``var_lib``."""
    stripped = mountpoint.strip("/")
    return sanitize(stripped.replace("/", "_")) if stripped else "root"


class Layout:
    """Maps (group, instance, key) to a path and a scale for the value, or None (not sent)."""

    name = "abstract"
    # Keyword options of the constructor that make_layout passes on.
    options: tuple[str, ...] = ()
    # Whether the layout sends some cumulative counters (``<key>_total``)
    # whatever the counters mode.
    needs_totals = False

    def __init__(self, host: str, prefix: str = "", postfix: str = "", host_levels: bool = False) -> None:
        self.host = sanitize_dotted(host) if host_levels else sanitize(host)
        self.prefix = sanitize_dotted(prefix) if prefix else ""
        self.postfix = sanitize_dotted(postfix) if postfix else ""
        self.base = ".".join(p for p in (self.prefix, self.host, self.postfix) if p)

    def path(self, group: str, instance: Optional[str], key: str) -> Optional[tuple[str, float]]:
        raise NotImplementedError


def below_host(group: str, instance: Optional[str], key: str) -> str:
    """``group[.instance].key``, sanitized: a metric's path without the prefix and host.

    The instance is one level (a dot in a device name becomes ``_``); a key may
    have several (an exec collector's paths), each sanitized.
    """
    if instance is None:
        return f"{sanitize(group)}.{sanitize_dotted(key)}"
    return f"{sanitize(group)}.{sanitize(instance)}.{sanitize_dotted(key)}"


def _matcher(globs: Sequence[str]):
    """One compiled test for a glob list (case-sensitive, ``*`` also matches dots)."""
    rx = re.compile("|".join(fnmatch.translate(g) for g in globs)) if globs else None
    return rx.match if rx is not None else None


class Filters:
    """``include`` / ``exclude`` globs on the path below the host (``net.veth*``),
    for every group and per group (``per[group]`` has ``include``, ``exclude``).

    A path is sent when an include list, if any, matches it and no exclude
    list does: the global lists and the collector's own both apply.
    """

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = (),
                 per: Optional[Mapping] = None) -> None:
        self.include, self.exclude = _matcher(include), _matcher(exclude)
        self.per = {name: (_matcher(f.include), _matcher(f.exclude)) for name, f in (per or {}).items()}

    def allows(self, group: str, path: str) -> bool:
        for inc, exc in ((self.include, self.exclude), self.per.get(group, (None, None))):
            if (inc is not None and not inc(path)) or (exc is not None and exc(path)):
                return False
        return True


class DefaultLayout(Layout):
    name = "default"

    def path(self, group: str, instance: Optional[str], key: str) -> Optional[tuple[str, float]]:
        return f"{self.base}.{below_host(group, instance, key)}", 1.0


_TAG_UNSAFE = re.compile(r"[^!-~]|[;=]")


def tag_value(value: str) -> str:
    """A Graphite 1.1 tag value: printable ASCII but ``;`` (and ``=``, and a space); not
    starting with ``~`` (graphite.readthedocs.io, Tags: "Carbon" and "Tag names and values")."""
    v = _TAG_UNSAFE.sub("_", value) or "_"
    return "_" + v[1:] if v[0] == "~" else v


class TagsLayout(Layout):
    """Graphite 1.1 tagged series: ``[prefix.]group.key[.postfix];host=<host>[;instance=<i>]``.

    The name keeps the default layout's group and key levels; the host and the
    instance are tags (their values sanitized by Graphite's tag rules), so
    ``seriesByTag('name=net.rx_bytes', 'host=web01')`` finds them.
    """

    name = "tags"

    def __init__(self, host: str, prefix: str = "", postfix: str = "", host_levels: bool = False) -> None:
        super().__init__(host, prefix, postfix, host_levels)
        self._host_tag = f";host={tag_value(host)}"
        self._head = f"{self.prefix}." if self.prefix else ""
        self._tail = f".{self.postfix}" if self.postfix else ""

    def path(self, group: str, instance: Optional[str], key: str) -> Optional[tuple[str, float]]:
        name = f"{self._head}{sanitize(group)}.{sanitize_dotted(key)}{self._tail}{self._host_tag}"
        if instance is not None:
            name += f";instance={tag_value(instance)}"
        return name, 1.0


class LegacyLayout(Layout):
    """The original carbon-client script's paths and units, and nothing else.

    - ``host.sysdata.load``: the 1-minute load average.
    - ``host.sysdata.memTotal|memFree|memAvail|memCached``: kB, as /proc/meminfo
      prints them (MemTotal, MemFree, MemAvailable, Cached).
    - ``host.dstat.disks.<disk>.read|write``: bytes per second.
    - ``host.dstat.nets.<nic>.recv|send``: bytes per second.
    - ``host.writeboost.<key>``: wbstatus's numbers under the script's keys,
      for the one device ``writeboost`` names (the script's
      WRITEBOOST_CACHE_DEVICE); ``host.writeboost.<dm-name>.<key>`` for each
      device when several are named or they are discovered.
      ``nr_partial_flushes`` is the cumulative count, as wbstatus printed it.

    The ``total`` instances of disk and net keep their name (``disks.total``,
    as dstat's ``-D total``); they are sent when ``disks``/``nics`` is not
    configured or names ``total``, as the script sent them when DISKS/NETS
    listed it. Every other group (the agent's health too) sends nothing.
    """

    name = "legacy"
    options = ("disks", "nics", "writeboost")
    needs_totals = True  # nr_partial_flushes is sent cumulative

    _HOST_WIDE = {
        ("load", "1m"): ("sysdata.load", 1.0),
        ("memory", "total"): ("sysdata.memTotal", 1.0 / 1024),
        ("memory", "free"): ("sysdata.memFree", 1.0 / 1024),
        ("memory", "available"): ("sysdata.memAvail", 1.0 / 1024),
        ("memory", "cached"): ("sysdata.memCached", 1.0 / 1024),
    }
    _PER_DEVICE = {
        ("disk", "read_bytes"): ("dstat.disks", "read"),
        ("disk", "write_bytes"): ("dstat.disks", "write"),
        ("net", "rx_bytes"): ("dstat.nets", "recv"),
        ("net", "tx_bytes"): ("dstat.nets", "send"),
    }
    # wbstatus's "key = value" lines with "# of" -> "nr" and spaces -> "_".
    WRITEBOOST_KEYS = frozenset((
        "cursor_pos", "nr_cache_blocks", "nr_segments", "current_id", "last_flushed_id",
        "last_writeback_id", "nr_dirty_cache_blocks", "nr_partial_flushes",
    ))

    def __init__(
        self,
        host: str,
        prefix: str = "",
        postfix: str = "",
        host_levels: bool = False,
        disks: Optional[Sequence[str]] = None,
        nics: Optional[Sequence[str]] = None,
        writeboost: Optional[Sequence[str]] = None,
    ) -> None:
        super().__init__(host, prefix, postfix, host_levels)
        self._wb_single = writeboost[0] if writeboost and len(writeboost) == 1 else None
        self._send_total = {
            "disk": disks is None or "total" in disks,
            "net": nics is None or "total" in nics,
        }

    def path(self, group: str, instance: Optional[str], key: str) -> Optional[tuple[str, float]]:
        if group == "writeboost" and instance is not None:
            return self._writeboost(instance, key)
        if instance is None:
            hit = self._HOST_WIDE.get((group, key))
            return (f"{self.base}.{hit[0]}", hit[1]) if hit is not None else None
        hit = self._PER_DEVICE.get((group, key))
        if hit is not None:
            if instance == "total" and not self._send_total[group]:
                return None
            return f"{self.base}.{hit[0]}.{sanitize(instance)}.{hit[1]}", 1.0
        return None

    def _writeboost(self, instance: str, key: str) -> Optional[tuple[str, float]]:
        if key == "nr_partial_flushes":
            return None  # the rate; the script sent the count (below)
        if key == "nr_partial_flushes_total":
            key = "nr_partial_flushes"
        elif key not in self.WRITEBOOST_KEYS:
            return None
        if instance == self._wb_single:
            return f"{self.base}.writeboost.{key}", 1.0
        return f"{self.base}.writeboost.{sanitize(instance)}.{key}", 1.0


LAYOUTS: dict[str, type[Layout]] = {"default": DefaultLayout, "legacy": LegacyLayout, "tags": TagsLayout}


def make_layout(name: str, host: str, prefix: str = "", postfix: str = "", host_levels: bool = False,
                **options) -> Layout:
    """The layout ``name``; options it does not take (``Layout.options``) are ignored."""
    cls = LAYOUTS[name]
    return cls(host, prefix, postfix, host_levels, **{k: v for k, v in options.items() if k in cls.options})
