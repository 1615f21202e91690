"""What an exec command prints: Graphite plaintext or key value lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers.plaintext import Value, parse_plaintext


@pytest.mark.parametrize("text,expected", [
    ("a.b 1 1700000000\n", [Value("a.b", 1, 1700000000)]),
    ("a 1.5\n\n  b\t-2  \n", [Value("a", 1.5, None), Value("b", -2, None)]),
    ("x 1e3 1.7e9\n", [Value("x", 1000.0, 1.7e9)]),
    ("", []),
], ids=["plaintext", "key value, blank lines, tabs", "exponents", "empty"])
def test_valid(text, expected):
    assert parse_plaintext(text) == expected


@pytest.mark.parametrize("line", [
    "novalue", "a b", "a 1 2 3", "a nan", "a inf", "a 1_000", "a 1 soon", ". 1", "a ٣",
], ids=["one field", "not a number", "four fields", "nan", "inf", "underscore", "bad timestamp",
        "empty path", "non-ascii digit"])
def test_invalid_lines_raise_or_are_skipped(line):
    with pytest.raises(ParseError, match="expected 'path value"):
        parse_plaintext(line + "\n")
    errors = []
    assert parse_plaintext(f"ok 1\n{line}\nok 2\n", errors.append) == [Value("ok", 1, None), Value("ok", 2, None)]
    assert len(errors) == 1


@given(st.text(max_size=300))
def test_any_text_gives_values_or_parse_error(text):
    try:
        out = parse_plaintext(text)
    except ParseError:
        return
    for v in out:
        assert v.path and v.value == v.value
