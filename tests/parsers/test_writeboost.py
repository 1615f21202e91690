"""dm-writeboost ``dmsetup status`` lines (shared/formats/writeboost.md).

Token index without the ``name: `` prefix: 0 start, 1 length, 2 ``writeboost``,
3 cursor_pos, 4 nr_cache_blocks, 5 nr_segments, 6 current_id,
7 last_flushed_id, 8 last_writeback_id, 9 nr_dirty_cache_blocks,
10..25 stat[0..15], 26 nr_partial_flushed, 27 the tunables count, then
key value pairs. stat index i = write<<3 | hit<<2 | on_buffer<<1 | fullsize.

Expected values below are read off the captures with that table by hand.
A cross-check that needs no parser: a segment holds 127 cache blocks with the
default 512 KiB segments (128 blocks of 4 KiB, one for the header), so
nr_cache_blocks == 127 * nr_segments in every capture.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers.writeboost import (
    WriteboostStatus,
    parse_writeboost_line,
    parse_writeboost_status,
    split_target_line,
    stat_index,
)
from tests.conftest import FIXTURES
from tests.parsers.util import HUGE, raises_naming

WB = FIXTURES / "writeboost"
V2_KEYS = (
    "writeback_threshold", "nr_cur_batched_writeback", "sync_data_interval",
    "update_sb_record_interval", "read_cache_threshold",
)


def read(name: str) -> str:
    return (WB / name).read_text(encoding="utf-8")


# sample.226 (`dmsetup status <dev>`, no prefix):
# "0 204800 writeboost 2 762 6 73 73 67 391 12 224 0 0 15 9 1 0 15 6567 0 0 1 0 15 0 11 10
#  writeback_threshold 0 nr_cur_batched_writeback 1 sync_data_interval 0
#  update_sb_record_interval 0 read_cache_threshold 0"
SAMPLE_226 = WriteboostStatus(
    name=None, start=0, length=204800,
    cursor_pos=2, nr_cache_blocks=762, nr_segments=6, current_id=73, last_flushed_id=73,
    last_writeback_id=67, nr_dirty_cache_blocks=391,
    stats=(12, 224, 0, 0, 15, 9, 1, 0, 15, 6567, 0, 0, 1, 0, 15, 0),
    nr_partial_flushes=11,
    tunables=(
        ("writeback_threshold", 0), ("nr_cur_batched_writeback", 1), ("sync_data_interval", 0),
        ("update_sb_record_interval", 0), ("read_cache_threshold", 0),
    ),
)


def _v2(threshold: int, batched: int = 8) -> tuple:
    return (
        ("writeback_threshold", threshold), ("nr_cur_batched_writeback", batched),
        ("sync_data_interval", 0), ("update_sb_record_interval", 0), ("read_cache_threshold", 0),
    )


# issue 141: two lines of plain `dmsetup status` ("mylv: " prefix), then `dmsetup status mylv`.
ISSUE_141 = [
    # "mylv: 0 3906766976 writeboost 1757999 111085757 874691 13843 13842 448 1680144
    #  0 159 0 0 1 446 0 0 0 1735997 0 0 0 259 0 0 93 10 writeback_threshold 0 ..."
    WriteboostStatus(
        name="mylv", start=0, length=3906766976,
        cursor_pos=1757999, nr_cache_blocks=111085757, nr_segments=874691, current_id=13843,
        last_flushed_id=13842, last_writeback_id=448, nr_dirty_cache_blocks=1680144,
        stats=(0, 159, 0, 0, 1, 446, 0, 0, 0, 1735997, 0, 0, 0, 259, 0, 0),
        nr_partial_flushes=93, tunables=_v2(0),
    ),
    # "mylv: 0 3906766976 writeboost 341202 111085757 874691 2687 2686 1504 147638
    #  0 159 0 0 1 444 0 0 0 335661 0 0 0 59 0 0 25 10 writeback_threshold 70 ..."
    WriteboostStatus(
        name="mylv", start=0, length=3906766976,
        cursor_pos=341202, nr_cache_blocks=111085757, nr_segments=874691, current_id=2687,
        last_flushed_id=2686, last_writeback_id=1504, nr_dirty_cache_blocks=147638,
        stats=(0, 159, 0, 0, 1, 444, 0, 0, 0, 335661, 0, 0, 0, 59, 0, 0),
        nr_partial_flushes=25, tunables=_v2(70),
    ),
    # "0 3906766976 writeboost 1422227 111085757 874691 11199 11198 7104 515222
    #  0 159 0 0 1 446 0 0 0 1408829 0 0 0 183 0 0 55 10 writeback_threshold 70 ..."
    WriteboostStatus(
        name=None, start=0, length=3906766976,
        cursor_pos=1422227, nr_cache_blocks=111085757, nr_segments=874691, current_id=11199,
        last_flushed_id=11198, last_writeback_id=7104, nr_dirty_cache_blocks=515222,
        stats=(0, 159, 0, 0, 1, 446, 0, 0, 0, 1408829, 0, 0, 0, 183, 0, 0),
        nr_partial_flushes=55, tunables=_v2(70),
    ),
]


def test_sample_226_whole_record():
    assert parse_writeboost_status(read("dmsetup_status.sample.226.txt")) == [SAMPLE_226]


def test_issue_141_prefixed_and_unprefixed_lines():
    assert parse_writeboost_status(read("dmsetup_status.issue141.real.txt")) == ISSUE_141


@pytest.mark.parametrize("rec", [SAMPLE_226, *ISSUE_141], ids=["226", "141a", "141b", "141c"])
def test_segments_hold_127_blocks(rec):
    assert rec.nr_cache_blocks == 127 * rec.nr_segments


# (write, hit, on_buffer, fullsize, sample.226 token 10+i): the table in writeboost.md.
SAMPLE_226_STATS = [
    (0, 0, 0, 0, 12),    # token 10: read  miss  not on buffer  partial
    (0, 0, 0, 1, 224),   # token 11: read  miss  not on buffer  fullsize
    (0, 0, 1, 0, 0),     # token 12: read  miss  on buffer      partial
    (0, 0, 1, 1, 0),     # token 13: read  miss  on buffer      fullsize
    (0, 1, 0, 0, 15),    # token 14: read  hit   not on buffer  partial
    (0, 1, 0, 1, 9),     # token 15: read  hit   not on buffer  fullsize
    (0, 1, 1, 0, 1),     # token 16: read  hit   on buffer      partial
    (0, 1, 1, 1, 0),     # token 17: read  hit   on buffer      fullsize
    (1, 0, 0, 0, 15),    # token 18: write miss  not on buffer  partial
    (1, 0, 0, 1, 6567),  # token 19: write miss  not on buffer  fullsize
    (1, 0, 1, 0, 0),     # token 20: write miss  on buffer      partial
    (1, 0, 1, 1, 0),     # token 21: write miss  on buffer      fullsize
    (1, 1, 0, 0, 1),     # token 22: write hit   not on buffer  partial
    (1, 1, 0, 1, 0),     # token 23: write hit   not on buffer  fullsize
    (1, 1, 1, 0, 15),    # token 24: write hit   on buffer      partial
    (1, 1, 1, 1, 0),     # token 25: write hit   on buffer      fullsize
]


@pytest.mark.parametrize(
    "write,hit,on_buffer,fullsize,value", SAMPLE_226_STATS,
    ids=[f"stat{i}" for i in range(16)],
)
def test_sample_226_stat_flags(write, hit, on_buffer, fullsize, value):
    (rec,) = parse_writeboost_status(read("dmsetup_status.sample.226.txt"))
    assert rec.stat(write, hit, on_buffer, fullsize) == value


def test_stat_index_bit_order():
    assert [stat_index(w, h, b, f) for w, h, b, f, _ in SAMPLE_226_STATS] == list(range(16))
    assert stat_index(True, False, False, False) == 8
    assert stat_index(False, True, False, False) == 4
    assert stat_index(False, False, True, False) == 2
    assert stat_index(False, False, False, True) == 1


def test_a_miss_is_never_on_the_buffer():
    # cache_lookup() sets on_buffer only for a block it found: the four
    # miss/on-buffer counters stay 0 in every real capture.
    recs = parse_writeboost_status(read("dmsetup_status.issue141.real.txt"))
    recs += parse_writeboost_status(read("dmsetup_status.sample.226.txt"))
    for rec in recs:
        for write in (0, 1):
            for full in (0, 1):
                assert rec.stat(write, 0, 1, full) == 0


# -- the form is decided per line ----------------------------------------------------

def test_same_device_in_both_forms_gives_the_same_fields():
    line = "0 204800 writeboost 2 762 6 73 73 67 391 12 224 0 0 15 9 1 0 15 6567 0 0 1 0 15 0 11 10 " \
           "writeback_threshold 0 nr_cur_batched_writeback 1 sync_data_interval 0 " \
           "update_sb_record_interval 0 read_cache_threshold 0"
    plain = parse_writeboost_line(line)
    named = parse_writeboost_line("wb.sample: " + line)
    assert plain == SAMPLE_226
    assert named.name == "wb.sample"
    assert named == WriteboostStatus(
        "wb.sample", *[getattr(SAMPLE_226, f) for f in WriteboostStatus.__dataclass_fields__][1:]
    )


@pytest.mark.parametrize(
    "line,expected",
    [
        ("0 100 linear 8:0 0", (None, ["0", "100", "linear", "8:0", "0"])),
        ("vg-root: 0 100 linear 8:0 0", ("vg-root", ["0", "100", "linear", "8:0", "0"])),
        # a dm name that is a number: "0:" is no number, so the line is prefixed
        ("0: 0 100 linear ", ("0", ["0", "100", "linear"])),
        ("odd: name: 0 8 zero", ("odd: name", ["0", "8", "zero"])),
        ("cursor pos              = writeboost", None),
        ("0      0    1          0         266", None),
        ("", None),
    ],
    ids=["unprefixed", "prefixed", "numeric-name", "colon-in-name", "wbstatus-key", "wbstatus-row", "empty"],
)
def test_split_target_line(line, expected):
    assert split_target_line(line) == expected


def _tokens_of_wbstatus(text: str) -> dict[int, str]:
    """Token index -> value as wbstatus printed them (it assumes no prefix)."""
    order = ["cursor pos", "# of cache blocks", "# of segments", "current id", "last flushed id",
             "last writeback id", "# of dirty cache blocks"]
    toks: dict[int, str] = {}
    rows = []
    for line in text.splitlines():
        if line.startswith("#") and not line.startswith("# of "):
            continue  # the capture's own comment lines
        if " = " in line:
            key, value = (p.strip() for p in line.split(" = "))
            if key == "# of partial flushes":
                toks[26] = value
            else:
                toks[3 + order.index(key)] = value
        elif line.split() and line.split()[0].isdigit():
            rows.append(line.split()[4])
    for i, v in enumerate(rows):
        toks[10 + i] = v
    return toks


def test_misaligned_wbstatus_output_is_rejected():
    text = read("wbstatus_output.issue171.real_MISALIGNED.txt")
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("# ") or ln.startswith("# of "))
    with raises_naming("cursor pos              = writeboost"):
        parse_writeboost_status(body)
    errors: list[ParseError] = []
    assert parse_writeboost_status(text, errors.append) == []
    assert len(errors) == len([ln for ln in text.splitlines() if ln.strip()])


def test_misaligned_wbstatus_output_read_back_one_token():
    """wbstatus read `wbdev: 0 <len> writeboost ...` as if unprefixed: its token
    k is the real token k-1. Put the tokens it printed back in a prefixed line
    and the parser finds the real fields (the truncated paste hides stat[9..14],
    the partial flushes and the tunables: zeros and a v2 tail stand in)."""
    toks = _tokens_of_wbstatus(read("wbstatus_output.issue171.real_MISALIGNED.txt"))
    assert toks[3] == "writeboost"  # "cursor pos = writeboost": the bug
    line_toks = ["wbdev:", "0", "1000"] + [toks.get(k, "0") for k in range(3, 27)]
    assert line_toks[3] == "writeboost"
    line = " ".join(line_toks) + " 0 10 " + " ".join(f"{k} 0" for k in V2_KEYS)
    rec = parse_writeboost_line(line)
    assert rec.name == "wbdev"
    assert (rec.cursor_pos, rec.nr_cache_blocks, rec.nr_segments) == (0, 1269746, 9998)
    assert rec.nr_cache_blocks == 127 * rec.nr_segments
    assert (rec.current_id, rec.last_flushed_id, rec.last_writeback_id) == (1, 0, 0)
    assert rec.nr_dirty_cache_blocks == 0
    # wbstatus's row "0 0 1 0 266" is really stat[1]: reads that missed, full size.
    assert rec.stat(0, 0, 0, 1) == 266
    assert sum(rec.stats) == 266


# -- other versions' tunables tails --------------------------------------------------

HEAD = "0 204800 writeboost 2 762 6 73 73 67 391 12 224 0 0 15 9 1 0 15 6567 0 0 1 0 15 0 11"


@pytest.mark.parametrize(
    "tail,expected",
    [
        ("10 writeback_threshold 70 nr_cur_batched_writeback 32 sync_data_interval 600 "
         "update_sb_record_interval 0 read_cache_threshold 0",
         (("writeback_threshold", 70), ("nr_cur_batched_writeback", 32), ("sync_data_interval", 600),
          ("update_sb_record_interval", 0), ("read_cache_threshold", 0))),
        ("14 allow_writeback 1 enable_writeback_modulator 0 writeback_threshold 70 "
         "nr_cur_batched_writeback 8 sync_data_interval 60 update_sb_record_interval 0 "
         "read_cache_threshold 0",
         (("allow_writeback", 1), ("enable_writeback_modulator", 0), ("writeback_threshold", 70),
          ("nr_cur_batched_writeback", 8), ("sync_data_interval", 60),
          ("update_sb_record_interval", 0), ("read_cache_threshold", 0))),
        ("14 barrier_deadline_ms 3 allow_migrate 1 enable_migration_modulator 1 "
         "migrate_threshold 70 nr_cur_batched_migration 1 sync_interval 60 update_record_interval 0",
         (("barrier_deadline_ms", 3), ("allow_migrate", 1), ("enable_migration_modulator", 1),
          ("migrate_threshold", 70), ("nr_cur_batched_migration", 1), ("sync_interval", 60),
          ("update_record_interval", 0))),
        ("0", ()),
        ("2 writeback_threshold -1", (("writeback_threshold", -1),)),
    ],
    ids=["v2.x", "v1.0", "pre-1.0", "none", "signed"],
)
def test_tunables_tails(tail, expected):
    rec = parse_writeboost_line(f"{HEAD} {tail}")
    assert rec.tunables == expected
    assert rec.tunable_keys == tuple(k for k, _ in expected)
    assert (rec.cursor_pos, rec.nr_partial_flushes, rec.stats[9]) == (2, 11, 6567)


# -- several devices, other targets, noise -------------------------------------------

MIXED = """\
vg-root: 0 41943040 linear 
vg-pool: 0 2097152 thin-pool 1 406/4608 7/32768 - rw discard_passdown queue_if_no_space - 1024
vg-thin1: 0 4194304 thin 1024 2047
wb.sample: 0 204800 writeboost 2 762 6 73 73 67 391 12 224 0 0 15 9 1 0 15 6567 0 0 1 0 15 0 11 10 writeback_threshold 0 nr_cur_batched_writeback 1 sync_data_interval 0 update_sb_record_interval 0 read_cache_threshold 0
empty-dev: 
mylv: 0 3906766976 writeboost 341202 111085757 874691 2687 2686 1504 147638 0 159 0 0 1 444 0 0 0 335661 0 0 0 59 0 0 25 10 writeback_threshold 70 nr_cur_batched_writeback 8 sync_data_interval 0 update_sb_record_interval 0 read_cache_threshold 0
"""


def test_several_devices_other_targets_skipped():
    recs = parse_writeboost_status(MIXED)
    assert [r.name for r in recs] == ["wb.sample", "mylv"]
    assert recs[0] == WriteboostStatus("wb.sample", *[
        getattr(SAMPLE_226, f) for f in WriteboostStatus.__dataclass_fields__][1:])
    assert recs[1] == ISSUE_141[1]


@pytest.mark.parametrize("text", ["", "\n\n", "No devices found\n", "vg-root: 0 10 linear 8:0 0\n"],
                         ids=["empty", "blank", "no-devices", "no-writeboost"])
def test_nothing_to_report(text):
    assert parse_writeboost_status(text) == []


GOOD = "0 204800 writeboost 2 762 6 73 73 67 391 12 224 0 0 15 9 1 0 15 6567 0 0 1 0 15 0 11 0"


@pytest.mark.parametrize(
    "line",
    [
        "0 204800 writeboost 2 762 6 73 73 67 391",                      # too few fields
        GOOD.rsplit(" ", 1)[0],                                           # no tunables count
        GOOD + " extra",                                                  # count 0, one more field
        GOOD[:-1] + "2 writeback_threshold",                              # count 2, one field
        GOOD[:-1] + "1 writeback_threshold",                              # odd count
        GOOD[:-1] + "2 writeback_threshold x",                            # value not a number
        GOOD[:-1] + "2 7 1",                                              # key not a name
        GOOD[:-1] + "4 a 1 a 2",                                          # key twice
        GOOD.replace(" 762 ", " -762 "),                                  # signed gauge
        GOOD.replace(" 762 ", " 7a2 "),                                   # garbage
        GOOD.replace(" 762 ", " 7\u0662 "),                               # non-ASCII digit
        GOOD.replace(" 762 ", f" {HUGE} "),                               # beyond int()'s limit
        GOOD[:-1] + f"2 writeback_threshold {HUGE}",                      # the same in a tunable
        "wb: " + GOOD[:-1] + "10 writeback_threshold 0",                  # prefixed, count short
    ],
    ids=["few", "no-count", "count-short", "pair-short", "odd-count", "bad-value", "bad-key",
         "dup-key", "negative", "garbage", "non-ascii", "huge", "huge-tunable", "prefixed-short"],
)
def test_malformed_writeboost_line_names_it(line):
    with raises_naming(line):
        parse_writeboost_status(line + "\n")


def test_a_bad_line_costs_that_line_only():
    bad = "wb-bad: 0 10 writeboost 1 2 3"
    text = MIXED.replace("empty-dev: \n", bad + "\n")
    errors: list[ParseError] = []
    recs = parse_writeboost_status(text, errors.append)
    assert [r.name for r in recs] == ["wb.sample", "mylv"]
    assert len(errors) == 1 and repr(bad) in str(errors[0])
    with raises_naming(bad):
        parse_writeboost_status(text)


def test_good_line_parses():
    assert parse_writeboost_line(GOOD).tunables == ()
    assert parse_writeboost_line("0 10 linear 8:0 0") is None


_token = st.one_of(
    st.integers(min_value=-5, max_value=2**64).map(str),
    st.sampled_from(["writeboost", "linear", "wb:", "writeback_threshold", "10", "14", ":", "No"]),
    st.text(max_size=6),
)
structured = st.lists(_token, max_size=45).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), structured), max_size=4).map("\n".join))
def test_any_text_gives_records_or_parse_error(text):
    try:
        recs = parse_writeboost_status(text)
    except ParseError:
        return
    for r in recs:
        assert isinstance(r, WriteboostStatus) and len(r.stats) == 16
