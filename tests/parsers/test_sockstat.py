"""/proc/net/sockstat and sockstat6 (net/ipv4/proc.c, net/ipv6/proc.c; ../shared/formats/wave2.md 3.3):
``PROTO: name value ...`` per line, all gauges, ``mem`` in pages."""

from __future__ import annotations

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers.sockstat import SockstatLine, parse_sockstat
from tests.parsers.util import HUGE, raises_naming, wave2

CAPTURES = [
    ("live 6.18", "procfs-live-vm618/proc/net/sockstat", [
        SockstatLine("sockets", ("used",), (11,)),
        SockstatLine("TCP", ("inuse", "orphan", "tw", "alloc", "mem"), (1, 0, 43, 1, 21)),
        SockstatLine("UDP", ("inuse", "mem"), (0, 0)),
        SockstatLine("UDPLITE", ("inuse",), (0,)),
        SockstatLine("RAW", ("inuse",), (0,)),
        SockstatLine("FRAG", ("inuse", "memory"), (0, 0)),
    ]),
    ("pcp", "procfs-pcp-sockstat/proc/net/sockstat", [
        SockstatLine("sockets", ("used",), (1866,)),
        SockstatLine("TCP", ("inuse", "orphan", "tw", "alloc", "mem"), (74, 9, 0, 86, 13)),
        SockstatLine("UDP", ("inuse", "mem"), (15, 17)),
        SockstatLine("UDPLITE", ("inuse",), (0,)),
        SockstatLine("RAW", ("inuse",), (0,)),
        SockstatLine("FRAG", ("inuse", "memory"), (0, 0)),
    ]),
    ("pcp v6", "procfs-pcp-sockstat/proc/net/sockstat6", [
        SockstatLine("TCP6", ("inuse",), (10,)),
        SockstatLine("UDP6", ("inuse",), (10,)),
        SockstatLine("UDPLITE6", ("inuse",), (0,)),
        SockstatLine("RAW6", ("inuse",), (1,)),
        SockstatLine("FRAG6", ("inuse", "memory"), (0, 0)),
    ]),
    ("sysstat", "procfs-sysstat-root1/proc/net/sockstat", [
        SockstatLine("sockets", ("used",), (1316,)),
        SockstatLine("TCP", ("inuse", "orphan", "tw", "alloc", "mem"), (10, 0, 1, 14, 2)),
        SockstatLine("UDP", ("inuse", "mem"), (6, 7)),
        SockstatLine("UDPLITE", ("inuse",), (0,)),
        SockstatLine("RAW", ("inuse",), (0,)),
        SockstatLine("FRAG", ("inuse", "memory"), (0, 0)),
    ]),
]


@pytest.mark.parametrize("rel, expected", [c[1:] for c in CAPTURES], ids=[c[0] for c in CAPTURES])
def test_captures(rel, expected):
    assert parse_sockstat(wave2(rel)) == expected


VALID = [
    ("empty", "", []),
    ("blank lines, no final newline", "\nRAW6: inuse 1", [SockstatLine("RAW6", ("inuse",), (1,))]),
    ("a later kernel's protocol", "MPTCP: inuse 2\n", [SockstatLine("MPTCP", ("inuse",), (2,))]),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_sockstat(text) == expected


BAD = [
    ("no pairs", "TCP:\n", "TCP:"),
    ("too few fields", "TCP: inuse 1 orphan\n", "TCP: inuse 1 orphan"),
    ("no colon", "TCP inuse 1\n", "TCP inuse 1"),
    ("garbage", "hello world\n", "hello world"),
    ("a value for a name", "TCP: inuse used\n", "TCP: inuse used"),
    ("a number for a name", "TCP: 1 1\n", "TCP: 1 1"),
    ("negative", "TCP: inuse -1\n", "TCP: inuse -1"),
    ("punctuation in the protocol", "T.CP: inuse 1\n", "T.CP: inuse 1"),
    ("beyond int()'s digit limit", f"TCP: inuse {HUGE}\n", f"TCP: inuse {HUGE}"),
]


@pytest.mark.parametrize("text, line", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(text, line):
    with raises_naming(line):
        parse_sockstat(text)
    errors: list[ParseError] = []
    assert parse_sockstat("RAW: inuse 2\n" + text, errors.append) == [SockstatLine("RAW", ("inuse",), (2,))]
    assert len(errors) == 1
