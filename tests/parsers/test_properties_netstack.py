"""Properties of the pressure, netstat, sockstat, softnet, conntrack, kernel and process-state
parsers: any text gives a record or ParseError, never another exception (with ``on_error``:
never an exception, every looked-at line a record or one report); valid text built from
random values parses back to exactly those values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers.conntrack import parse_conntrack_stat
from carbon_client.parsers.cpu_list import parse_cpu_list
from carbon_client.parsers.pid_state import parse_pid_state
from carbon_client.parsers.pressure import Pressure, PressureLine, parse_pressure
from carbon_client.parsers.snmp import SnmpTable, parse_snmp, parse_snmp6
from carbon_client.parsers.sockstat import parse_sockstat
from carbon_client.parsers.softnet import SoftnetRow, parse_softnet
from carbon_client.parsers.sysctl import parse_file_nr, parse_sysctl_int
from carbon_client.parsers.uptime import parse_uptime
from tests.parsers.test_properties import BAD, COUNTER, TEXTS, damaged, counters
from tests.parsers.util import wave2

SETTINGS = settings(max_examples=200, deadline=None)

WORDS = st.sampled_from([
    "some", "full", "avg10=", "avg60=", "avg300=", "total=", "=", "0.00", "12.34", "Tcp:", "Ip:", "TcpExt:",
    "RtoMin", "MaxConn", "-1", "Ip6InOctets", "Udp6", "6", "TCP:", "sockets:", "inuse", "mem", "00000000",
    "0000ffff", "0x1f", "entries", "drop", "(", ")", "(bash)", "S", "R", "0-3", ",", "-", "\t", " ", "\n",
])
TEXT = st.one_of(TEXTS, st.lists(st.one_of(WORDS, st.integers(-5, 2**64).map(str), BAD), max_size=80).map(" ".join),
                 st.lists(st.one_of(WORDS, st.integers(0, 99).map(str)), max_size=80).map("".join))

PARSERS = {
    "pressure": (parse_pressure, wave2("procfs-pcp-psi-cpusome/proc/pressure/memory")),
    "snmp": (parse_snmp, wave2("procfs-live-vm618/proc/net/snmp")),
    "netstat": (parse_snmp, wave2("procfs-pcp-4.15.14/proc/net/netstat")),
    "snmp6": (parse_snmp6, wave2("procfs-live-vm618/proc/net/snmp6")),
    "sockstat": (parse_sockstat, wave2("procfs-pcp-sockstat/proc/net/sockstat")),
    "softnet": (parse_softnet, wave2("procfs-sysstat-root1/proc/net/softnet_stat")),
    "conntrack": (parse_conntrack_stat, wave2("procfs-live-vm618/proc/net/stat/nf_conntrack")),
    "sysctl_int": (parse_sysctl_int, "262144\n"),
    "file_nr": (parse_file_nr, wave2("procfs-live-vm618/proc/sys/fs/file-nr")),
    "uptime": (parse_uptime, wave2("procfs-live-vm618/proc/uptime")),
    "cpu_list": (parse_cpu_list, "0-3,5,7-8\n"),
    "pid_state": (parse_pid_state, wave2("procfs-live-vm618/proc/8683/stat")),
}
# Parsers that skip a bad line with on_error: lines they look at.
LOOKED_AT = {
    "snmp6": lambda text: sum(1 for ln in text.split("\n") if ln.split()),
    "sockstat": lambda text: sum(1 for ln in text.split("\n") if ln.strip()),
    "softnet": lambda text: sum(1 for ln in text.split("\n") if ln.split()),
}


def _record_or_parse_error(name: str, text: str) -> None:
    parse, _ = PARSERS[name]
    try:
        parse(text)
    except ParseError:
        pass
    if name in LOOKED_AT:
        errors: list[ParseError] = []
        records = parse(text, errors.append)
        assert all(isinstance(e, ParseError) for e in errors)
        if name == "snmp6":
            assert sum(len(t.fields) for t in records) + len(errors) == LOOKED_AT[name](text)
        else:
            assert len(records) + len(errors) == LOOKED_AT[name](text)
    if name in ("snmp", "netstat"):
        errors = []
        parse_snmp(text, errors.append)
        parse_snmp(text, errors.append, pick=lambda t, f: tuple(range(0, len(f), 2)))
        assert all(isinstance(e, ParseError) for e in errors)


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_any_text_gives_record_or_parse_error(text):
    for name in PARSERS:
        _record_or_parse_error(name, text)


@pytest.mark.parametrize("name", list(PARSERS), ids=list(PARSERS))
@SETTINGS
@given(data=st.data())
def test_damaged_capture_gives_record_or_parse_error(name, data):
    _record_or_parse_error(name, data.draw(damaged(PARSERS[name][1])))


# Round trips -------------------------------------------------------------------------------

CENTI = st.integers(0, 10000)  # psi_show: "%lu.%02lu" of a percentage


@SETTINGS
@given(st.dictionaries(st.sampled_from(["some", "full"]), st.tuples(CENTI, CENTI, CENTI, COUNTER), min_size=1))
def test_pressure_round_trip(lines):
    text = "".join(f"{k} avg10={a // 100}.{a % 100:02d} avg60={b // 100}.{b % 100:02d} "
                   f"avg300={c // 100}.{c % 100:02d} total={t}\n" for k, (a, b, c, t) in lines.items())
    expected = {k: PressureLine(a / 100, b / 100, c / 100, t) for k, (a, b, c, t) in lines.items()}
    assert parse_pressure(text) == Pressure(expected.get("some"), expected.get("full"))


NAME = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12).filter(
    lambda s: s[0].isalpha())


@st.composite
def snmp_table(draw):
    fields = draw(st.lists(NAME, min_size=1, max_size=20, unique=True))
    values = draw(st.lists(st.integers(-(2**63), 2**64 - 1), min_size=len(fields), max_size=len(fields)))
    return SnmpTable(draw(NAME), tuple(fields), tuple(values))


@SETTINGS
@given(st.lists(snmp_table(), max_size=6), st.data())
def test_snmp_round_trip(tables, data):
    text = "".join(f"{t.name}: {' '.join(t.fields)}\n{t.name}: {' '.join(map(str, t.values))}\n" for t in tables)
    assert parse_snmp(text) == tables
    keep = data.draw(st.sets(st.integers(0, 19)))
    picked = parse_snmp(text, pick=lambda name, f: tuple(i for i in range(len(f)) if i in keep))
    want = [SnmpTable(t.name, tuple(f for i, f in enumerate(t.fields) if i in keep),
                      tuple(v for i, v in enumerate(t.values) if i in keep)) for t in tables]
    assert picked == [t for t in want if t.fields]


@SETTINGS
@given(st.lists(st.tuples(counters(3), st.integers(9, 15)), max_size=8))
def test_softnet_round_trip(rows):
    # %08x of 32-bit counters; the CPU id column from 13 columns on
    rows = [(tuple(v % 2**32 for v in vals), n) for vals, n in rows]
    text = "".join(" ".join(f"{v:08x}" for v in (*vals, *[0] * 9, cpu, 0, 0)[:n]) + "\n"
                   if n >= 13 else " ".join(f"{v:08x}" for v in (*vals, *[0] * (n - 3))) + "\n"
                   for cpu, (vals, n) in enumerate(rows))
    got = parse_softnet(text)
    assert [(r.cpu, r.processed, r.dropped, r.time_squeeze) for r in got] == [
        (i, *vals) for i, (vals, _) in enumerate(rows)]
    assert all(isinstance(r, SoftnetRow) for r in got)


@st.composite
def snmp6_lines(draw):
    tables = draw(st.lists(st.sampled_from(["Ip6", "Icmp6", "Udp6", "UdpLite6"]), min_size=1, max_size=4, unique=True))
    lines = []
    for t in tables:
        for f in draw(st.lists(NAME, min_size=1, max_size=8, unique=True)):
            lines.append((t, f, draw(COUNTER)))
    return lines


@SETTINGS
@given(snmp6_lines(), st.sampled_from(["", "\n"]), st.booleans(), st.data())
def test_snmp6_round_trip(lines, end, blank, data):
    # printf("%-32s\t%lu\n"); a blank line sends the parse down its line-by-line path
    text = "".join(f"{t + f:<32}\t{v}\n" for t, f, v in lines).rstrip("\n") + end + ("\n\n" if blank else "")
    expected: dict[str, list] = {}
    for t, f, v in lines:
        expected.setdefault(t, []).append((f, v))
    assert parse_snmp6(text) == [SnmpTable(t, tuple(f for f, _ in fv), tuple(v for _, v in fv))
                                 for t, fv in expected.items()]
    keep = data.draw(st.sets(st.integers(0, 7)))
    picked = parse_snmp6(text, pick=lambda t, f: tuple(i for i in range(len(f)) if i in keep))
    assert picked == [SnmpTable(t, tuple(f for i, (f, _) in enumerate(fv) if i in keep),
                                tuple(v for i, (_, v) in enumerate(fv) if i in keep))
                      for t, fv in expected.items() if keep & set(range(len(fv)))]
