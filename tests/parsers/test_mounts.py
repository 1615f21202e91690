"""/proc/self/mounts (fs/proc_namespace.c show_vfsmnt) and /proc/filesystems
(fs/filesystems.c filesystems_proc_show).

mounts: `device mountpoint fstype options 0 0`, one space between fields; the
kernel writes space, tab, newline and backslash in device and mount point as
octal escapes (\\040 \\011 \\012 \\134), anything else raw.
filesystems: `"nodev" or "", a tab, the name`: nodev types need no block device.
"""

from __future__ import annotations

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers._common import excerpt
from carbon_client.parsers.mounts import Mount, parse_filesystems, parse_mounts
from tests.parsers.util import raises_naming

MOUNTS = (
    "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "/dev/mapper/vg0-root / ext4 rw,relatime,errors=remount-ro 0 0\n"
    "/dev/sdb1 /media/USB\\040Stick vfat rw,nosuid,nodev,relatime,fmask=0022 0 0\n"
    "/dev/sdc1 /srv/tab\\011nl\\012back\\134slash xfs rw,noatime 0 0\n"
    "//nas/My\\040Share /mnt/nas cifs rw,relatime,vers=3.1.1 0 0\n"
    "overlay /var/lib/docker/overlay2/abc/merged overlay rw,lowerdir=/l1:/l2 0 0\n"
)

MOUNTS_RECORD = [
    Mount("sysfs", "/sys", "sysfs", "rw,nosuid,nodev,noexec,relatime"),
    Mount("proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime"),
    Mount("/dev/mapper/vg0-root", "/", "ext4", "rw,relatime,errors=remount-ro"),
    Mount("/dev/sdb1", "/media/USB Stick", "vfat", "rw,nosuid,nodev,relatime,fmask=0022"),
    Mount("/dev/sdc1", "/srv/tab\tnl\nback\\slash", "xfs", "rw,noatime"),
    Mount("//nas/My Share", "/mnt/nas", "cifs", "rw,relatime,vers=3.1.1"),
    Mount("overlay", "/var/lib/docker/overlay2/abc/merged", "overlay", "rw,lowerdir=/l1:/l2"),
]


def test_mount_table():
    assert parse_mounts(MOUNTS) == MOUNTS_RECORD


VALID = [
    ("empty", "", []),
    ("no final newline", "proc /proc proc rw 0 0", [Mount("proc", "/proc", "proc", "rw")]),
    ("\\040 is a space", "/dev/sda1 /a\\040b ext4 rw 0 0", [Mount("/dev/sda1", "/a b", "ext4", "rw")]),
    (
        "escaped backslash before digits stays a backslash",
        "/dev/sda1 /a\\134040 ext4 rw 0 0",
        [Mount("/dev/sda1", "/a\\040", "ext4", "rw")],
    ),
    (
        "a backslash not followed by 3 octal digits is kept",
        "/dev/sda1 /a\\9b\\04 ext4 rw 0 0",
        [Mount("/dev/sda1", "/a\\9b\\04", "ext4", "rw")],
    ),
    (
        "no-break space in a path is not a separator",
        "/dev/sda1 /media/My\u00a0Disk ext4 rw 0 0",
        [Mount("/dev/sda1", "/media/My\u00a0Disk", "ext4", "rw")],
    ),
    (
        "U+2028 in a path is not a line break",
        "/dev/sda1 /a\u2028b ext4 rw 0 0\nproc /proc proc rw 0 0",
        [Mount("/dev/sda1", "/a\u2028b", "ext4", "rw"), Mount("proc", "/proc", "proc", "rw")],
    ),
    (
        "non-ASCII path",
        "/dev/sda1 /donn\u00e9es ext4 rw 0 0",
        [Mount("/dev/sda1", "/donn\u00e9es", "ext4", "rw")],
    ),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_mounts(text) == expected


BAD_LINES = [
    ("5 fields", "proc /proc proc rw 0"),
    ("7 fields: an unescaped space", "/dev/sda1 /a b ext4 rw 0 0"),
    ("two spaces between fields", "proc  /proc proc rw 0 0"),
    ("tab separated", "proc\t/proc\tproc\trw\t0\t0"),
    ("dump not a number", "proc /proc proc rw x 0"),
    ("pass not a number", "proc /proc proc rw 0 y"),
    ("dump with non-ASCII digit", "proc /proc proc rw \u0660 0"),
    ("garbage", "garbage"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_bad_line_raises_naming_it(line):
    with raises_naming(line):
        parse_mounts(f"sysfs /sys sysfs rw 0 0\n{line}\nproc /proc proc rw 0 0\n")


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_on_error_skips_only_the_bad_line(line):
    errors: list[ParseError] = []
    mounts = parse_mounts(f"sysfs /sys sysfs rw 0 0\n{line}\nproc /proc proc rw 0 0\n", errors.append)
    assert mounts == [Mount("sysfs", "/sys", "sysfs", "rw"), Mount("proc", "/proc", "proc", "rw")]
    assert len(errors) == 1
    assert isinstance(errors[0], ParseError) and excerpt(line) in str(errors[0])


FILESYSTEMS = (
    "nodev\tsysfs\n"
    "nodev\ttmpfs\n"
    "nodev\tproc\n"
    "\text3\n"
    "\text4\n"
    "nodev\tnfs4\n"
    "\txfs\n"
    "\tfuseblk\n"
    "nodev\tfuse\n"
    "nodev\toverlay\n"
)


def test_filesystems():
    assert parse_filesystems(FILESYSTEMS) == {
        "sysfs": False, "tmpfs": False, "proc": False, "ext3": True, "ext4": True,
        "nfs4": False, "xfs": True, "fuseblk": True, "fuse": False, "overlay": False,
    }


@pytest.mark.parametrize(
    "text, expected",
    [("", {}), ("\text4", {"ext4": True}), ("nodev\tsysfs", {"sysfs": False})],
    ids=["empty", "block device type, no final newline", "nodev type, no final newline"],
)
def test_filesystems_valid(text, expected):
    assert parse_filesystems(text) == expected


@pytest.mark.parametrize(
    "line",
    ["nodev\tsysfs\textra", "block\text4", "a b c"],
    ids=["three fields", "flag other than nodev", "garbage"],
)
def test_filesystems_bad_line(line):
    with raises_naming(line):
        parse_filesystems(f"nodev\tsysfs\n{line}\n\text4\n")
