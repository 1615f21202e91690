"""/proc/vmstat: one `name value` per line (mm/vmstat.c vmstat_show)."""

from __future__ import annotations

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers.vmstat import parse_vmstat
from tests.parsers.util import HUGE, raises_naming

# An excerpt of a real capture, lines kept verbatim and in order
# (prometheus/node_exporter collector/fixtures/proc/vmstat).
CAPTURE = (
    "nr_free_pages 977769\n"
    "nr_alloc_batch 4158\n"
    "nr_dirty 21\n"
    "nr_writeback 0\n"
    "numa_hit 2601972389\n"
    "nr_dirty_threshold 270390\n"
    "nr_dirty_background_threshold 135030\n"
    "pgpgin 7344136\n"
    "pgpgout 1541180581\n"
    "pswpin 1476\n"
    "pswpout 35045\n"
    "pgfault 2320168809\n"
    "pgmajfault 507162\n"
    "compact_free_scanned 12336622550\n"
    "oom_kill 0\n"
)

CAPTURE_RECORD = {
    "nr_free_pages": 977769,
    "nr_alloc_batch": 4158,
    "nr_dirty": 21,
    "nr_writeback": 0,
    "numa_hit": 2601972389,
    "nr_dirty_threshold": 270390,
    "nr_dirty_background_threshold": 135030,
    "pgpgin": 7344136,
    "pgpgout": 1541180581,
    "pswpin": 1476,
    "pswpout": 35045,
    "pgfault": 2320168809,
    "pgmajfault": 507162,
    "compact_free_scanned": 12336622550,
    "oom_kill": 0,
}

PAGING = ("pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault")


def test_whole_file():
    assert parse_vmstat(CAPTURE) == CAPTURE_RECORD


def test_keys_paging():
    assert parse_vmstat(CAPTURE, PAGING) == {
        "pgpgin": 7344136, "pgpgout": 1541180581, "pswpin": 1476,
        "pswpout": 35045, "pgfault": 2320168809, "pgmajfault": 507162,
    }


KEYS = [
    ("first line", ["nr_free_pages"], {"nr_free_pages": 977769}),
    ("last line", ["oom_kill"], {"oom_kill": 0}),
    (
        "a name that prefixes another",
        ["nr_dirty", "nr_dirty_threshold"],
        {"nr_dirty": 21, "nr_dirty_threshold": 270390},
    ),
    ("absent key is left out", ["pgpgin", "nr_zspages"], {"pgpgin": 7344136}),
    ("a prefix alone is not a key", ["nr_dirty_back", "pgpg", "nr_"], {}),
    ("no keys", [], {}),
    ("same answer in any order", list(reversed(PAGING))[:2], {"pgfault": 2320168809, "pgmajfault": 507162}),
]


@pytest.mark.parametrize("keys, expected", [k[1:] for k in KEYS], ids=[k[0] for k in KEYS])
def test_keys(keys, expected):
    assert parse_vmstat(CAPTURE, keys) == expected


def test_keys_last_line_without_newline():
    assert parse_vmstat(CAPTURE.rstrip("\n"), ["oom_kill", "pgpgin"]) == {"oom_kill": 0, "pgpgin": 7344136}


def test_keys_look_only_at_their_lines():
    # The point of keys: the other ~190 lines are not looked at.
    assert parse_vmstat("garbage here\npgpgin 5\n", ["pgpgin"]) == {"pgpgin": 5}


VALID = [
    ("one line", "pgpgin 5\n", {"pgpgin": 5}),
    ("no final newline", "pgpgin 5\npgpgout 6", {"pgpgin": 5, "pgpgout": 6}),
    ("signed gauge dipping below zero", "nr_zone_write_pending -3\n", {"nr_zone_write_pending": -3}),
    ("blank lines", "\npgpgin 5\n\n", {"pgpgin": 5}),
    ("beyond 64 bits", f"pgpgin {2**64}\n", {"pgpgin": 2**64}),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_vmstat(text) == expected


@pytest.mark.parametrize("text", ["", "\n", "  \n "], ids=["empty", "newline", "blank"])
def test_empty(text):
    with pytest.raises(ParseError, match="empty"):
        parse_vmstat(text)


BAD_LINES = [
    ("name only", "pgpgin"),
    ("three fields", "pgpgin 5 6"),
    ("value not a number", "pgpgin lots"),
    ("name not an identifier", "pg-pgin 5"),
    ("name starts with a digit", "1pgpgin 5"),
    ("tab separated (the kernel prints one space)", "pgpgin\t5"),
    ("double minus", "pgpgin --5"),
    ("trailing minus", "pgpgin 5-"),
    ("lone minus", "pgpgin -"),
    ("float", "pgpgin 1.5"),
    ("garbage", "?"),
    ("non-ASCII digits", "pgpgin \u0661\u0662\u0663"),
    ("underscore", "pgpgin 1_000"),
    ("plus sign", "pgpgin +5"),
    ("beyond int()'s digit limit", f"pgpgin {HUGE}"),
    ("negative beyond int()'s digit limit", f"pgpgin -{HUGE}"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_bad_line_names_it(line):
    with raises_naming(line):
        parse_vmstat(f"nr_free_pages 977769\n{line}\npgpgout 6\n")


@pytest.mark.parametrize(
    "text, line",
    [
        # Each has as many tokens as two lines would, but not two per line.
        ("pgpgin\n5 pgpgout 6\n", "pgpgin"),
        ("pgpgin 5 pgpgout\n6\n", "pgpgin 5 pgpgout"),
        ("pgpgin 5 pgpgout\n6 pswpin\n7\n", "pgpgin 5 pgpgout"),
    ],
    ids=["name alone", "value alone", "three lines shifted"],
)
def test_tokens_across_lines(text, line):
    with raises_naming(line):
        parse_vmstat(text)


KEY_BAD_LINES = [
    ("value not a number", "pgpgin lots"),
    ("two spaces", "pgpgin  5"),
    ("extra field", "pgpgin 5 6"),
    ("lone minus", "pgpgin -"),
    ("double minus", "pgpgin --5"),
    ("non-ASCII digits", "pgpgin \u0661\u0662\u0663"),
    ("underscore", "pgpgin 1_000"),
    ("plus sign", "pgpgin +5"),
    ("beyond int()'s digit limit", f"pgpgin {HUGE}"),
]


@pytest.mark.parametrize("line", [b[1] for b in KEY_BAD_LINES], ids=[b[0] for b in KEY_BAD_LINES])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_keys_bad_line_names_it(line, where):
    lines = ["nr_free_pages 977769", "pgpgout 6"]
    lines.insert({"first": 0, "middle": 1, "last": 2}[where], line)
    with raises_naming(line):
        parse_vmstat("\n".join(lines), ["pgpgin", "pgpgout"])
