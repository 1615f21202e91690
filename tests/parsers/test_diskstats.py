"""/proc/diskstats: field order from Documentation/admin-guide/iostats.rst.

`major minor name` then: 1 reads completed, 2 reads merged, 3 sectors read,
4 ms reading, 5 writes completed, 6 writes merged, 7 sectors written,
8 ms writing, 9 I/Os in progress, 10 ms doing I/O, 11 weighted ms doing I/O;
4.18+ adds 12 discards completed, 13 discards merged, 14 sectors discarded,
15 ms discarding; 5.5+ adds 16 flushes completed, 17 ms flushing.
"""

from __future__ import annotations

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers._common import excerpt
from carbon_client.parsers.diskstats import DiskStats, parse_diskstats
from tests.parsers.util import HUGE, proc, raises_naming

# Whole records of the capture, read off its lines with the field order above.
FIXTURE_RECORDS = [
    # "   8       0 sda 25354637 34367663 1003346126 18492372 28444756 11134226
    #  505697032 63877960 0 9653880 82621804": a < 4.18 line, 3 + 11 fields
    DiskStats(
        major=8, minor=0, name="sda",
        reads=25354637, reads_merged=34367663, sectors_read=1003346126, read_ms=18492372,
        writes=28444756, writes_merged=11134226, sectors_written=505697032, write_ms=63877960,
        in_progress=0, io_ms=9653880, weighted_io_ms=82621804,
        discards=0, discards_merged=0, sectors_discarded=0, discard_ms=0,
        flushes=0, flush_ms=0, fields=14,
    ),
    # "   8       1 sda1 250 0 2000 36 0 0 0 0 0 36 36": a partition, 14 fields
    DiskStats(
        major=8, minor=1, name="sda1",
        reads=250, reads_merged=0, sectors_read=2000, read_ms=36,
        writes=0, writes_merged=0, sectors_written=0, write_ms=0,
        in_progress=0, io_ms=36, weighted_io_ms=36, fields=14,
    ),
    # " 252       0 dm-0 59910002 0 1003337218 46229572 39231014 0 505696880
    #  1158557800 0 11325968 1206301256"
    DiskStats(
        major=252, minor=0, name="dm-0",
        reads=59910002, reads_merged=0, sectors_read=1003337218, read_ms=46229572,
        writes=39231014, writes_merged=0, sectors_written=505696880, write_ms=1158557800,
        in_progress=0, io_ms=11325968, weighted_io_ms=1206301256, fields=14,
    ),
    # "   8       0 sdb 326552 841 9657779 84 41822 2895 1972905 5007 0 60730 67070
    #  68851 0 1925173784 11130": 4.18+, 3 + 15 fields (discards)
    DiskStats(
        major=8, minor=0, name="sdb",
        reads=326552, reads_merged=841, sectors_read=9657779, read_ms=84,
        writes=41822, writes_merged=2895, sectors_written=1972905, write_ms=5007,
        in_progress=0, io_ms=60730, weighted_io_ms=67070,
        discards=68851, discards_merged=0, sectors_discarded=1925173784, discard_ms=11130,
        flushes=0, flush_ms=0, fields=18,
    ),
    # "   8       0 sdc 14202 71 579164 21861 2995 1589 180500 40875 0 11628 55200
    #  0 0 0 0 127 182": 5.5+, 3 + 17 fields (discards and flushes)
    DiskStats(
        major=8, minor=0, name="sdc",
        reads=14202, reads_merged=71, sectors_read=579164, read_ms=21861,
        writes=2995, writes_merged=1589, sectors_written=180500, write_ms=40875,
        in_progress=0, io_ms=11628, weighted_io_ms=55200,
        discards=0, discards_merged=0, sectors_discarded=0, discard_ms=0,
        flushes=127, flush_ms=182, fields=20,
    ),
    # "   8       1 sdc1 1027 0 13795 5021 2 0 4096 3 0 690 4579 0 0 0 0 0 0":
    # flushes are not tracked for partitions
    DiskStats(
        major=8, minor=1, name="sdc1",
        reads=1027, reads_merged=0, sectors_read=13795, read_ms=5021,
        writes=2, writes_merged=0, sectors_written=4096, write_ms=3,
        in_progress=0, io_ms=690, weighted_io_ms=4579, fields=20,
    ),
]

FIXTURE_NAMES = (
    [f"ram{i}" for i in range(16)]
    + [f"loop{i}" for i in range(8)]
    + ["sda", "sda1", "sda2", "sda3", "sda4"]
    + [f"dm-{i}" for i in range(6)]
    + ["mmcblk0", "mmcblk0p1", "mmcblk0p2", "fd0", "vda", "vda1", "vda2", "sr0"]
    + ["nvme0n1", "nvme0n1p1", "nvme0n1p2", "sdb", "sdb1", "sdb2", "sdc", "sdc1", "sdc2"]
)


@pytest.fixture(scope="module")
def fixture_disks() -> list[DiskStats]:
    return parse_diskstats(proc("diskstats"))


def test_fixture_lists_every_device_in_file_order(fixture_disks):
    assert [d.name for d in fixture_disks] == FIXTURE_NAMES


def test_fixture_field_counts_mixed_in_one_file(fixture_disks):
    counts = {d.name: d.fields for d in fixture_disks}
    assert {n for n, c in counts.items() if c == 18} == {"sdb", "sdb1", "sdb2"}
    assert {n for n, c in counts.items() if c == 20} == {"sdc", "sdc1", "sdc2"}
    assert sum(c == 14 for c in counts.values()) == 52 - 6


@pytest.mark.parametrize("expected", FIXTURE_RECORDS, ids=[r.name for r in FIXTURE_RECORDS])
def test_fixture_records(fixture_disks, expected):
    assert {d.name: d for d in fixture_disks}[expected.name] == expected


def _rec(name: str, stats: list[int], fields: int, major: int = 8, minor: int = 0) -> DiskStats:
    return DiskStats(major, minor, name, *stats, *[0] * (17 - len(stats)), fields)


VALID = [
    ("empty file: no block devices", "", []),
    ("blank lines only", "\n\n  \n", []),
    (
        "kernel padding, 14 fields",
        "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n",
        [_rec("sda", list(range(1, 12)), 14)],
    ),
    (
        "18 fields",
        "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n",
        [_rec("sda", list(range(1, 16)), 18)],
    ),
    (
        "20 fields",
        "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
        [_rec("sda", list(range(1, 18)), 20)],
    ),
    (
        "14, 18 and 20 mixed, no final newline",
        "8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n"
        "8 16 sdb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"
        "\n"
        "259 0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
        [
            _rec("sda", list(range(1, 12)), 14),
            _rec("sdb", list(range(1, 16)), 18, minor=16),
            _rec("nvme0n1", list(range(1, 18)), 20, major=259),
        ],
    ),
    (
        "counters beyond 64 bits are kept exact",
        f"8 0 sda {2**64} 0 0 0 0 0 0 0 0 0 0\n",
        [_rec("sda", [2**64] + [0] * 10, 14)],
    ),
    (
        "cciss name with '!' for '/'",
        "104 1 cciss!c0d0p1 1 0 0 0 0 0 0 0 0 0 0\n",
        [_rec("cciss!c0d0p1", [1] + [0] * 10, 14, major=104, minor=1)],
    ),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_diskstats(text) == expected


BAD_LINES = [
    # Pre-2.6.25 partitions printed 4 stat fields (iostats.rst: "3 1 hda1 35486 38030 38030 38030").
    ("7 fields (pre-2.6.25 partition)", "   3    1 hda1 35486 38030 38030 38030"),
    ("13 fields", "8 0 sda 1 2 3 4 5 6 7 8 9 10"),
    ("15 fields", "8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12"),
    ("19 fields", "8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"),
    ("21 fields", "8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"),
    ("name only", "sda"),
    ("garbage", "the quick brown fox jumps over the lazy dog and keeps on running far"),
    ("major not a number", "x 0 sda 1 2 3 4 5 6 7 8 9 10 11"),
    ("non-ASCII digits", "8 0 sda \u0661\u0662\u0663 2 3 4 5 6 7 8 9 10 11"),
    ("underscore", "8 0 sda 1_000 2 3 4 5 6 7 8 9 10 11"),
    ("plus sign", "8 0 sda +5 2 3 4 5 6 7 8 9 10 11"),
    ("negative", "8 0 sda 1 2 3 4 5 6 7 8 -1 10 11"),
    ("float", "8 0 sda 1.5 2 3 4 5 6 7 8 9 10 11"),
    ("beyond int()'s digit limit", f"8 0 sda {HUGE} 2 3 4 5 6 7 8 9 10 11"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_bad_line_raises_naming_it(line):
    with raises_naming(line):
        parse_diskstats(f"8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n{line}\n8 16 sdb 1 2 3 4 5 6 7 8 9 10 11\n")


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_on_error_skips_only_the_bad_line(line):
    errors: list[ParseError] = []
    text = f"8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n{line}\n8 16 sdb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"
    disks = parse_diskstats(text, errors.append)
    assert disks == [_rec("sda", list(range(1, 12)), 14), _rec("sdb", list(range(1, 16)), 18, minor=16)]
    assert len(errors) == 1
    assert isinstance(errors[0], ParseError) and excerpt(line) in str(errors[0])


def test_on_error_reports_every_bad_line_in_order():
    errors: list[ParseError] = []
    text = "bad one\n8 0 sda 1 2 3 4 5 6 7 8 9 10 11\nbad two\n"
    assert [d.name for d in parse_diskstats(text, errors.append)] == ["sda"]
    assert ["bad one" in str(e) for e in errors] == [True, False]
    assert ["bad two" in str(e) for e in errors] == [False, True]


def test_on_error_on_the_real_capture_with_one_line_damaged():
    lines = proc("diskstats").splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.split()[2] == "sdb")
    lines[at] = lines[at].rsplit(" ", 1)[0]  # 17 fields: cut short mid-write
    errors: list[ParseError] = []
    disks = parse_diskstats("\n".join(lines), errors.append)
    assert [d.name for d in disks] == [n for n in FIXTURE_NAMES if n != "sdb"]
    assert len(errors) == 1 and excerpt(lines[at]) in str(errors[0])
