"""/proc/self/mounts (fstab(5) fields, fs/proc_namespace.c show_vfsmnt) and /proc/filesystems."""

from __future__ import annotations

from typing import NamedTuple

from ._common import excerpt, OnError, ParseError, report, unmangle


class Mount(NamedTuple):
    """One mount: ``device mountpoint fstype options dump pass``."""

    device: str
    mountpoint: str
    fstype: str
    options: str


def parse_mounts(text: str, on_error: OnError = None) -> list[Mount]:
    out: list[Mount] = []
    # Fields are separated by one space, lines end at '\n': a path may hold
    # any other character (a no-break space, U+2028), raw.
    for line in text.split("\n"):
        if not line.strip():
            continue
        f = line.split(" ")
        if len(f) != 6 or not (f[4] + f[5]).isascii() or not (f[4] + f[5]).isdigit():
            report(on_error, ParseError(f"mounts: {excerpt(line)}: expected 6 fields, the last two numbers"))
            continue
        out.append(Mount(unmangle(f[0]), unmangle(f[1]), f[2], f[3]))
    return out


def parse_filesystems(text: str) -> dict[str, bool]:
    """Filesystem type -> True when it needs a block device (no ``nodev`` flag)."""
    out: dict[str, bool] = {}
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if len(f) == 1:
            out[f[0]] = True
        elif len(f) == 2 and f[0] == "nodev":
            out[f[1]] = False
        else:
            raise ParseError(f"filesystems: {excerpt(line)}: expected '[nodev] name'")
    return out
