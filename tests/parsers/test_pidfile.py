"""Pidfiles (parsers/pidfile.py): the decimal PID on the first line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers.pidfile import parse_pidfile
from tests.parsers.util import HUGE

VALID = [
    ("plain", "1234\n", 1234),
    ("no newline", "1234", 1234),
    ("blanks around", "  77 \n", 77),
    ("more lines after", "4321\nsome note\n", 4321),
    ("pid_max", "4194304\n", 4194304),
]


@pytest.mark.parametrize("text,pid", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_pidfile(text, pid):
    assert parse_pidfile(text) == pid


INVALID = [
    ("empty", ""),
    ("blank first line", "\n1234\n"),
    ("zero", "0\n"),
    ("negative", "-1\n"),
    ("two numbers", "12 34\n"),
    ("garbage", "pid=12\n"),
    ("not ASCII digits", "\u0661\u0662\n"),
    ("huge", HUGE),
]


@pytest.mark.parametrize("text", [v[1] for v in INVALID], ids=[v[0] for v in INVALID])
def test_not_a_pidfile(text):
    with pytest.raises(ParseError):
        parse_pidfile(text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_gives_a_pid_or_parse_error(text):
    try:
        assert parse_pidfile(text) > 0
    except ParseError:
        pass
