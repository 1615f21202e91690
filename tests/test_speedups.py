"""The C accelerators give what the Python gives, or decline.

Each C function is compared with the Python code it stands in for (the
Python run with the accelerators switched off): on the real captures, where
it must not decline, on the edge cases the parsers' own tests use, and on
generated text and values (hypothesis), where it may decline (None, -1) but
never answer differently.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import parsers._common as pc
from carbon_client import lines, sampling, speedups
from parsers import ParseError
from parsers.diskstats import DiskStats, parse_diskstats
from parsers.loadavg import parse_loadavg
from parsers.meminfo import parse_meminfo
from parsers.net_dev import parse_net_dev_columns
from parsers.stat import parse_stat
from tests.conftest import REQUIRE_ALL, ROOT, pure, require
from tests.parsers.util import proc

try:
    from parsers import _speedups as P
except ImportError:
    P = None
try:
    from carbon_client import _speedups as E
except ImportError:
    E = None


@pytest.fixture(autouse=True)
def built():
    require(P is not None and E is not None,
            "C speedups not built (no C compiler when the package was installed)")
    speedups.enable()
    yield
    speedups.enable()


def python(fn, *args):
    """What the Python parser returns for these args, or the exception it raises."""
    with pure():
        try:
            return fn(*args)
        except ParseError as exc:
            return exc


def test_ci_builds_them():
    # CI runs with everything it needs: the extensions must have been compiled.
    assert speedups.built() and speedups.active()
    if REQUIRE_ALL:
        assert "on" in speedups.describe()


def test_switch_off_and_on():
    speedups.disable()
    assert not speedups.active() and pc.speedups is None and lines._fast is None and sampling._fast is None
    assert speedups.describe() == "C speedups off"
    speedups.enable()
    assert speedups.active()


def test_pure_python_environment_variable():
    env = dict(os.environ, CARBON_CLIENT_PURE_PYTHON="1")
    code = ("import sys; from carbon_client import cli, speedups; "
            "sys.argv=['carbon-client','once','--interval','1','--collectors','load']; cli.main(); "
            "print(speedups.describe())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "C speedups off"
    assert ".load.1m " in out.stdout


# -- parsers: the real captures, where C must answer --------------------------

NET_COLUMNS = (0, 8, 1, 9, 2, 10, 3, 11)


def captures(rel):
    texts = [proc(rel)]
    shared = ROOT.parent / "shared" / "fixtures" / "procfs" / rel
    if shared.exists():
        texts.append(shared.read_text(encoding="utf-8"))
    return texts


@pytest.mark.parametrize("text", captures("net/dev") + [proc("26231/net/dev")])
def test_net_dev_captures(text):
    for skip in ((), {"lo"}, ("eth0", "lo")):
        got = P.net_dev_columns(text, NET_COLUMNS, skip)
        assert got is not None
        assert got == python(parse_net_dev_columns, text, NET_COLUMNS, None, skip)
        assert parse_net_dev_columns(text, NET_COLUMNS, None, skip) == got


@pytest.mark.parametrize("text", captures("diskstats"))
def test_diskstats_captures(text):
    names = [ln.split()[2] for ln in text.splitlines() if ln.strip()]
    for skip in (None, set(), set(names[::2])):
        got = P.diskstats(text, DiskStats, skip)
        assert got is not None and all(type(d) is DiskStats for d in got)
        assert got == python(parse_diskstats, text, None, skip)
        assert [d._asdict() for d in got] == [d._asdict() for d in python(parse_diskstats, text, None, skip)]


@pytest.mark.parametrize("text", captures("meminfo"))
def test_meminfo_captures(text):
    from carbon_client.collectors.basic import MEMINFO_KEYS

    keys = MEMINFO_KEYS + ("HugePages_Total", "NoSuchKey")
    got = P.meminfo(text, keys)
    assert got is not None
    assert got == python(parse_meminfo, text, keys)
    assert list(got) == list(python(parse_meminfo, text, keys))


@pytest.mark.parametrize("text", captures("stat"))
def test_stat_captures(text):
    assert P.stat_totals(text) is not None
    assert parse_stat(text, per_cpu=False) == python(parse_stat, text, False)


@pytest.mark.parametrize("text", captures("loadavg"))
def test_loadavg_captures(text):
    assert P.loadavg(text) is not None
    assert parse_loadavg(text) == python(parse_loadavg, text)


# -- parsers: edge cases and generated text, where C may decline ---------------

NET_HEAD = ("Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
            "drop fifo colls carrier compressed\n")
NET_LINE = "{name}: {a} 2 3 4 5 6 7 8 {b} 10 11 12 13 14 15 16\n"

net_names = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=8)
numbers = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 10**25), st.just(-1))
junk = st.text(st.sampled_from(" \t\r\n:|0123456789-+_x\u00a0\u2028\u0661"), max_size=30)


@given(names=st.lists(net_names, max_size=5), nums=st.lists(numbers, min_size=10, max_size=10),
       extra=junk, skip=st.sets(net_names, max_size=2))
@example(names=["eth0"], nums=[1] * 10, extra="ibr10:30: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", skip=set())
@example(names=["lo"], nums=[1] * 10, extra="eth0:68210035552 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", skip=set())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_net_dev_generated(names, nums, extra, skip):
    text = NET_HEAD + "".join(NET_LINE.format(name=n, a=a, b=b) for n, a, b in zip(names, nums, nums[5:]))
    for t in (text, text + extra, text + extra + "\n", extra):
        got = P.net_dev_columns(t, NET_COLUMNS, skip)
        if got is not None:
            assert got == python(parse_net_dev_columns, t, NET_COLUMNS, None, skip)


disk_fields = st.lists(st.one_of(st.integers(0, 2**64 - 1), st.sampled_from(["x", "-1", "+1", "1_0", "9" * 25])),
                       min_size=11, max_size=17)


@given(rows=st.lists(st.tuples(st.sampled_from(["sda", "vda", "dm-0", "loop0", "nvme0n1"]), disk_fields), max_size=4),
       extra=junk, skip=st.one_of(st.none(), st.sets(st.sampled_from(["sda", "loop0"]))))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_diskstats_generated(rows, extra, skip):
    text = "".join(f"   8       0 {name} {' '.join(map(str, f))}\n" for name, f in rows)
    for t in (text, text + extra):
        got = P.diskstats(t, DiskStats, skip)
        if got is not None:
            assert got == python(parse_diskstats, t, None, skip)


@given(values=st.lists(st.one_of(st.integers(0, 2**64), st.text("0123456789 kBx\t", max_size=12)), min_size=3, max_size=3),
       extra=junk)
@example(values=["  1 kB", "2", "3 kB "], extra="")
@example(values=["1kB", "2", "3"], extra="")
@settings(max_examples=300)
def test_meminfo_generated(values, extra):
    keys = ("MemTotal", "MemFree", "Buffers")
    text = "".join(f"{k}:{v if isinstance(v, str) else f'  {v} kB'}\n" for k, v in zip(keys, values)) + extra
    got = P.meminfo(text, keys)
    if got is not None:
        assert got == python(parse_meminfo, text, keys)


@given(cpu=st.lists(st.integers(0, 2**64), min_size=2, max_size=12), extra=junk,
       scalars=st.lists(st.sampled_from(["ctxt 5", "processes 7", "intr 9 1 2", "btime x", "procs_running",
                                         "cpu0 1 2 3 4", "softirq 3 4"]), max_size=6))
@settings(max_examples=300)
def test_stat_generated(cpu, extra, scalars):
    text = "cpu  " + " ".join(map(str, cpu)) + "\n" + "\n".join(scalars) + "\n" + extra
    got = P.stat_totals(text)
    if got is not None:
        assert parse_stat(text, per_cpu=False) == python(parse_stat, text, False)


@given(text=st.one_of(
    st.tuples(st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0, 1e6), st.integers(0, 10**20),
              st.integers(0, 10**20)).map(lambda t: f"{t[0]:.2f} {t[1]} {t[2]:.0f} {t[3]}/{t[4]} 1234\n"),
    st.text(st.sampled_from("0123456789./ \n\tx"), max_size=30)))
@example(text="5. .5 0.0 1/2 3\n")
@example(text=". 1 1 1/2 3")
@settings(max_examples=300)
def test_loadavg_generated(text):
    got = P.loadavg(text)
    if got is not None:
        assert parse_loadavg(text) == python(parse_loadavg, text)


def test_declines_what_python_refuses():
    assert P.net_dev_columns(NET_HEAD + "eth0: 1 2\n", NET_COLUMNS, ()) is None
    assert P.diskstats("8 0 sda 1 2 3\n", DiskStats, None) is None
    assert P.meminfo("MemTotal: 12 MB\n", ("MemTotal",)) is None
    assert P.stat_totals("cpu 1 2 3 4\nctxt 1\n") is None  # no processes line
    assert P.loadavg("1 2 3 4 5") is None
    # Lone surrogates (a surrogateescape decoding of bad bytes): Python's to judge.
    assert P.net_dev_columns(NET_HEAD + "e\udcff: " + "1 " * 16, NET_COLUMNS, ()) is None


# -- rates ------------------------------------------------------------------------

num = st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none())


def py_rates(cur, prev, per_s):
    d = [a - b for a, b in zip(cur, prev)]
    if d and min(d) < 0:
        return None
    return [x * per_s for x in d]


@given(pairs=st.lists(st.tuples(num, num), max_size=6), per_s=st.floats(0.001, 1000))
@example(pairs=[(2**62, -2**62)], per_s=1.0)
@example(pairs=[(5, 3), (3, 5)], per_s=0.5)
@settings(max_examples=500)
def test_rates(pairs, per_s):
    cur, prev = [a for a, _ in pairs], [b for _, b in pairs]
    got = E.rates(cur, prev, per_s)
    if got is None:
        return  # declined, or a reset: the Python path decides
    assert got == py_rates(cur, prev, per_s)
    assert all(type(x) is float for x in got)


def test_rates_answer_for_counters():
    assert E.rates([10, 20, 2.5], [4, 20, 0.5], 0.5) == [3.0, 0.0, 1.0]
    assert E.rates([10, 19], [4, 20], 1.0) is None  # went backwards
    assert E.rates_rows([(10, 20), (1, 1), ()], [(4, 20), (2, 0), ()], 2.0) == [[12.0, 0.0], None, []]
    assert E.rates_rows([(1,)], [(1, 2)], 1.0) is None


@given(rows=st.lists(st.lists(st.tuples(st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1)), min_size=2, max_size=2),
                     max_size=5), per_s=st.floats(0.01, 100))
def test_rates_rows(rows, per_s):
    cur = [tuple(a for a, _ in r) for r in rows]
    prev = [tuple(b for _, b in r) for r in rows]
    got = E.rates_rows(cur, prev, per_s)
    assert got is not None
    assert got == [py_rates(c, p, per_s) for c, p in zip(cur, prev)]


# -- render -------------------------------------------------------------------------

def py_render(heads, values, slots, rates, ts):
    out = []
    for k, head in enumerate(heads):
        v = values[slots[k] if slots is not None else k]
        if v is None:
            continue
        out.append(f"{head}{format(v, '.12g') if rates[k] else str(v)} {ts}\n")
    return "".join(out), len(out)


values = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-2**80, 2**80), st.none(),
                   st.floats(), st.booleans(), st.text(max_size=2))


@given(vals=st.lists(st.tuples(values, st.booleans()), max_size=8), ts=st.integers(0, 2**40))
@example(vals=[(0.1, True), (1e16, True), (-0.0, False), (123456789012.5, True), (1e-7, True)], ts=60)
@settings(max_examples=500)
def test_render(vals, ts):
    heads = [f"h.g.i.k{i} " for i in range(len(vals))]
    values_ = [v for v, _ in vals]
    rates = bytes(int(r) for _, r in vals)
    for slots in (None, tuple(reversed(range(len(vals))))):
        out = []
        n = E.render(out, heads, values_, slots, rates, str(ts))
        if n < 0:
            assert out == []
            order = slots if slots is not None else range(len(vals))
            shown = [(values_[i], rates[k]) for k, i in enumerate(order) if values_[i] is not None]
            assert any(type(v) not in (int, float) or (type(v) is float and not math.isfinite(v))
                       or (type(v) is int and r) for v, r in shown)
            continue
        text, count = py_render(heads, values_, slots, rates, str(ts))
        assert n == count and "".join(out) == text


def test_formatter_same_bytes_with_and_without(tmp_path):
    """A whole cycle of every collector on the captures: the same lines either way."""
    from carbon_client.agent import Agent
    from carbon_client.config import build
    from tests.conftest import FIXTURES

    def run(on):
        (speedups.enable if on else speedups.disable)()
        import itertools

        times = itertools.count(100.0, 0.5)
        agent = Agent(build(None, {"proc_root": str(FIXTURES / "procfs"), "sys_root": str(tmp_path),
                                   "disks": "*", "nics": "*", "counters": "both", "hostname": "h"}),
                      health=False, monotonic=lambda: next(times))
        agent.cycle(60)
        return agent.cycle(120).data

    with_c, without = run(True), run(False)
    assert with_c == without and with_c.count(b"\n") > 50
