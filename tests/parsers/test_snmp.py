"""/proc/net/snmp, /proc/net/netstat (net/ipv4/proc.c) and /proc/net/snmp6 (net/ipv6/proc.c);
../shared/formats/wave2.md section 3.1-3.2: header/values pairs mapped by name, snmp6 one
``Name<spaces>\\tvalue`` line per counter."""

from __future__ import annotations

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers.snmp import SnmpTable, parse_snmp, parse_snmp6
from tests.parsers.util import HUGE, raises_naming, wave2


def tables(text: str, **kw) -> dict[str, dict[str, int]]:
    return {t.name: dict(zip(t.fields, t.values)) for t in parse_snmp(text, **kw)}


# Fields per table, counted on the header lines of each capture (wave2.md's table agrees).
COLUMNS = [
    ("2.6.32", "procfs-pcp-2.6.32/proc/net/snmp",
     {"Ip": 19, "Icmp": 26, "IcmpMsg": 4, "Tcp": 14, "Udp": 6, "UdpLite": 6}),
    ("3.19: +InCsumErrors, IgnoredMulti", "procfs-pcp-3.19.0/proc/net/snmp",
     {"Ip": 19, "Icmp": 27, "IcmpMsg": 9, "Tcp": 15, "Udp": 8, "UdpLite": 8}),
    ("5.14.0", "procfs-pcp-5.14.0-columns-only/proc/net/snmp",
     {"Ip": 19, "Icmp": 29, "IcmpMsg": 1, "Tcp": 15, "Udp": 9, "UdpLite": 9}),
    ("5.14.7: +MemErrors", "procfs-pcp-5.14.7-columns-only/proc/net/snmp",
     {"Ip": 19, "Icmp": 27, "IcmpMsg": 7, "Tcp": 15, "Udp": 9, "UdpLite": 9}),
    ("sysstat", "procfs-sysstat-root1/proc/net/snmp",
     {"Ip": 19, "Icmp": 27, "IcmpMsg": 1, "Tcp": 15, "Udp": 8, "UdpLite": 8}),
    ("6.18: +Ip OutTransmits, Icmp OutRateLimit*", "procfs-live-vm618/proc/net/snmp",
     {"Ip": 20, "Icmp": 29, "IcmpMsg": 1, "Tcp": 15, "Udp": 9, "UdpLite": 9}),
    ("netstat 4.15.14", "procfs-pcp-4.15.14/proc/net/netstat", {"TcpExt": 111, "IpExt": 17}),
    ("netstat 6.18", "procfs-live-vm618/proc/net/netstat", {"TcpExt": 135, "IpExt": 18, "MPTcpExt": 76}),
    ("netstat newer", "procfs-pcp-netstat-columns-only/proc/net/netstat",
     {"TcpExt": 145, "IpExt": 18, "MPTcpExt": 77}),
]


@pytest.mark.parametrize("rel, counts", [c[1:] for c in COLUMNS], ids=[c[0] for c in COLUMNS])
def test_column_sets(rel, counts):
    got = parse_snmp(wave2(rel))
    assert {t.name: len(t.fields) for t in got} == counts
    assert all(len(t.fields) == len(t.values) for t in got)


def test_live_snmp_values_by_name():
    t = tables(wave2("procfs-live-vm618/proc/net/snmp"))
    # "Tcp: 1 200 120000 -1 13800 12909 612 144 0 153677 151643 338 0 996 0"
    assert t["Tcp"] == {
        "RtoAlgorithm": 1, "RtoMin": 200, "RtoMax": 120000, "MaxConn": -1, "ActiveOpens": 13800,
        "PassiveOpens": 12909, "AttemptFails": 612, "EstabResets": 144, "CurrEstab": 0, "InSegs": 153677,
        "OutSegs": 151643, "RetransSegs": 338, "InErrs": 0, "OutRsts": 996, "InCsumErrors": 0,
    }
    # Ip: Forwarding 1, DefaultTTL 64, InReceives 154218 ... OutTransmits (the 20th) 147145
    assert (t["Ip"]["Forwarding"], t["Ip"]["DefaultTTL"], t["Ip"]["OutTransmits"]) == (1, 64, 147145)
    assert t["IcmpMsg"] == {"InType3": 1}
    assert t["Udp"]["InDatagrams"] == 570 and t["Udp"]["OutDatagrams"] == 574


def test_old_kernel_values_by_name():
    t = tables(wave2("procfs-pcp-2.6.32/proc/net/snmp"))
    # "Tcp: 1 200 120000 -1 718 137 4 456 10 118656 137778 773 0 42": no InCsumErrors on 2.6.32
    assert t["Tcp"]["RetransSegs"] == 773 and t["Tcp"]["CurrEstab"] == 10 and "InCsumErrors" not in t["Tcp"]
    assert t["IcmpMsg"] == {"InType0": 1, "InType3": 3114, "OutType3": 3038, "OutType8": 6}


def test_netstat_values_by_name():
    t = tables(wave2("procfs-pcp-4.15.14/proc/net/netstat"))
    # TcpExt fields 19 and 20 of that header, and IpExt InOctets/OutOctets (7th and 8th)
    assert (t["TcpExt"]["ListenOverflows"], t["TcpExt"]["ListenDrops"]) == (90, 90)
    assert (t["TcpExt"]["TCPTimeouts"], t["TcpExt"]["TCPAbortOnData"]) == (64657, 464093)
    assert (t["IpExt"]["InOctets"], t["IpExt"]["OutOctets"]) == (22188625234, 7294871942)
    live = tables(wave2("procfs-live-vm618/proc/net/netstat"))
    assert (live["TcpExt"]["ListenDrops"], live["TcpExt"]["TW"]) == (38, 13030)


def test_pick_converts_only_what_is_asked():
    seen = []

    def pick(table, fields):
        seen.append((table, len(fields)))
        return tuple(i for i, f in enumerate(fields) if f in ("RetransSegs", "CurrEstab")) if table == "Tcp" else ()

    got = parse_snmp(wave2("procfs-live-vm618/proc/net/snmp"), pick=pick)
    assert got == [SnmpTable("Tcp", ("CurrEstab", "RetransSegs"), (0, 338))]
    assert seen == [("Ip", 20), ("Icmp", 29), ("IcmpMsg", 1), ("Tcp", 15), ("Udp", 9), ("UdpLite", 9)]
    # A value nobody asked for is not looked at: the "x" among Ip's values goes unnoticed.
    text = "Ip: Forwarding DefaultTTL\nIp: 1 x\nTcp: CurrEstab\nTcp: 3\n"
    assert parse_snmp(text, pick=lambda t, f: (0,) if t == "Tcp" else ()) == [SnmpTable("Tcp", ("CurrEstab",), (3,))]


VALID = [
    ("empty", "", {}),
    ("one pair, no final newline", "Udp: InDatagrams NoPorts\nUdp: 5 0", {"Udp": {"InDatagrams": 5, "NoPorts": 0}}),
    ("blank lines between pairs", "\nIp: Forwarding\n\nIp: 2\n\n", {"Ip": {"Forwarding": 2}}),
    ("tabs and runs of spaces", "Tcp:\tMaxConn  CurrEstab \nTcp:  -1\t7 ", {"Tcp": {"MaxConn": -1, "CurrEstab": 7}}),
    ("64-bit counters", "IpExt: InOctets\nIpExt: 18446744073709551615\n", {"IpExt": {"InOctets": 2**64 - 1}}),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert tables(text) == expected


BAD = [
    ("values line missing", "Tcp: RtoMin RtoMax\n", "Tcp: RtoMin RtoMax"),
    ("too few values", "Tcp: RtoMin RtoMax\nTcp: 200\n", "Tcp: 200"),
    ("too many values", "Tcp: RtoMin RtoMax\nTcp: 200 1 2\n", "Tcp: 200 1 2"),
    ("values of another table", "Tcp: RtoMin\nUdp: 200\n", "Tcp: RtoMin"),
    ("two headers", "Tcp: RtoMin\nTcp: RtoMax\nTcp: 1\n", "Tcp: RtoMin"),
    ("values without a header", "Tcp: 200 1\n", "Tcp: 200 1"),
    ("garbage", "hello world\n", "hello world"),
    ("no colon", "Tcp RtoMin\nTcp 200\n", "Tcp RtoMin"),
    ("a name with a dot", "Tcp: Rto.Min\nTcp: 1\n", "Tcp: Rto.Min"),
    ("fractional value", "Tcp: RtoMin\nTcp: 1.5\n", "Tcp: 1.5"),
    ("plus sign", "Tcp: RtoMin\nTcp: +5\n", "Tcp: +5"),
    ("underscore in a number", "Tcp: RtoMin\nTcp: 1_000\n", "Tcp: 1_000"),
    ("non-ASCII digits", "Tcp: RtoMin\nTcp: \u0661\n", "Tcp: \u0661"),
    ("beyond int()'s digit limit", f"Tcp: RtoMin\nTcp: {HUGE}\n", f"Tcp: {HUGE}"),
]


@pytest.mark.parametrize("text, line", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(text, line):
    with raises_naming(line):
        parse_snmp(text)


def test_a_bad_pair_costs_that_pair_only():
    text = "Ip: Forwarding\nIp: 1\nTcp: RtoMin RtoMax\nTcp: 200\nUdp: NoPorts\nUdp: 4\n"
    errors: list[ParseError] = []
    assert [t.name for t in parse_snmp(text, errors.append)] == ["Ip", "Udp"]
    assert len(errors) == 1 and "'Tcp: 200'" in str(errors[0])


# -- snmp6 ---------------------------------------------------------------------------------

# Lines per table prefix, counted with awk on each capture.
COLUMNS6 = [
    ("2.6.32", "procfs-pcp-2.6.32/proc/net/snmp6", {"Ip6": 28, "Icmp6": 37, "Udp6": 4, "UdpLite6": 4}),
    ("3.19.0", "procfs-pcp-3.19.0/proc/net/snmp6", {"Ip6": 32, "Icmp6": 41, "Udp6": 8, "UdpLite6": 7}),
    ("5.14.7", "procfs-pcp-5.14.7-columns-only/proc/net/snmp6", {"Ip6": 32, "Icmp6": 44, "Udp6": 9, "UdpLite6": 8}),
    ("sysstat", "procfs-sysstat-root1/proc/net/snmp6", {"Ip6": 32, "Icmp6": 42, "Udp6": 8, "UdpLite6": 7}),
    ("6.18", "procfs-live-vm618/proc/net/snmp6", {"Ip6": 33, "Icmp6": 40, "Udp6": 9, "UdpLite6": 8}),
]


@pytest.mark.parametrize("rel, counts", [c[1:] for c in COLUMNS6], ids=[c[0] for c in COLUMNS6])
def test_snmp6_name_sets(rel, counts):
    assert {t.name: len(t.fields) for t in parse_snmp6(wave2(rel))} == counts


def test_snmp6_values_by_name():
    t = {x.name: dict(zip(x.fields, x.values)) for x in parse_snmp6(wave2("procfs-sysstat-root1/proc/net/snmp6"))}
    # "Ip6InReceives 10228", "Ip6InOctets 16813785", "Ip6OutOctets 1352237", "Udp6InDatagrams 671"
    assert t["Ip6"]["InReceives"] == 10228
    assert (t["Ip6"]["InOctets"], t["Ip6"]["OutOctets"]) == (16813785, 1352237)
    assert (t["Udp6"]["InDatagrams"], t["Udp6"]["OutDatagrams"]) == (671, 36)


def test_snmp6_pick():
    got = parse_snmp6("Ip6InOctets\t5\nIp6OutOctets\t6\nUdp6NoPorts\t1\n",
                      pick=lambda t, f: (1,) if t == "Ip6" else ())
    assert got == [SnmpTable("Ip6", ("OutOctets",), (6,))]


BAD6 = [
    ("no value", "Ip6InReceives\n", "Ip6InReceives"),
    ("two values", "Ip6InReceives 1 2\n", "Ip6InReceives 1 2"),
    ("no 6 in the name", "IpInReceives 1\n", "IpInReceives 1"),
    ("nothing after the 6", "Ip6 1\n", "Ip6 1"),
    ("negative", "Ip6InReceives -1\n", "Ip6InReceives -1"),
    ("garbage", "hello world\n", "hello world"),
    ("punctuation in the name", "Ip6In.Receives 1\n", "Ip6In.Receives 1"),
]


@pytest.mark.parametrize("text, line", [b[1:] for b in BAD6], ids=[b[0] for b in BAD6])
def test_snmp6_bad(text, line):
    with raises_naming(line):
        parse_snmp6(text)
    errors: list[ParseError] = []
    assert parse_snmp6("Udp6NoPorts\t3\n" + text, errors.append) == [SnmpTable("Udp6", ("NoPorts",), (3,))]
    assert len(errors) == 1
