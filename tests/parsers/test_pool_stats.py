"""parsers.pool_stats on the capture and hand-made variants.

Expected values come from the format (../shared/formats/wave2.md 6.4: a
``# pool`` header naming the columns, then ``<pool-id> <counter>...`` per
pool) applied by hand to the text.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers.pool_stats import PoolStats, parse_pool_stats
from tests.conftest import FIXTURES
from tests.parsers.util import HUGE, raises_naming

HEADER = "# pool packets-arrived sockets-enqueued threads-woken threads-timedout\n"
COLUMNS = ("packets-arrived", "sockets-enqueued", "threads-woken", "threads-timedout")


def test_capture():
    # `0 49 4 45 0`: pool 0, 49 packets, 4 enqueued, 45 woken, 0 timed out
    text = (FIXTURES / "wave2/procfs-pcp-nfsd/proc/fs/nfsd/pool_stats").read_text()
    assert parse_pool_stats(text) == PoolStats(COLUMNS, ((0, (49, 4, 45, 0)),))


VALID = {
    "two pools (pool_mode percpu)": (HEADER + "0 10 1 9 0\n1 20 2 18 1\n",
                                     PoolStats(COLUMNS, ((0, (10, 1, 9, 0)), (1, (20, 2, 18, 1))))),
    "no pool yet": (HEADER, PoolStats(COLUMNS, ())),
    "older kernel columns": ("# pool packets-arrived sockets-enqueued threads-woken overloads-avoided threads-timedout\n"
                       "0 5 1 4 2 3\n",
                       PoolStats(COLUMNS[:3] + ("overloads-avoided", "threads-timedout"), ((0, (5, 1, 4, 2, 3)),))),
    "6.x fixed zero column": (HEADER + "0 123456789012 7 123456789005 0\n",
                              PoolStats(COLUMNS, ((0, (123456789012, 7, 123456789005, 0)),))),
    "blank lines and no final newline": ("\n" + HEADER + "\n0 1 2 3 4", PoolStats(COLUMNS, ((0, (1, 2, 3, 4)),))),
}


@pytest.mark.parametrize("text, want", list(VALID.values()), ids=list(VALID))
def test_valid(text, want):
    assert parse_pool_stats(text) == want


BAD = {
    "too few values": (HEADER + "0 1 2 3\n", "0 1 2 3"),
    "too many values": (HEADER + "0 1 2 3 4 5\n", "0 1 2 3 4 5"),
    "garbage value": (HEADER + "0 1 x 3 4\n", "0 1 x 3 4"),
    "negative value": (HEADER + "0 1 -2 3 4\n", "0 1 -2 3 4"),
    "huge value": (HEADER + f"0 1 {HUGE} 3 4\n", f"0 1 {HUGE} 3 4"),
    "pool twice": (HEADER + "0 1 2 3 4\n0 1 2 3 4\n", "0 1 2 3 4"),
    "no header": ("0 49 4 45 0\n", "0 49 4 45 0"),
    "header without columns": ("# pool\n", "# pool"),
    "header with a column twice": ("# pool a a\n", "# pool a a"),
}


@pytest.mark.parametrize("text, line", list(BAD.values()), ids=list(BAD))
def test_malformed_names_its_line(text, line):
    with raises_naming(line):
        parse_pool_stats(text)


def test_empty():
    with pytest.raises(ParseError, match="empty"):
        parse_pool_stats("\n")


def test_on_error_skips_a_bad_pool_only():
    errors: list[ParseError] = []
    got = parse_pool_stats(HEADER + "0 1 2 3\n1 5 6 7 8\n", errors.append)
    assert got == PoolStats(COLUMNS, ((1, (5, 6, 7, 8)),))
    assert len(errors) == 1


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(
    ["#", " pool", " packets-arrived", " x", "\n", " ", "0", "1", "-1", HUGE, "\t", "\u2028", "\u0661"]),
    max_size=40).map("".join)))
def test_any_text_gives_a_record_or_parse_error(text):
    try:
        assert isinstance(parse_pool_stats(text), PoolStats)
    except ParseError:
        pass
    errors: list[ParseError] = []
    try:
        got = parse_pool_stats(text, errors.append)
    except ParseError:
        return  # the header: no pool can be read without it
    assert isinstance(got, PoolStats) and all(isinstance(e, ParseError) for e in errors)
