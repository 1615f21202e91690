"""/proc/net/stat/nf_conntrack (nf_conntrack_standalone.c ct_cpu_seq_show; ../shared/formats/wave2.md 3.4):
a header, then one row of ``%08x`` per CPU; entries is the table size, the rest per-CPU counters."""

from __future__ import annotations

import pytest

from carbon_client.parsers.conntrack import parse_conntrack_stat
from tests.parsers.util import raises_naming, wave2

HEADER_618 = ("entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop "
              "icmp_error  expect_new expect_create expect_delete search_restart")
HEADER_OLD = ("entries searched found new invalid ignore delete delete_list insert insert_failed drop early_drop "
              "icmp_error expect_new expect_create expect_delete search_restart")


def test_live_618_all_zero():
    got = parse_conntrack_stat(wave2("procfs-live-vm618/proc/net/stat/nf_conntrack"))
    assert list(got) == HEADER_618.split()
    assert set(got.values()) == {0}


def hexrow(values: list[int], trailing: str = "") -> str:
    cells = [f"{v:08x}" for v in values]
    return f"{cells[0]}  {' '.join(cells[1:12])}  {' '.join(cells[12:])}{trailing}"


def test_rows_are_summed_but_entries():
    # 2 CPUs: entries 0x20 = 32 on both rows; found 1 + 2, drop 0x10 + 0x01 = 17, search_restart 5 + 6
    cpu0 = [32, 0, 1, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 5]
    cpu1 = [32, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 6]
    got = parse_conntrack_stat("\n".join([HEADER_OLD, hexrow(cpu0), hexrow(cpu1)]) + "\n")
    assert got["entries"] == 32
    assert (got["found"], got["drop"], got["early_drop"], got["search_restart"]) == (3, 17, 3, 11)
    assert "clashres" not in got and got["searched"] == 0


def test_very_old_rows_without_search_restart():
    # 16 names, rows of 16 values ending in a space
    header = HEADER_OLD.rsplit(" ", 1)[0]
    got = parse_conntrack_stat(f"{header}\n{hexrow([7] * 16, trailing=' ')}\n")
    assert got["entries"] == 7 and got["drop"] == 7 and "search_restart" not in got


def test_header_only():
    assert parse_conntrack_stat(HEADER_618 + "\n")["drop"] == 0


BAD = [
    ("empty", "", ""),
    ("garbage", "hello world\n", "hello world"),
    ("no entries column", "found drop\n00000001 00000002\n", "found drop"),
    ("too few values", f"{HEADER_OLD}\n{hexrow([0] * 16)}\n", hexrow([0] * 16)),
    ("not hex", f"{HEADER_OLD}\n{hexrow([0] * 17).replace('00000000', '0000000g', 1)}\n",
     hexrow([0] * 17).replace("00000000", "0000000g", 1)),
    ("0x prefix", f"{HEADER_OLD}\n{hexrow([0] * 17).replace('00000000', '0x000000', 1)}\n",
     hexrow([0] * 17).replace("00000000", "0x000000", 1)),
    ("digits in the header", "entries 1drop\n00000000 00000000\n", "entries 1drop"),
]


@pytest.mark.parametrize("text, line", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(text, line):
    with raises_naming(line):
        parse_conntrack_stat(text)
