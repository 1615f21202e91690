"""/proc/loadavg: `load1 load5 load15 running/total last_pid` (proc(5);
fs/proc/loadavg.c prints the loads as "%lu.%02lu")."""

from __future__ import annotations

import pytest

from carbon_client.parsers.loadavg import LoadAvg, parse_loadavg
from tests.parsers.util import HUGE, proc, raises_naming


def test_fixture():
    # "0.02 0.04 0.05 1/497 11947"
    assert parse_loadavg(proc("loadavg")) == LoadAvg(
        load1=0.02, load5=0.04, load15=0.05, running=1, total=497, last_pid=11947
    )


VALID = [
    ("idle", "0.00 0.00 0.00 1/1 1\n", LoadAvg(0.0, 0.0, 0.0, 1, 1, 1)),
    ("no final newline", "0.02 0.04 0.05 1/497 11947", LoadAvg(0.02, 0.04, 0.05, 1, 497, 11947)),
    (
        "busy host, pid beyond 32768",
        "123.45 67.89 10.00 64/12345 4194304\n",
        LoadAvg(123.45, 67.89, 10.0, 64, 12345, 4194304),
    ),
    ("surrounding blanks", "  1.50 1.25 1.00 3/200 77  \n\n", LoadAvg(1.5, 1.25, 1.0, 3, 200, 77)),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_loadavg(text) == expected


BAD = [
    ("empty", "", ""),
    ("blank", " \n", ""),
    ("too few fields", "0.02 0.04 0.05 1/497", None),
    ("too many fields", "0.02 0.04 0.05 1/497 11947 1", None),
    ("garbage", "hello world", None),
    ("no slash", "0.02 0.04 0.05 1 497", None),
    ("two slashes", "0.02 0.04 0.05 1/497/3 11947", None),
    ("empty total", "0.02 0.04 0.05 1/ 11947", None),
    ("two lines", "0.02 0.04\n0.05 1/497 11947", None),
    ("negative load", "-0.02 0.04 0.05 1/497 11947", None),
    ("nan load", "nan 0.04 0.05 1/497 11947", None),
    ("inf load", "inf 0.04 0.05 1/497 11947", None),
    ("exponent", "1e3 0.04 0.05 1/497 11947", None),
    ("two dots", "0.0.2 0.04 0.05 1/497 11947", None),
    ("non-ASCII digits in a load", "\u0660.\u0660\u0662 0.04 0.05 1/497 11947", None),
    ("non-ASCII digits in the pid", "0.02 0.04 0.05 1/497 \u0661\u0662\u0663", None),
    ("underscore", "0.02 0.04 0.05 1/497 1_000", None),
    ("plus sign", "0.02 0.04 0.05 1/+497 11947", None),
    ("load beyond a float (would be inf)", f"{HUGE}.00 0.04 0.05 1/497 11947", None),
    ("pid beyond int()'s digit limit", f"0.02 0.04 0.05 1/497 {HUGE}", None),
]


@pytest.mark.parametrize("text, line", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(text, line):
    with raises_naming(text.strip() if line is None else line):
        parse_loadavg(text)
