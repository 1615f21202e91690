"""The C engine (Sampler.update_lines): a group's rates, metrics, aggregate and lines in one call.

Everything it returns is compared with what the Python engine and renderer
(run with the accelerators switched off) make of the same readings: values
with their types, the lines byte for byte. Where it declines (None) the
general path runs on the state it left, so the comparisons run over whole
sequences of cycles: instances coming and going, resets, None fields, ints
beyond 64 bits, expressions dividing by zero.
"""

from __future__ import annotations

import itertools
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon_client import speedups
from carbon_client.lines import LineFormatter
from carbon_client.metrics import Collector, counter, derived, gauge
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from tests.conftest import FIXTURES, pure, require

try:
    from carbon_client import _speedups as E
except ImportError:
    E = None


@pytest.fixture(autouse=True)
def built():
    require(E is not None, "C speedups not built (no C compiler when the package was installed)")
    speedups.enable()
    yield
    speedups.enable()


class Dev(Collector):
    """Every kind of metric and every construct a derived expression may use."""

    name = group = "dev"
    aggregate = "total"
    fields = ("ops", "bytes_", "depth", "load", "busy_ms")
    counters = frozenset(("ops", "bytes_", "busy_ms"))
    metrics = (
        counter("ops", "1/s", "operations"),
        counter("bytes", "B/s", "bytes", field="bytes_", scale=512),
        gauge("depth", "", "queue depth"),
        gauge("depth_k", "", "queue depth / 1000", field="depth", scale=0.001),
        gauge("load", "", "a float gauge"),
        derived("per_op", "B", "bytes per op", "bytes / ops if ops > 0 else 0.0"),
        derived("busy", "%", "busy", "min(100.0, busy_ms * 0.1)", agg="max"),
        derived("ratio", "", "ints divided, None on 0", "depth / (depth - 1)"),
        derived("per_busy", "", "floats divided, None on 0", "ops / busy_ms"),
        derived("both", "", "int arithmetic", "depth * depth - -depth + 0.5 if depth else None"),
        derived("whole", "", "an int where a rate is due: Python renders it", "depth + 1", send=False),
        derived("peak", "", "max and comparisons", "max(ops, bytes) if ops <= bytes else -ops"),
        derived("mixed", "", "an int against a float", "load if depth >= load else depth / 2"),
        derived("helper", "", "not sent", "ops + 1", send=False),
        derived("from_helper", "", "a metric from a helper", "helper * 2 if helper < 10 else helper"),
    )

    def __init__(self):
        super().__init__(source=None)
        self.members = None


def twin():
    layout = DefaultLayout("h")
    return (Dev(), LineFormatter(layout)), (Dev(), LineFormatter(layout))


def cycle_c(collector, sampler, fmt, raw, t, ts):
    plans, make = fmt.context("dev", sampler)
    got = sampler.update_lines(raw, t, str(ts), plans, make)
    fused = got is not None
    if got is None:
        got = sampler.update(raw, t)
    out: list = []
    n = fmt.render("dev", sampler, got, ts, out)
    return got, "".join(out), n, fused


def cycle_py(sampler, fmt, raw, t, ts):
    with pure():
        got = sampler.update(raw, t)
        out: list = []
        n = fmt.render("dev", sampler, got, ts, out)
    return got, "".join(out), n


def typed(values: dict) -> dict:
    return {k: [(type(x), x) for x in v] for k, v in values.items()}


def test_steady_cycles_are_made_in_c_and_match():
    (ca, fa), (cb, fb) = twin()
    sa, sb = Sampler(ca), Sampler(cb)
    ca.members = cb.members = {"a", "b"}
    fused = []
    for k in range(4):
        raw = {"a": (10 * k, 700 * k, 3, 0.5, 90 * k), "b": (k, 3 * k, 0, 2.25, 30 * k), "c": (5 * k, k, 1, 0.0, k)}
        a, ta, na, f = cycle_c(ca, sa, fa, raw, 10.0 + 1.5 * k, 60 + k)
        b, tb, nb = cycle_py(sb, fb, raw, 10.0 + 1.5 * k, 60 + k)
        fused.append(f)
        assert ta == tb and na == nb
        assert typed(a.values) == typed(b.values)
        assert set(a.schemas) == set(b.schemas)
    assert fused == [False, True, True, True]  # the first sample has no rates: Python's
    assert "h.dev.total.busy 6 " in ta  # the busiest member's (a: 6, b: 2), not a sum
    assert "helper" not in ta.replace("from_helper", "")


def test_declines_and_leaves_the_state_to_python():
    (ca, fa), _ = twin()
    s = Sampler(ca)
    cycle_c(ca, s, fa, {"a": (1, 1, 1, 1.0, 1)}, 1.0, 1)
    plans, make = fa.context("dev", s)
    assert s.update_lines({"a": (0, 1, 1, 1.0, 1)}, 2.0, "2", plans, make) is None  # reset
    assert s.update_lines({"b": (2, 2, 1, 1.0, 1)}, 2.0, "2", plans, make) is None  # other instances
    assert s.update_lines({"a": (2, 2, 1, 1.0, 1)}, 1.0, "2", plans, make) is None  # no time passed
    assert s.update_lines({"a": (2, 2, 1, 1.0, 1)}, 2.0, "2", plans, make) is not None
    s.want_totals = True
    assert s.update_lines({"a": (3, 3, 1, 1.0, 1)}, 3.0, "3", plans, make) is None
    s.want_totals = False
    with pure():
        assert s.update_lines({"a": (3, 3, 1, 1.0, 1)}, 3.0, "3", plans, make) is None


def test_an_instance_named_like_the_aggregate_goes_to_python():
    (ca, fa), (cb, fb) = twin()
    sa, sb = Sampler(ca), Sampler(cb)
    for k in range(3):
        raw = {"total": (k, k, 1, 1.0, k), "a": (2 * k, k, 1, 1.0, k)}
        a, ta, _, f = cycle_c(ca, sa, fa, raw, float(k), k)
        b, tb, _ = cycle_py(sb, fb, raw, float(k), k)
        assert not f and ta == tb and typed(a.values) == typed(b.values)


def test_unsupported_expressions_leave_the_schema_to_python():
    class Odd(Dev):
        metrics = Dev.metrics + (derived("rounded", "", "round()", "round(ops)"),)

    assert Sampler(Odd()).compiled(Odd.default_schema()).program is None
    assert Sampler(Dev()).compiled(Dev.default_schema()).program is not None


def test_inconsistent_programs_are_refused():
    schema = Dev.default_schema()
    with pytest.raises(ValueError):
        E.Program(schema, 2, [5], [], [], [], [])  # a counter outside the fields
    with pytest.raises(ValueError):
        E.Program(schema, 2, [0], [(2, 0, 1.0, 0, 1)], [3, 7], [], [])  # a constant that is not there
    with pytest.raises(ValueError):
        E.Program(schema, 2, [0], [(2, 0, 1.0, 0, 1)], [0, 0], [], [])  # a metric not yet computed
    with pytest.raises(ValueError):
        E.Program(schema, 2, [0], [(2, 0, 1.0, 0, 2)], [1, 0, 16, 0], [], [])  # a jump backwards


def test_a_program_that_would_underflow_its_stack_declines():
    (c, fmt), _ = twin()
    s = Sampler(c)
    s.update({"a": (1, 1, 1, 1.0, 1)}, 0.0)
    add_nothing = E.Program(Dev.default_schema(), 5, [0], [(2, 0, 1.0, 0, 1)], [4, 0], [], [])
    plans, make = fmt.context("dev", s)
    assert add_nothing.run({"a": (2, 1, 1, 1.0, 1)}, s._prev_keys, s._prev_curs, 1.0, "1", plans, make,
                           None, None) is None


def mostly(usual, *rare):
    """``usual`` nine times in ten, else one of ``rare``."""
    return st.integers(0, 9).flatmap(lambda k: usual if k else st.one_of(*rare))


COUNTS = mostly(st.integers(0, 1000), st.integers(0, 2**64), st.none(), st.floats(0, 1e6))
GAUGES = mostly(st.integers(-3, 3), st.integers(-2**70, 2**70), st.none(), st.floats(-5, 5))
NAMES = mostly(st.sampled_from(["a", "b", "c", "sdb"]), st.just("total"))
STEPS = mostly(st.integers(0, 50), st.integers(-5, 50), st.floats(0, 100))


@st.composite
def cycles(draw):
    """Raw readings over several cycles: mostly growing counters of stable instances."""
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    state = {n: [draw(COUNTS), draw(COUNTS), draw(GAUGES), draw(GAUGES), draw(COUNTS)] for n in names}
    out = []
    t = 0.0
    for _ in range(draw(st.integers(2, 6))):
        if draw(st.integers(0, 9)) == 0:  # an instance comes or goes
            n = draw(NAMES)
            if n in state and len(state) > 1:
                del state[n]
            else:
                state[n] = [0, 0, 0, 0.0, 0]
        for v in state.values():
            for i in (0, 1, 4):
                step = draw(STEPS)
                v[i] = None if v[i] is None else v[i] + step
            v[2] = draw(GAUGES)
            v[3] = draw(GAUGES)
        t += draw(mostly(st.sampled_from([0.5, 1.0, 3.0]), st.just(0.0), st.just(1e-9)))
        members = draw(st.one_of(st.none(), st.sets(st.sampled_from(["a", "b", "c", "sdb", "total"]))))
        out.append(({n: tuple(v) for n, v in state.items()}, t, members))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cycles())
def test_same_values_and_lines_as_python_on_generated_cycles(seq):
    (ca, fa), (cb, fb) = twin()
    sa, sb = Sampler(ca), Sampler(cb)
    for ts, (raw, t, members) in enumerate(seq, 100):
        ca.members = cb.members = members
        try:
            b, tb, nb = cycle_py(sb, fb, raw, t, ts)
        except (TypeError, ValueError, OverflowError) as exc:
            # What Python refuses (a None counter, an inf to render) the C must not accept.
            with pytest.raises(type(exc)):
                cycle_c(ca, sa, fa, raw, t, ts)
            return
        a, ta, na, _ = cycle_c(ca, sa, fa, raw, t, ts)
        assert ta == tb and na == nb
        assert typed(a.values) == typed(b.values)


def test_a_whole_agent_on_growing_captures(tmp_path):
    """Every collector on the real captures, counters grown between cycles: the same
    bytes with the C engine as without, and the single-schema groups made in C."""
    from carbon_client.agent import Agent
    from carbon_client.config import build

    root = tmp_path / "proc"
    shutil.copytree(FIXTURES / "procfs", root)
    grown = ("diskstats", "net/dev", "stat")
    original = {name: (root / name).read_text() for name in grown}

    def grow(name, text, k):
        """Every counter of the capture k * (its column + 1) higher."""
        lines = []
        for line in text.splitlines():
            head, sep, rest = line.rpartition(":") if name == "net/dev" else ("", "", line)
            words = rest.split(" ")
            if name == "stat" and line.startswith(("procs_", "btime")):
                lines.append(line)
                continue
            lines.append(head + sep + " ".join(
                str(int(w) + k * (i + 1)) if w.isdigit() and not (name == "diskstats" and i < 3) else w
                for i, w in enumerate(words)))
        return "\n".join(lines) + "\n"

    def run(on):
        (speedups.enable if on else speedups.disable)()
        times = itertools.count(100.0, 0.5)
        agent = Agent(build(None, {"proc_root": str(root), "sys_root": str(tmp_path),
                                   "disks": "*", "nics": "*", "hostname": "h"}),
                      health=False, monotonic=lambda: next(times))
        out = []
        for k in range(3):
            for name in grown:  # in place: the agent keeps the files open
                with open(root / name, "w") as f:
                    f.write(grow(name, original[name], k))
            r = agent.cycle(60 + k)
            out.append(r.data)
        agent.source.close()
        return out, sorted(c.name for c, _, s in r.groups if s.text is not None)

    with_c, fused = run(True)
    without, none = run(False)
    speedups.enable()
    assert with_c == without
    assert with_c[2].count(b"\n") > 100 and with_c[2] != with_c[1]
    assert none == []
    assert {"cpu", "disk", "load", "memory", "system"} <= set(fused)
