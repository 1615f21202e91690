"""Validators: durations, finite numbers, one-line strings, lists with key paths."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from carbon_client.config import ConfigError
from carbon_client.config.errors import QUOTE_MAX, quote
from carbon_client.config.values import (
    boolean, choice, duration, each, format_duration, name, number, parse_duration, string, text,
)


@pytest.mark.parametrize("raw,seconds", [
    ("10s", 10), ("1m", 60), ("1h", 3600), ("1d", 86400), ("500ms", 0.5), ("1m30s", 90),
    ("1h30m", 5400), ("1.5s", 1.5), ("1.5h", 5400), (".5s", 0.5), ("2h0m5s", 7205), ("1s500ms", 1.5),
    ("10", 10), ("2.5", 2.5), (" 10s ", 10), (10, 10), (2.5, 2.5), ("1e3", 1000.0),
])
def test_parse_duration(raw, seconds):
    got = parse_duration(raw)
    assert got == seconds
    assert isinstance(got, int) == isinstance(seconds, int)


@pytest.mark.parametrize("raw", [
    "", "s", "10x", "1m1h", "1s1s", "10 s", "1m 30s", "-1s", "1..5s", "ten", "1,5s", "1_0s",
    "\u0663s", "1" * 100 + "s", True, None, [10],
])
def test_parse_duration_refuses(raw):
    assert parse_duration(raw) is None


@pytest.mark.parametrize("seconds,out", [(0, "0s"), (0.01, "10ms"), (0.5, "500ms"), (1, "1s"),
                                         (90, "1m30s"), (3600, "1h"), (86400, "1d"), (90061, "1d1h1m1s")])
def test_format_duration(seconds, out):
    assert format_duration(seconds) == out
    assert parse_duration(out) == seconds


def test_whole_duration_for_interval():
    check = duration(1, 86400, whole=True)
    assert check("1m", "interval") == 60 and isinstance(check("1m", "interval"), int)
    assert check(10.0, "interval") == 10 and isinstance(check(10.0, "interval"), int)
    assert check("1000ms", "interval") == 1
    for bad, fragment in [("1500ms", "not a whole number"), ("0s", "from 1s to 1d"), ("2d", "got '2d'"),
                          (float("inf"), "not a finite"), (float("nan"), "not a finite"), ("soon", "got 'soon'"),
                          (True, "got bool True"), (10**400, "got 1000")]:
        with pytest.raises(ConfigError) as e:
            check(bad, "interval")
        assert e.value.key == "interval"
        assert fragment in e.value.message
        assert len(e.value.message) < 200


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "nan", "inf", "1e999", 10**5000,
                                 "9" * 5000, "0x10", "\u0663", [], {}, None, True], ids=quote)
def test_numbers_are_finite_and_in_range(bad):
    for check in (number(0, 10), number(0, 10, integer=True), duration(0, 10)):
        with pytest.raises(ConfigError) as e:
            check(bad, "k")
        assert len(str(e.value)) < 200


def test_number_conversions():
    assert number(0, 10)("2.5", "k") == 2.5
    assert number(0, 10, integer=True)("7", "k") == 7
    assert number(0, 10, integer=True)(7.0, "k") == 7
    with pytest.raises(ConfigError, match="expected an integer from 0 to 10, got 2.5"):
        number(0, 10, integer=True)(2.5, "k")


@given(st.one_of(st.text(max_size=30), st.floats(), st.integers(), st.booleans(), st.none()))
def test_duration_gives_a_finite_number_or_a_config_error(v):
    try:
        out = duration(0, 86400)(v, "k")
    except ConfigError:
        return
    assert math.isfinite(out) and 0 <= out <= 86400


@pytest.mark.parametrize("bad,fragment", [
    ("web 01", "whitespace"), ("web\n01", "line breaks"), ("web\t01", "control"), ("a\x00b", "control"),
    ("a\u2028b", "line breaks"), ("a\x85b", "control"), ("x" * 256, "longer than 255"), ("", "empty"),
    ("  ", "empty"), (123, "put it in quotes"), (None, "got nothing"),
])
def test_names_refuse_what_would_break_a_line(bad, fragment):
    with pytest.raises(ConfigError) as e:
        name(bad, "hostname")
    assert fragment in e.value.message
    assert "\n" not in str(e.value)


def test_text_allows_spaces_not_control_characters():
    assert text(" /var/lib/my spool ", "spool_dir") == "/var/lib/my spool"
    with pytest.raises(ConfigError):
        text("/var/lib\n/spool", "spool_dir")
    assert string(empty=True, spaces=False)("", "prefix") == ""


def test_choice_and_boolean():
    assert choice(("DEBUG", "INFO"), upper=True)("info", "log_level") == "INFO"
    with pytest.raises(ConfigError, match="'fancy' is not one of a, b"):
        choice(("a", "b"))("fancy", "k")
    assert boolean("yes", "k") is True and boolean("off", "k") is False and boolean(False, "k") is False
    with pytest.raises(ConfigError, match="expected true or false"):
        boolean("maybe", "k")


def test_each_names_items_by_index_and_flags_by_name():
    names = each(name, at_least=1, commas=True)
    assert names(["a", "b"], "disks") == ("a", "b")
    assert names("a, b,,", "disks") == ("a", "b")
    with pytest.raises(ConfigError) as e:
        names(["a", "b c"], "disks")
    assert e.value.key == "disks[1]"
    with pytest.raises(ConfigError) as e:
        names(["a", "b c"], "--disks")
    assert e.value.key == "--disks"
    with pytest.raises(ConfigError) as e:
        names("a,b c", "disks")
    assert e.value.key == "disks"
    with pytest.raises(ConfigError, match="at least one"):
        names([], "disks")
    with pytest.raises(ConfigError, match="expected a list or a comma-separated string, got int 5"):
        names(5, "disks")
    with pytest.raises(ConfigError, match="expected a list, got str"):
        each(name)("a,b", "probes")


def test_quote_is_bounded_for_any_value():
    nested = [["x" * 1000] * 1000] * 1000  # a billion characters if printed in full
    for v in (nested, "y" * 10**6, {i: i for i in range(10**5)}, 10**5000):
        assert len(quote(v)) <= QUOTE_MAX
    assert quote("a\nb") == "'a\\nb'"
