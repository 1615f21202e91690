"""/proc/meminfo: `Key: value [kB]` (Documentation/filesystems/proc.rst "meminfo").

kB there means KiB: the kernel prints pages << (PAGE_SHIFT - 10). Lines with no
unit (HugePages_*) are counts.
"""

from __future__ import annotations

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers.meminfo import parse_meminfo
from tests.parsers.util import HUGE, proc, raises_naming

KiB = 1024

# The capture, line by line, with kB turned into bytes by hand.
FIXTURE = {
    "MemTotal": 15666184 * KiB,
    "MemFree": 440324 * KiB,
    "Buffers": 1020128 * KiB,
    "Cached": 12007640 * KiB,
    "SwapCached": 0,
    "Active": 6761276 * KiB,
    "Inactive": 6532708 * KiB,
    "Active(anon)": 267256 * KiB,
    "Inactive(anon)": 268 * KiB,
    "Active(file)": 6494020 * KiB,
    "Inactive(file)": 6532440 * KiB,
    "Unevictable": 0,
    "Mlocked": 0,
    "SwapTotal": 0,
    "SwapFree": 0,
    "Zswap": 22414 * KiB,
    "Zswapped": 10502 * KiB,
    "Dirty": 768 * KiB,
    "Writeback": 0,
    "AnonPages": 266216 * KiB,
    "Mapped": 44204 * KiB,
    "Shmem": 1308 * KiB,
    "Slab": 1807264 * KiB,
    "SReclaimable": 1738124 * KiB,
    "SUnreclaim": 69140 * KiB,
    "KernelStack": 1616 * KiB,
    "PageTables": 5288 * KiB,
    "NFS_Unstable": 0,
    "Bounce": 0,
    "WritebackTmp": 0,
    "CommitLimit": 7833092 * KiB,
    "Committed_AS": 530844 * KiB,
    "VmallocTotal": 34359738367 * KiB,
    "VmallocUsed": 36596 * KiB,
    "VmallocChunk": 34359637840 * KiB,
    "Percpu": 26176 * KiB,
    "HardwareCorrupted": 0,
    "AnonHugePages": 12288 * KiB,
    "HugePages_Total": 0,
    "HugePages_Free": 0,
    "HugePages_Rsvd": 0,
    "HugePages_Surp": 0,
    "Hugepagesize": 2048 * KiB,
    "DirectMap4k": 91136 * KiB,
    "DirectMap2M": 16039936 * KiB,
}


def test_fixture_whole_record():
    assert parse_meminfo(proc("meminfo")) == FIXTURE


def test_fixture_keys_in_file_order():
    assert list(parse_meminfo(proc("meminfo"))) == list(FIXTURE)


@pytest.mark.parametrize(
    "key, value",
    [
        ("MemTotal", 16042172416),  # 15666184 kB
        ("MemFree", 450891776),  # 440324 kB
        ("Hugepagesize", 2097152),  # 2048 kB: 2 MiB pages
        ("VmallocTotal", 35184372087808),  # 34359738367 kB: 32 TiB - 1 KiB
    ],
    ids=["MemTotal", "MemFree", "Hugepagesize", "VmallocTotal"],
)
def test_fixture_kb_to_bytes(key, value):
    assert parse_meminfo(proc("meminfo"))[key] == value


VALID = [
    ("kB to bytes", "MemTotal:       16 kB\n", {"MemTotal": 16 * KiB}),
    ("count without unit", "HugePages_Total:       7\n", {"HugePages_Total": 7}),
    ("no space after colon", "MemFree:5 kB", {"MemFree": 5 * KiB}),
    ("tab separated", "MemFree:\t5\tkB\n", {"MemFree": 5 * KiB}),
    ("parentheses in key", "Active(anon):     267256 kB\n", {"Active(anon)": 267256 * KiB}),
    ("blank lines ignored", "\nA: 1 kB\n\nB: 2\n\n", {"A": KiB, "B": 2}),
    (
        "keys of newer kernels",
        "FileHugePages:         0 kB\nHugetlb:               0 kB\n",
        {"FileHugePages": 0, "Hugetlb": 0},
    ),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_meminfo(text) == expected


@pytest.mark.parametrize("text", ["", "\n", "   \n\t\n"], ids=["empty", "newline", "blank lines"])
def test_empty(text):
    with pytest.raises(ParseError, match="empty"):
        parse_meminfo(text)


BAD_LINES = [
    ("no colon", "MemTotal 16 kB"),
    ("no value", "MemTotal:"),
    ("value not a number", "MemTotal: lots kB"),
    ("unknown unit", "MemTotal: 16 MB"),
    ("extra field", "MemTotal: 16 kB 3"),
    ("space in key", "Mem Total: 16 kB"),
    ("negative", "MemTotal: -16 kB"),
    ("float", "MemTotal: 1.5 kB"),
    ("garbage", "garbage"),
    ("non-ASCII digits", "MemTotal: \u0661\u0662\u0663 kB"),
    ("underscore", "MemTotal: 1_000 kB"),
    ("plus sign", "MemTotal: +5 kB"),
    ("beyond int()'s digit limit", f"MemTotal: {HUGE} kB"),
    ("count beyond int()'s digit limit", f"HugePages_Total: {HUGE}"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_bad_line_among_good_ones(line):
    with raises_naming(line):
        parse_meminfo(f"MemTotal: 16 kB\n{line}\nMemFree: 5 kB\n")


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_bad_line_alone(line):
    with raises_naming(line):
        parse_meminfo(line)


def test_bad_line_in_the_real_capture():
    lines = proc("meminfo").splitlines()
    lines[20] = lines[20].replace(" kB", " kB kB")
    with raises_naming(lines[20]):
        parse_meminfo("\n".join(lines))
