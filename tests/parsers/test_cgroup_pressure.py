"""Pressure files (parsers/cgroup_pressure.py): cgroup *.pressure and the /proc/pressure format.

Values read off the captures by hand (Documentation/accounting/psi.rst: averages in
percent with two decimals, total in microseconds).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers.cgroup_pressure import Pressure, PressureLine, parse_pressure
from tests.conftest import FIXTURES
from tests.parsers.util import raises_naming

W2 = FIXTURES / "wave2"
FEDORA = W2 / "cgroup2-pcp-fedora/sys/fs/cgroup"
TELEGRAF = W2 / "cgroup2-telegraf-single"
SESSION = W2 / "cgroup2-elastic-session-scope/sys/fs/cgroup/user.slice/user-1000.slice/session-520.scope"

CASES = [
    # 5.x: cpu.pressure has no full line
    ("cpu some only", (FEDORA / "system.slice/sshd.service/cpu.pressure").read_text(),
     Pressure(PressureLine(0.0, 0.0, 0.0, 310), None)),
    ("io some and full", (FEDORA / "system.slice/crond.service/io.pressure").read_text(),
     Pressure(PressureLine(0.0, 0.0, 0.0, 3598761), PressureLine(0.0, 0.0, 0.0, 3597296))),
    ("6.x cpu some and full, non-zero averages", (TELEGRAF / "cpu.pressure").read_text(),
     Pressure(PressureLine(0.0, 0.08, 0.06, 293391454), PressureLine(0.0, 0.08, 0.05, 277111656))),
    # 6.1+ irq.pressure: a single full line
    ("irq full only", (SESSION / "irq.pressure").read_text(),
     Pressure(None, PressureLine(0.0, 0.0, 0.0, 29463156))),
    ("root cpu.pressure", (FEDORA / "cpu.pressure").read_text(),
     Pressure(PressureLine(0.0, 0.0, 0.0, 527810295), None)),
    ("busy", "some avg10=12.34 avg60=100.00 avg300=5.00 total=1\n",
     Pressure(PressureLine(12.34, 100.0, 5.0, 1), None)),
]


@pytest.mark.parametrize("text,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pressure(text, expected):
    assert parse_pressure(text) == expected


BAD = [
    ("too few fields", "some avg10=0.00 avg60=0.00 total=1"),
    ("unknown kind", "most avg10=0.00 avg60=0.00 avg300=0.00 total=1"),
    ("fields out of order", "some avg60=0.00 avg10=0.00 avg300=0.00 total=1"),
    ("average not D.DD", "some avg10=1 avg60=0.00 avg300=0.00 total=1"),
    ("negative total", "some avg10=0.00 avg60=0.00 avg300=0.00 total=-1"),
    ("garbage", "\u0661\u0662"),
    ("a second some", "some avg10=0.00 avg60=0.00 avg300=0.00 total=2"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_pressure(line):
    with raises_naming(line):
        parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n" + line + "\n")


def test_empty():
    with pytest.raises(ParseError, match="empty"):
        parse_pressure("")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(
    ["some", "full", " ", "\n", "avg10=", "avg60=", "avg300=", "total=", "0.00", "1", "1.5", "-1", "\u0661.00"]),
    max_size=30).map("".join)))
def test_any_text_gives_a_record_or_parse_error(text):
    try:
        assert isinstance(parse_pressure(text), Pressure)
    except ParseError:
        pass
