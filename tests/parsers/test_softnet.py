"""/proc/net/softnet_stat (net/core/net-procfs.c; ../shared/formats/wave2.md 3.5): one row of
``%08x`` fields per online CPU, 9 to 15 columns depending on the kernel."""

from __future__ import annotations

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers.softnet import SoftnetRow, parse_softnet
from tests.parsers.util import raises_naming, wave2

Z = "00000000"


def test_live_618_fifteen_columns_with_cpu_ids():
    # 0x16599 = 91545 and 0xf500 = 62720 processed; column 13 holds the CPU id (0, then 1)
    assert parse_softnet(wave2("procfs-live-vm618/proc/net/softnet_stat")) == [
        SoftnetRow(0, 91545, 0, 0, 0, 0, 0),
        SoftnetRow(1, 62720, 0, 0, 0, 0, 0),
    ]


def test_sysstat_eleven_columns_in_cpu_order():
    rows = parse_softnet(wave2("procfs-sysstat-root1/proc/net/softnet_stat"))
    # 9 rows; no CPU column before 5.10, so the row number; 0x2ec8 = 11976, 0x104e3 = 66787, 0x22 = 34
    assert [r.cpu for r in rows] == list(range(9))
    assert (rows[0].processed, rows[3].processed, rows[8].processed) == (11976, 66787, 34)
    assert all(r.received_rps == 0 and r.flow_limit_count == 0 and r.backlog_len is None for r in rows)


def row(*hexes: str, width: int) -> str:
    cols = list(hexes) + [Z] * (width - len(hexes))
    return " ".join(cols)


VALID = [
    ("9 columns (before 2.6.35)", row("0000000a", "00000001", "00000002", width=9),
     [SoftnetRow(0, 10, 1, 2, None, None, None)]),
    ("10 columns: received_rps", row("0000000a", Z, Z, *[Z] * 6, "00000005", width=10),
     [SoftnetRow(0, 10, 0, 0, 5, None, None)]),
    ("11 columns: flow_limit_count", row("0000000a", *[Z] * 9, "00000003", width=11),
     [SoftnetRow(0, 10, 0, 0, 0, 3, None)]),
    ("13 columns: backlog and cpu id", row("0000000a", *[Z] * 10, "00000004", "00000007", width=13),
     [SoftnetRow(7, 10, 0, 0, 0, 0, 4)]),
    ("an offline CPU leaves a gap in the ids", "\n".join([
        row("00000001", *[Z] * 11, "00000000", width=15), row("00000002", *[Z] * 11, "00000003", width=15)]),
     [SoftnetRow(0, 1, 0, 0, 0, 0, 0), SoftnetRow(3, 2, 0, 0, 0, 0, 0)]),
    ("a wider future row", row("ffffffff", width=17), [SoftnetRow(0, 2**32 - 1, 0, 0, 0, 0, 0)]),
    ("empty", "", []),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_softnet(text) == expected


BAD = [
    ("too few fields", " ".join([Z] * 8)),
    ("not hex", row("0000000g", width=11)),
    ("0x prefix", row("0x000001", width=11)),
    ("underscore", row("0000_001", width=11)),
    ("sign", row("+0000001", width=11)),
    ("garbage", "hello world"),
    ("non-ASCII digit", row("0000000\u0661", width=11)),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(line):
    with raises_naming(line):
        parse_softnet(line + "\n")
    errors: list[ParseError] = []
    good = row("00000001", width=11)
    assert parse_softnet(f"{line}\n{good}\n", errors.append) == [SoftnetRow(1, 1, 0, 0, 0, 0, None)]
    assert len(errors) == 1
