"""CPU lists of /sys/devices/system/cpu/online ("%*pbl": ``0-3,5,7-8``)."""

from __future__ import annotations

import pytest

from carbon_client.parsers.cpu_list import parse_cpu_list
from tests.parsers.util import raises_naming

VALID = [
    ("one CPU", "0\n", (0,)),
    ("a range", "0-1\n", (0, 1)),
    ("ranges and singles (CPUs 4 and 6 offline)", "0-3,5,7-8\n", (0, 1, 2, 3, 5, 7, 8)),
    ("no newline", "2", (2,)),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_cpu_list(text) == expected


BAD = [("empty", ""), ("backwards", "3-1"), ("open range", "0-"), ("garbage", "all"), ("negative", "-1"),
       ("spaces", "0 1"), ("trailing comma", "0,"), ("huge", "0-99999999999999")]


@pytest.mark.parametrize("text", [b[1] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(text):
    with raises_naming(text):
        parse_cpu_list(text)
