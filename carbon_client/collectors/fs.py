"""Mounted filesystems: space and inodes (mounts from /proc, usage from psutil/statvfs).

NFS mounts are reported too, with ``responsive``: statvfs on a mount whose
server does not answer blocks (for ever on a hard mount), so for NFS it runs
in a daemon thread, waited for until ``nfs_statvfs_timeout``. A mount whose
call has not returned is reported unresponsive, without sizes, and not asked
again until that call returns: a dead server costs one thread per mount point
and one wait, not a wait every cycle.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from typing import Callable, Optional, Sequence, Union

import psutil

from carbon_client.collectors.devices import Selector
from carbon_client.logonce import BadLines
from carbon_client.metrics import Collector, Raw, Schema, derived, gauge
from carbon_client.naming import mount_component
from carbon_client.parsers.mounts import parse_filesystems, parse_mounts

log = logging.getLogger("carbon_client.collectors")

# Block-backed types that are still not worth a series.
_SKIP_TYPES = frozenset(("squashfs", "iso9660", "udf"))
NETWORK_TYPES = frozenset(("nfs", "nfs4"))
# statvfs errors that mean the mount is gone (unmounted since /proc listed it) or not ours
# to see, as for a local filesystem: no line. Any other error (EIO, ESTALE...) is unresponsive.
_NOT_THERE = frozenset((errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.EPERM))
# Calls still hanging from earlier reads beyond which no new mount is asked.
MAX_HUNG = 64

Answer = Union[os.statvfs_result, OSError, None]


class _Call:
    """One statvfs in a daemon thread: ``done`` is set when it returned (``result``:
    the statvfs or the OSError)."""

    __slots__ = ("done", "result")

    def __init__(self, fn: Callable, path: str) -> None:
        self.done = threading.Event()
        self.result: Answer = None
        threading.Thread(target=self._run, args=(fn, path), name=f"statvfs {path}", daemon=True).start()

    def _run(self, fn: Callable, path: str) -> None:
        try:
            self.result = fn(path)
        except OSError as exc:
            self.result = exc
        finally:
            self.done.set()


class Statvfs:
    """statvfs of network mounts, each in its own daemon thread, all waited for until one deadline.

    ``pending`` holds the calls that have not returned, by mount point: such a
    mount is not asked again until its call returns, so threads never pile up
    behind a dead server.
    """

    def __init__(self, call: Callable[[str], os.statvfs_result] = os.statvfs) -> None:
        self.call = call
        self.pending: dict[str, _Call] = {}

    def ask(self, paths: Sequence[str], timeout: float) -> dict[str, Answer]:
        """Each path's statvfs or OSError, or None when it did not answer in time."""
        deadline = time.monotonic() + timeout
        for p in [p for p, c in self.pending.items() if c.done.is_set()]:
            del self.pending[p]
        hung = len(self.pending)
        calls: dict[str, Optional[_Call]] = {}
        for p in paths:
            if p in self.pending or hung >= MAX_HUNG:
                calls[p] = None
            else:
                calls[p] = self.pending[p] = _Call(self.call, p)
        for c in calls.values():
            if c is not None:
                c.done.wait(max(0.0, deadline - time.monotonic()))
        out: dict[str, Answer] = {}
        for p, c in calls.items():
            if c is not None and c.done.is_set():
                del self.pending[p]
                out[p] = c.result
            else:
                out[p] = None
        return out


_FIELDS = ("size", "used", "free", "inodes_total", "inodes_used", "inodes_free")
_METRICS = (
    gauge("size", "B", "filesystem size"),
    gauge("used", "B", "bytes used"),
    gauge("free", "B", "bytes available to unprivileged users"),
    derived("used_percent", "%", "used / (used + free) * 100, as df prints Use%",
            lambda used, free: used * 100.0 / (used + free) if used + free else 0.0),
    gauge("inodes_total", "", "inodes in the filesystem"),
    gauge("inodes_used", "", "inodes in use"),
    gauge("inodes_free", "", "inodes available to unprivileged users"),
)
# NFS mounts: the same, and whether statvfs answered.
NETWORK_SCHEMA = Schema(_FIELDS + ("responsive",), frozenset(), _METRICS + (
    gauge("responsive", "", "NFS mounts only: 1 when statvfs answered within nfs_statvfs_timeout, else 0 "
                            "(and no sizes)"),
))


class Filesystems(Collector):
    name = "fs"
    group = "fs"
    blocking = True
    description = (
        "Space and inodes of real mounted filesystems: those whose type needs a block "
        "device in /proc/filesystems (tmpfs, overlay, proc, cgroup are left out), and NFS "
        "mounts (nfs, nfs4; `nfs_mounts` chooses them). Each block device is reported once, "
        "at its first mount point; each NFS mount point once. `/` is `root` and `/var/lib` is "
        "`var_lib`. `fs_types` (types, globs) replaces the block-backed rule, `fs_types_exclude` "
        "leaves types out, `fs_mounts` and `fs_mounts_exclude` choose mount points (or names) by "
        "glob. Sizes come from psutil.disk_usage (df's arithmetic: used_percent is "
        "used / (used + available)), inodes from statvfs. NFS mounts also send `responsive`: "
        "1 when statvfs answered within `nfs_statvfs_timeout`, 0 (and no sizes) when it did "
        "not or failed (EIO, ESTALE...); a mount that has not answered is not asked again until "
        "its call returns."
    )
    instances = "the mount point: `/` is `root`, `/var/lib` is `var_lib`"
    source_path = "self/mounts"
    fields = _FIELDS
    metrics = _METRICS

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self._errors = BadLines(log, "mounts", self)
        self._fstypes: Optional[dict[str, bool]] = None
        self._mounts: list = []
        self._network_mounts: list = []
        self.select = Selector(getattr(options, "nfs_mounts", None))
        self.types = Selector(getattr(options, "fs_types", None))
        self.types_exclude = Selector(getattr(options, "fs_types_exclude", None))
        self.mounts = Selector(getattr(options, "fs_mounts", None))
        self.mounts_exclude = Selector(getattr(options, "fs_mounts_exclude", None))
        self.timeout: float = getattr(options, "nfs_statvfs_timeout", 2.0)
        self.statvfs = Statvfs()
        self._network: frozenset = frozenset()

    @classmethod
    def reference(cls) -> dict[Optional[str], Schema]:
        """For the docs: every key, ``responsive`` included."""
        return {"<mount>": NETWORK_SCHEMA}

    def schema(self, instance: Optional[str]) -> Schema:
        return NETWORK_SCHEMA if instance in self._network else self.default_schema()

    def _real_mounts(self) -> list:
        """Mounts of block-backed types, re-read only when the mount table changed;
        the NFS mounts in ``_network_mounts``."""
        if not self.source.proc_changed("self/mounts"):
            return self._mounts
        mounts = parse_mounts(self.source.read_proc("self/mounts"), self._errors)
        self._errors.end()
        if self._fstypes is None or any(m.fstype not in self._fstypes for m in mounts):
            # A module loaded since (xfs on first mount) adds its type.
            self._fstypes = parse_filesystems(self.source.read_proc("filesystems"))
        chosen = [m for m in mounts if self._typed(m.fstype) and self._placed(m.mountpoint)]
        self._mounts = [m for m in chosen if m.fstype not in NETWORK_TYPES]
        select = self.select
        self._network_mounts = [
            m for m in chosen if m.fstype in NETWORK_TYPES
            and (select.globs is None or select.explicit(m.mountpoint, mount_component(m.mountpoint)))
        ]
        return self._mounts

    def _typed(self, fstype: str) -> bool:
        """A type ``fs_types`` names (by default: block-backed, or NFS), not in ``fs_types_exclude``."""
        if self.types_exclude.globs is not None and self.types_exclude.explicit(fstype):
            return False
        if self.types.globs is not None:
            return self.types.explicit(fstype)
        return fstype in NETWORK_TYPES or (self._fstypes.get(fstype, False) and fstype not in _SKIP_TYPES)

    def _placed(self, mountpoint: str) -> bool:
        """A mount point (or its instance name) ``fs_mounts`` names, not in ``fs_mounts_exclude``."""
        name = mount_component(mountpoint)
        if self.mounts.globs is not None and not self.mounts.explicit(mountpoint, name):
            return False
        return self.mounts_exclude.globs is None or not self.mounts_exclude.explicit(mountpoint, name)

    def read(self) -> Raw:
        out: dict[Optional[str], tuple] = {}
        seen_dev: set[int] = set()
        for m in self._real_mounts():
            try:
                st = os.statvfs(m.mountpoint)
                usage = psutil.disk_usage(m.mountpoint)
                dev = os.stat(m.mountpoint).st_dev
            except OSError:
                continue  # unmounted since /proc listed it, or not ours to see
            if dev in seen_dev:
                continue
            seen_dev.add(dev)
            name = mount_component(m.mountpoint)
            if name in out:
                continue
            out[name] = (
                usage.total, usage.used, usage.free,
                st.f_files, st.f_files - st.f_ffree, st.f_favail,
            )
        self._network = frozenset(self._read_network(out))
        return out

    def _read_network(self, out: dict) -> list[str]:
        """Add the NFS mounts to ``out``; their instance names."""
        paths: dict[str, str] = {}
        for m in self._network_mounts:
            name = mount_component(m.mountpoint)
            if name not in out and name not in paths:
                paths[name] = m.mountpoint
        if not paths:
            return []
        answers = self.statvfs.ask(list(paths.values()), self.timeout)
        names = []
        for name, path in paths.items():
            st = answers[path]
            if isinstance(st, OSError):
                if st.errno in _NOT_THERE:
                    continue
                st = None
            if st is None:
                out[name] = (None, None, None, None, None, None, 0)
            else:
                # psutil.disk_usage's arithmetic, from the one statvfs the thread made
                out[name] = (
                    st.f_blocks * st.f_frsize, (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_bavail * st.f_frsize,
                    st.f_files, st.f_files - st.f_ffree, st.f_favail, 1,
                )
            names.append(name)
        return names
