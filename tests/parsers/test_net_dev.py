"""/proc/net/dev: `<name>:` then 8 receive counters (bytes packets errs drop fifo
frame compressed multicast) and 8 transmit counters (bytes packets errs drop
fifo colls carrier compressed); net/core/net-procfs.c dev_seq_printf_stats.
"""

from __future__ import annotations

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers._common import excerpt
from carbon_client.parsers.net_dev import NetDev, parse_net_dev
from tests.parsers.util import HUGE, proc, raises_naming

HEADER = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
)

# A real capture with the awkward names: eth0 with no space after the colon,
# "ibr10:30" holding a colon, "flannel.1", "💩0" (prometheus/node_exporter
# collector/fixtures/proc/net/dev, commit 75561cb).
AWKWARD = HEADER + (
    "  tun0:    1888      24    0    0    0     0          0         0    67120     934    0    0    0     0       0          0\n"
    "veth4B09XN:     648       8    0    0    0     0          0         0  1943284   10640    0    0    0     0       0          0\n"
    "    lo: 435303245 1832522    0    0    0     0          0         0 435303245 1832522    0    0    0     0       0          0\n"
    "  eth0:68210035552 520993275    0    0    0     0          0         0 9315587528 43451486    0    0    0     0       0          0\n"
    "lxcbr0:       0       0    0    0    0     0          0         0  2630299   28339    0    0    0     0       0          0\n"
    " wlan0: 10437182923 13899359    0    0    0     0          0         0 2851649360 11726200    0    0    0     0       0          0\n"
    "docker0: 64910168 1065585    0    0    0     0          0         0 2681662018 1929779    0    0    0     0       0          0\n"
    "ibr10:30:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n"
    "flannel.1: 18144009813 228499337    0    0    0     0          0         0 20758990068 258369223    0   64    0     0       0          0\n"
    " \U0001f4a90: 57750104  105557    0    0    0     0          0        72 404570255  304261    0    0    0     0       0          0\n"
)


def nic(name: str, rx: tuple[int, ...] = (0,) * 8, tx: tuple[int, ...] = (0,) * 8) -> NetDev:
    return NetDev(name, *rx, *tx)


ZERO8 = (0,) * 8


def test_fixture_host():
    assert parse_net_dev(proc("net/dev")) == [
        # "vethf345468:     648       8    0 ... |      438       5    0 ..."
        nic("vethf345468", (648, 8, 0, 0, 0, 0, 0, 0), (438, 5, 0, 0, 0, 0, 0, 0)),
        nic("lo", (1664039048, 1566805, 0, 0, 0, 0, 0, 0), (1664039048, 1566805, 0, 0, 0, 0, 0, 0)),
        nic("docker0", (2568, 38, 0, 0, 0, 0, 0, 0), (438, 5, 0, 0, 0, 0, 0, 0)),
        # "  eth0: 874354587 1036395 0 0 0 0 0 0 563352563  732147 0 0 0 0 0 0"
        nic("eth0", (874354587, 1036395, 0, 0, 0, 0, 0, 0), (563352563, 732147, 0, 0, 0, 0, 0, 0)),
    ]


def test_fixture_eth0_fields_by_name():
    eth0 = {n.name: n for n in parse_net_dev(proc("net/dev"))}["eth0"]
    assert (eth0.rx_bytes, eth0.rx_packets, eth0.tx_bytes, eth0.tx_packets) == (
        874354587, 1036395, 563352563, 732147,
    )
    assert (eth0.rx_errs, eth0.rx_drop, eth0.tx_errs, eth0.tx_drop) == (0, 0, 0, 0)


def test_fixture_process_namespace():
    # /proc/<pid>/net/dev shows the process's network namespace.
    assert parse_net_dev(proc("26231/net/dev")) == [
        nic("lo"),
        nic("eth0", (438, 5, 0, 0, 0, 0, 0, 0), (648, 8, 0, 0, 0, 0, 0, 0)),
    ]


AWKWARD_EXPECTED = [
    nic("tun0", (1888, 24, 0, 0, 0, 0, 0, 0), (67120, 934, 0, 0, 0, 0, 0, 0)),
    nic("veth4B09XN", (648, 8, 0, 0, 0, 0, 0, 0), (1943284, 10640, 0, 0, 0, 0, 0, 0)),
    nic("lo", (435303245, 1832522, 0, 0, 0, 0, 0, 0), (435303245, 1832522, 0, 0, 0, 0, 0, 0)),
    nic("eth0", (68210035552, 520993275, 0, 0, 0, 0, 0, 0), (9315587528, 43451486, 0, 0, 0, 0, 0, 0)),
    nic("lxcbr0", ZERO8, (2630299, 28339, 0, 0, 0, 0, 0, 0)),
    nic("wlan0", (10437182923, 13899359, 0, 0, 0, 0, 0, 0), (2851649360, 11726200, 0, 0, 0, 0, 0, 0)),
    nic("docker0", (64910168, 1065585, 0, 0, 0, 0, 0, 0), (2681662018, 1929779, 0, 0, 0, 0, 0, 0)),
    nic("ibr10:30"),
    # tx: bytes packets errs drop=64 ...
    nic("flannel.1", (18144009813, 228499337, 0, 0, 0, 0, 0, 0), (20758990068, 258369223, 0, 64, 0, 0, 0, 0)),
    # rx: ... compressed=0 multicast=72
    nic("\U0001f4a90", (57750104, 105557, 0, 0, 0, 0, 0, 72), (404570255, 304261, 0, 0, 0, 0, 0, 0)),
]


@pytest.mark.parametrize("expected", AWKWARD_EXPECTED, ids=[n.name.encode("unicode_escape").decode() for n in AWKWARD_EXPECTED])
def test_awkward_names(expected):
    assert {n.name: n for n in parse_net_dev(AWKWARD)}[expected.name] == expected


def test_awkward_capture_whole():
    assert parse_net_dev(AWKWARD) == AWKWARD_EXPECTED


def test_flannel_drop_is_tx_drop():
    flannel = {n.name: n for n in parse_net_dev(AWKWARD)}["flannel.1"]
    assert (flannel.tx_drop, flannel.rx_drop, flannel.tx_errs, flannel.tx_fifo) == (64, 0, 0, 0)


COUNTERS = " ".join(str(i) for i in range(1, 17))
ONE_TO_16 = (tuple(range(1, 9)), tuple(range(9, 17)))

VALID = [
    ("empty file", "", []),
    ("headers only", HEADER, []),
    ("no headers", f"  eth0: {COUNTERS}\n", [nic("eth0", *ONE_TO_16)]),
    ("no space after colon", f"eth0:{COUNTERS}", [nic("eth0", *ONE_TO_16)]),
    ("colon in name: split at the last", f"ibr10:30:{COUNTERS}", [nic("ibr10:30", *ONE_TO_16)]),
    ("two colons in name", f"a:b:c: {COUNTERS}", [nic("a:b:c", *ONE_TO_16)]),
    ("pipe in name is not a header", f"a|b: {COUNTERS}", [nic("a|b", *ONE_TO_16)]),
    ("dotted VLAN name", f"eth0.100: {COUNTERS}", [nic("eth0.100", *ONE_TO_16)]),
    ("non-ASCII name", f"  \u00e9th0: {COUNTERS}", [nic("\u00e9th0", *ONE_TO_16)]),
    ("U+2028 in a name is not a line break", f"a\u2028b: {COUNTERS}", [nic("a\u2028b", *ONE_TO_16)]),
    ("U+0085 in a name is not a line break", f"  a\x85b: {COUNTERS}", [nic("a\x85b", *ONE_TO_16)]),
    ("counters beyond 64 bits are exact", f"eth0: {2**70} " + "0 " * 15, [nic("eth0", (2**70,) + (0,) * 7)]),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_net_dev(text) == expected


BAD_LINES = [
    ("no colon", f"eth0 {COUNTERS}"),
    ("empty name", f"   : {COUNTERS}"),
    ("15 counters", "eth0: " + " ".join(["1"] * 15)),
    ("17 counters", "eth0: " + " ".join(["1"] * 17)),
    ("name only", "eth0:"),
    ("garbage", "garbage"),
    ("counter not a number", "eth0: x " + " ".join(["1"] * 15)),
    ("non-ASCII digits", "eth0: \u0661\u0662\u0663 " + " ".join(["1"] * 15)),
    ("underscore", "eth0: 1_000 " + " ".join(["1"] * 15)),
    ("plus sign", "eth0: +5 " + " ".join(["1"] * 15)),
    ("negative", "eth0: -5 " + " ".join(["1"] * 15)),
    ("beyond int()'s digit limit", f"eth0: {HUGE} " + " ".join(["1"] * 15)),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_bad_line_raises_naming_it(line):
    with raises_naming(line):
        parse_net_dev(f"{HEADER}    lo: {COUNTERS}\n{line}\n  eth1: {COUNTERS}\n")


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_on_error_skips_only_the_bad_line(line):
    errors: list[ParseError] = []
    nics = parse_net_dev(f"{HEADER}    lo: {COUNTERS}\n{line}\n  eth1:{COUNTERS}\n", errors.append)
    assert nics == [nic("lo", *ONE_TO_16), nic("eth1", *ONE_TO_16)]
    assert len(errors) == 1
    assert isinstance(errors[0], ParseError) and excerpt(line) in str(errors[0])


def test_on_error_on_a_real_capture_with_one_line_damaged():
    lines = AWKWARD.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("  eth0:"))
    lines[at] = lines[at][:40]  # cut short mid-read
    errors: list[ParseError] = []
    nics = parse_net_dev("\n".join(lines), errors.append)
    assert nics == [n for n in AWKWARD_EXPECTED if n.name != "eth0"]
    assert len(errors) == 1 and excerpt(lines[at]) in str(errors[0])
