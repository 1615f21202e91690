"""/proc/uptime (fs/proc/uptime.c): seconds since boot and the idle seconds of all CPUs summed."""

from __future__ import annotations

import pytest

from carbon_client.parsers.uptime import Uptime, parse_uptime
from tests.parsers.util import HUGE, raises_naming, wave2


def test_captures():
    # 2 CPUs: the summed idle time exceeds the uptime
    assert parse_uptime(wave2("procfs-live-vm618/proc/uptime")) == Uptime(2265.38, 3794.89)
    assert parse_uptime(wave2("procfs-sysstat-root1/proc/uptime")) == Uptime(7192.55, 29212.05)


def test_valid():
    assert parse_uptime("0.50 0.00") == Uptime(0.5, 0.0)
    assert parse_uptime(" 12 34 \n") == Uptime(12.0, 34.0)


BAD = [
    ("empty", ""), ("one value", "2265.38\n"), ("three values", "1.00 2.00 3.00\n"), ("garbage", "up 3 days\n"),
    ("negative", "-1.00 2.00\n"), ("exponent", "1e3 2.00\n"), ("nan", "nan 2.00\n"), ("two dots", "1.0.0 2.00\n"),
    ("non-ASCII digits", "\u0661.00 2.00\n"), ("beyond a float", f"{HUGE}.00 2.00\n"),
]


@pytest.mark.parametrize("text", [b[1] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(text):
    with raises_naming(text):
        parse_uptime(text)
