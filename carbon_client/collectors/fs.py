"""Mounted filesystems: space and inodes (mounts from /proc, usage from psutil/statvfs)."""

from __future__ import annotations

import logging
import os
from typing import Optional

import psutil

from carbon_client.logonce import BadLines
from carbon_client.metrics import Collector, Raw, derived, gauge
from carbon_client.naming import mount_component
from carbon_client.parsers.mounts import parse_filesystems, parse_mounts

log = logging.getLogger("carbon_client.collectors")

# Block-backed types that are still not worth a series.
_SKIP_TYPES = frozenset(("squashfs", "iso9660", "udf"))


class Filesystems(Collector):
    name = "fs"
    group = "fs"
    blocking = True
    description = (
        "Space and inodes of real mounted filesystems: those whose type needs a block "
        "device in /proc/filesystems (tmpfs, overlay, proc, cgroup, nfs are left out). "
        "Each device is reported once, at its first mount point; `/` is `root` and "
        "`/var/lib` is `var_lib`. Sizes come from psutil.disk_usage (df's arithmetic: "
        "used_percent is used / (used + available)), inodes from statvfs."
    )
    instances = "the mount point: `/` is `root`, `/var/lib` is `var_lib`"
    source_path = "self/mounts"
    fields = ("size", "used", "free", "inodes_total", "inodes_used", "inodes_free")
    metrics = (
        gauge("size", "B", "filesystem size"),
        gauge("used", "B", "bytes used"),
        gauge("free", "B", "bytes available to unprivileged users"),
        derived("used_percent", "%", "used / (used + free) * 100, as df prints Use%",
                lambda used, free: used * 100.0 / (used + free) if used + free else 0.0),
        gauge("inodes_total", "", "inodes in the filesystem"),
        gauge("inodes_used", "", "inodes in use"),
        gauge("inodes_free", "", "inodes available to unprivileged users"),
    )

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self._errors = BadLines(log, "mounts", self)
        self._fstypes: Optional[dict[str, bool]] = None
        self._mounts: list = []

    def _real_mounts(self) -> list:
        """Mounts of block-backed types, re-read only when the mount table changed."""
        if not self.source.proc_changed("self/mounts"):
            return self._mounts
        mounts = parse_mounts(self.source.read_proc("self/mounts"), self._errors)
        self._errors.end()
        if self._fstypes is None or any(m.fstype not in self._fstypes for m in mounts):
            # A module loaded since (xfs on first mount) adds its type.
            self._fstypes = parse_filesystems(self.source.read_proc("filesystems"))
        fstypes = self._fstypes
        self._mounts = [
            m for m in mounts if fstypes.get(m.fstype, False) and m.fstype not in _SKIP_TYPES
        ]
        return self._mounts

    def read(self) -> Raw:
        out = {}
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
        return out
