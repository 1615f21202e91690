"""Properties of every parser: any text gives a record or ParseError, never
another exception; valid lines built from random values parse back to exactly
those values."""

from __future__ import annotations

import string
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers.diskstats import DiskStats, parse_diskstats
from carbon_client.parsers.loadavg import LoadAvg, parse_loadavg
from carbon_client.parsers.meminfo import parse_meminfo
from carbon_client.parsers.mounts import Mount, parse_filesystems, parse_mounts
from carbon_client.parsers.net_dev import NetDev, parse_net_dev
from carbon_client.parsers.stat import Stat, parse_stat
from carbon_client.parsers.vmstat import parse_vmstat
from tests.parsers.test_mounts import FILESYSTEMS, MOUNTS
from tests.parsers.test_net_dev import AWKWARD as NET_DEV
from tests.parsers.test_vmstat import CAPTURE as VMSTAT
from tests.parsers.util import proc

SETTINGS = settings(max_examples=200, deadline=None)

# int() refuses more than 4300 digits; float() turns 309+ into inf.
BIG = "9" * 4301

BAD = st.sampled_from([
    "-1", "--1", "5-", "+5", "1_000", "1.5", ".", "", "\u0661\u0662", "\u00b2", "0x1f", "1e3",
    "nan", "inf", BIG, "x", ":", "|", "/", "1/", "1//2", "\\", "\\040", "\u2028",
])
NUMBERS = st.one_of(st.integers(0, 2**64).map(str), BAD)

WORDS = st.sampled_from([
    # tags and names the parsers look for
    "cpu", "cpu0", "cpu12", "intr", "ctxt", "btime", "processes", "procs_running", "procs_blocked",
    "softirq", "MemTotal", "MemTotal:", "Active(anon):", "HugePages_Total:", "kB", "pgpgin",
    "nr_dirty", "eth0", "eth0:", "lo:", "ibr10:30:", "flannel.1:", "sda", "dm-0", "nodev",
    "Inter-|", " face |", "proc", "/proc", "0.05", "1/497", "\\134",
    # separators
    " ", "  ", "\t", "\n", "\n", "\n", "\r", "\\",
    # line breaks and blanks that str.splitlines() / str.split() know beyond ASCII
    "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2028", "\u3000",
    # not ASCII digits
    "\u0661", "\u00b2", "\U0001f4a9",
])
TEXTS = st.one_of(st.text(), st.lists(st.one_of(NUMBERS, WORDS), max_size=60).map("".join))


def _mutate(draw, line: str) -> str:
    """``line`` with up to two tokens replaced by a bad one, dropped or doubled."""
    tokens = line.split()
    for _ in range(draw(st.integers(0, 2))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["bad", "drop", "double"]))
        if op == "bad":
            tokens[i] = draw(BAD)
        elif op == "drop":
            del tokens[i]
        else:
            tokens.insert(i, tokens[i])
    return draw(st.sampled_from([" ", "  ", "\t"])).join(tokens)


@st.composite
def damaged(draw, sample: str) -> str:
    """A real capture with a few lines damaged, dropped or doubled."""
    lines = sample.splitlines()
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["damage", "damage", "drop", "double"]))
        if op == "damage":
            lines[i] = _mutate(draw, lines[i])
        elif op == "drop" and len(lines) > 1:
            del lines[i]
        else:
            lines.insert(i, lines[i])
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


PARSERS = {
    "loadavg": (parse_loadavg, LoadAvg, proc("loadavg")),
    "meminfo": (parse_meminfo, dict, proc("meminfo")),
    "stat": (parse_stat, Stat, proc("stat")),
    "vmstat": (parse_vmstat, dict, VMSTAT),
    "diskstats": (parse_diskstats, list, proc("diskstats")),
    "net_dev": (parse_net_dev, list, NET_DEV),
    "mounts": (parse_mounts, list, MOUNTS),
    "filesystems": (parse_filesystems, dict, FILESYSTEMS),
}

# Lines a per-line parser looks at: each must become a record or one report.
LOOKED_AT = {
    "diskstats": lambda text: sum(1 for ln in text.splitlines() if ln.split()),
    "net_dev": lambda text: sum(
        1 for ln in text.split("\n") if ln.strip() and not ("|" in ln and ":" not in ln)
    ),
    "mounts": lambda text: sum(1 for ln in text.split("\n") if ln.strip()),
}


def _record_or_parse_error(name: str, text: str) -> None:
    parse, kind, _ = PARSERS[name]
    try:
        result = parse(text)
    except ParseError:
        pass
    else:
        assert isinstance(result, kind)
    if name == "vmstat":
        try:
            result = parse_vmstat(text, ["pgpgin", "nr_dirty", "oom_kill", "cpu", ""])
        except ParseError:
            pass
        else:
            assert isinstance(result, dict)
    if name in LOOKED_AT:
        # With on_error: never raises, and every line is accounted for.
        errors: list[ParseError] = []
        records = parse(text, errors.append)
        assert all(isinstance(e, ParseError) for e in errors)
        assert len(records) + len(errors) == LOOKED_AT[name](text)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_any_text_gives_record_or_parse_error(text):
    for name in PARSERS:
        _record_or_parse_error(name, text)


@pytest.mark.parametrize("name", list(PARSERS), ids=list(PARSERS))
@SETTINGS
@given(data=st.data())
def test_damaged_capture_gives_record_or_parse_error(name, data):
    _record_or_parse_error(name, data.draw(damaged(PARSERS[name][2])))


# Round trips ---------------------------------------------------------------

COUNTER = st.integers(0, 2**64 - 1)


def counters(n: int) -> st.SearchStrategy[tuple[int, ...]]:
    """``n`` unsigned 64-bit counters (one draw of bytes: far cheaper than n integers)."""
    return st.binary(min_size=8 * n, max_size=8 * n).map(lambda b: struct.unpack(f"<{n}Q", b))
PAD = st.sampled_from([" ", "  ", "   ", "\t", " \t"])
# Every character str.isspace() knows is in these categories (Cc: \t \n \x1c \x85...).
NOT_BLANK = st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))


@st.composite
def disk_line(draw):
    major, minor = draw(st.integers(0, 4095)), draw(st.integers(0, 2**20 - 1))
    name = draw(st.text(NOT_BLANK, min_size=1, max_size=12))
    n = draw(st.sampled_from([11, 15, 17]))
    stats = draw(counters(n))
    line = draw(st.sampled_from(["", " ", "   "])) + draw(PAD).join(
        [str(major), str(minor), name, *map(str, stats)]
    )
    return line, DiskStats(major, minor, name, *stats, *[0] * (17 - n), n + 3)


@SETTINGS
@given(st.lists(disk_line(), max_size=5), st.sampled_from(["", "\n"]))
def test_diskstats_round_trip(lines, end):
    text = "\n".join(line for line, _ in lines) + end
    assert parse_diskstats(text) == [rec for _, rec in lines]


# Anything but the ASCII blanks the kernel refuses in a name (dev_valid_name);
# ':' and '|' included, and U+0085 / U+2028 that str.splitlines() would break on.
NIC_CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\r\x0b\x0c")


@st.composite
def nic_line(draw):
    name = draw(st.text(NIC_CHAR, min_size=1, max_size=15))
    values = draw(counters(16))
    line = f"{name:>6}:" + draw(st.sampled_from(["", " "])) + draw(PAD).join(map(str, values))
    return line, NetDev(name, *values)


@SETTINGS
@given(st.lists(nic_line(), max_size=5), st.booleans())
def test_net_dev_round_trip(lines, header):
    text = (
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        if header else ""
    ) + "".join(line + "\n" for line, _ in lines)
    assert parse_net_dev(text) == [rec for _, rec in lines]


def _mangle(s: str) -> str:
    """What fs/proc_namespace.c does to a device or mount point."""
    return s.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012")


PATH = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
WORD = st.text(string.ascii_lowercase + string.digits + ".,=_-/:", min_size=1, max_size=12)


@SETTINGS
@given(st.lists(st.tuples(PATH, PATH, WORD, WORD), max_size=5))
def test_mounts_round_trip(mounts):
    text = "".join(f"{_mangle(d)} {_mangle(m)} {t} {o} 0 0\n" for d, m, t, o in mounts)
    assert parse_mounts(text) == [Mount(*m) for m in mounts]


def _identifier(first: str, rest: str) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(first), st.text(rest, max_size=16)).map("".join)


VMSTAT_NAME = _identifier(string.ascii_lowercase + "_", string.ascii_lowercase + string.digits + "_")


@SETTINGS
@given(st.dictionaries(VMSTAT_NAME, st.integers(-(2**63), 2**64), max_size=20), st.data())
def test_vmstat_round_trip(values, data):
    text = "".join(f"{k} {v}\n" for k, v in values.items())
    if values:
        assert parse_vmstat(text) == values
    keys = data.draw(st.lists(st.one_of(st.sampled_from(sorted(values) or ["pgpgin"]), VMSTAT_NAME), max_size=6))
    assert parse_vmstat(text, keys) == {k: values[k] for k in keys if k in values}


MEMINFO_KEY = _identifier(string.ascii_letters + "_", string.ascii_letters + string.digits + "_()")


@SETTINGS
@given(st.dictionaries(MEMINFO_KEY, st.tuples(st.integers(0, 2**64), st.booleans()), min_size=1, max_size=20),
       st.sampled_from(["", " ", "   ", "\t"]))
def test_meminfo_round_trip(values, pad):
    text = "".join(f"{k}:{pad}{v}{' kB' if kb else ''}\n" for k, (v, kb) in values.items())
    assert parse_meminfo(text) == {k: v * 1024 if kb else v for k, (v, kb) in values.items()}


@SETTINGS
@given(st.lists(st.integers(0, 99999), min_size=3, max_size=3),
       st.integers(0, 2**31), st.integers(0, 2**31), st.integers(0, 2**22))
def test_loadavg_round_trip(centi, running, total, pid):
    # fs/proc/loadavg.c: "%lu.%02lu" for each load
    loads = [f"{x // 100}.{x % 100:02d}" for x in centi]
    la = parse_loadavg(f"{' '.join(loads)} {running}/{total} {pid}\n")
    assert la == LoadAvg(centi[0] / 100, centi[1] / 100, centi[2] / 100, running, total, pid)


STAT_KEYS = ("intr", "ctxt", "btime", "processes", "procs_running", "procs_blocked", "softirq")


@SETTINGS
@given(st.lists(st.lists(COUNTER, min_size=4, max_size=10), min_size=1, max_size=5),
       st.lists(COUNTER, min_size=7, max_size=7))
def test_stat_round_trip(rows, scalars):
    names = ["cpu"] + [f"cpu{i}" for i in range(len(rows) - 1)]
    text = "".join(
        f"{n}{'  ' if n == 'cpu' else ' '}{' '.join(map(str, r))}\n" for n, r in zip(names, rows)
    ) + "".join(
        f"{k} {v} 0 1 2\n" if k in ("intr", "softirq") else f"{k} {v}\n" for k, v in zip(STAT_KEYS, scalars)
    )
    got = parse_stat(text)
    padded = [tuple(r) + (0,) * (10 - len(r)) for r in rows]
    assert tuple(got.cpu) == padded[0]
    assert {n: tuple(t) for n, t in got.cpus.items()} == dict(zip(names[1:], padded[1:]))
    assert [getattr(got, k) for k in STAT_KEYS] == scalars
