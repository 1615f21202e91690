"""The health lines made straight from the counters (health.py) are the rate engine's, byte for byte.

The reference is the general path every other group takes: AgentHealth and
CollectorHealth through Sampler and LineFormatter. Both see the same raw values
at the same times, over cycles with first samples, counters going backwards,
collectors appearing and vanishing, and no time elapsed.
"""

from __future__ import annotations

import logging
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client import health
from carbon_client.agent import Agent
from carbon_client.collectors.agent import AgentHealth, CollectorHealth
from carbon_client.config import build
from carbon_client.health import HealthLines
from carbon_client.lines import LineFormatter
from carbon_client.naming import DefaultLayout, LegacyLayout
from carbon_client.sampling import Sampler


class Reference:
    """The health groups the general way."""

    def __init__(self, layout) -> None:
        self.agent = Sampler(AgentHealth(None))
        self.collectors = Sampler(CollectorHealth(None))
        self.formatter = LineFormatter(layout)

    def render(self, agent, names, flat, t, ts) -> tuple[list, int]:
        out: list[str] = []
        n = self.formatter.render("carbon_client", self.agent, self.agent.update({None: tuple(agent)}, t), ts, out)
        raw = {name: tuple(flat[i * 3:i * 3 + 3]) for i, name in enumerate(names)}
        n += self.formatter.render("carbon_client", self.collectors, self.collectors.update(raw, t), ts, out)
        return out, n


def lean_render(lines: HealthLines, agent, names, flat, t, ts) -> tuple[list, int]:
    out: list[str] = []
    n = lines.render(tuple(agent), tuple(names), list(flat), t, ts, out)
    return out, n


def agent_tuple(sent=100, dropped=0, resent=0, reconnects=1, buffered=0, spooled=0, connected=1,
                destination=1, cycle_ms=0.61, skipped=0, cpu=1.25, rss=21_000_000):
    return (sent, dropped, resent, reconnects, buffered, spooled, connected, destination, cycle_ms,
            skipped, cpu, rss)


def same(cycles, layout=None) -> int:
    """Feed both; assert the same bytes and counts every cycle; return the lines of the last."""
    layout = layout or DefaultLayout("h")
    ref, lean = Reference(layout), HealthLines(layout, "rate")
    assert lean.usable
    n = 0
    for agent, names, flat, t, ts in cycles:
        a, na = ref.render(agent, names, flat, t, ts)
        b, n = lean_render(lean, agent, names, flat, t, ts)
        assert "".join(b) == "".join(a)
        assert n == na
    return n


def test_first_cycle_has_gauges_then_rates_follow():
    names = ("load", "cpu")
    flat = [0.1, 1, 0, 0.2, 1, 0]
    first = same([(agent_tuple(), names, flat, 10.0, 60)])
    assert first == 6 + 4  # agent gauges (buffered...rss) and each collector's two gauges
    second = same([(agent_tuple(), names, flat, 10.0, 60),
                   (agent_tuple(sent=300, cpu=1.5), names, [0.2, 1, 0, 0.3, 0, 2], 12.0, 62)])
    assert second == 12 + 6


def test_lines_are_the_expected_text():
    lean = HealthLines(DefaultLayout("h"), "rate")
    lean_render(lean, agent_tuple(sent=100, cpu=1.0), ("disk",), [0.5, 1, 0], 10.0, 60)
    out, n = lean_render(lean, agent_tuple(sent=300, cpu=1.5), ("disk",), [0.25, 0, 3], 12.0, 62)
    lines = "".join(out).splitlines()
    assert "h.carbon_client.sent 100 62" in lines  # (300 - 100) lines / 2 s
    assert "h.carbon_client.cpu_percent 25 62" in lines  # 0.5 s of CPU in 2 s
    assert "h.carbon_client.rss_bytes 21000000 62" in lines
    assert "h.carbon_client.disk.errors 1.5 62" in lines
    assert "h.carbon_client.disk.success 0 62" in lines
    assert "h.carbon_client.disk.duration_ms 0.25 62" in lines
    assert n == len(lines) == 12 + 3


def test_counter_going_backwards_and_collectors_coming_and_going():
    same([
        (agent_tuple(sent=500), ("load", "cpu"), [0.1, 1, 0, 0.2, 1, 0], 0.0, 0),
        (agent_tuple(sent=100), ("load", "cpu"), [0.1, 1, 0, 0.2, 1, 0], 1.0, 1),  # new sender
        (agent_tuple(sent=200), ("load", "cpu"), [0.1, 1, 5, 0.2, 1, 2], 2.0, 2),
        (agent_tuple(sent=300), ("load", "cpu", "nfs"), [0.1, 1, 5, 0.2, 1, 1, 3.0, 0, 9], 3.0, 3),
        (agent_tuple(sent=400), ("load", "nfs"), [0.1, 1, 6, 3.0, 0, 10], 4.0, 4),
        (agent_tuple(sent=500), ("load", "nfs"), [0.1, 1, 6, 3.0, 0, 10], 4.0, 5),  # no time elapsed
        (agent_tuple(sent=600), ("load", "nfs"), [0.1, 1, 6, 3.0, 0, 10], 5.0, 6),
    ])


def test_legacy_layout_and_raw_counters_go_the_general_way():
    assert not HealthLines(LegacyLayout("h"), "rate").usable
    assert not HealthLines(DefaultLayout("h"), "both").usable
    assert not HealthLines(DefaultLayout("h"), "raw").usable
    assert HealthLines(DefaultLayout("h", "pfx"), "rate").usable


_counter = st.integers(min_value=0, max_value=2**40)
_gauge = st.one_of(st.integers(min_value=0, max_value=2**40),
                   st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
_cycle = st.tuples(
    st.tuples(_counter, _counter, _counter, _counter, _gauge, _gauge, st.integers(0, 1), st.integers(0, 3),
              _gauge, _counter, st.floats(min_value=0, max_value=1e6, allow_nan=False), _gauge),
    st.lists(st.sampled_from(["load", "cpu", "disk", "net", "nfs"]), unique=True, max_size=5),
    st.floats(min_value=0, max_value=5, allow_nan=False),  # time step (0: none elapsed)
    st.lists(st.tuples(_gauge, st.integers(0, 1), _counter), min_size=5, max_size=5),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_cycle, min_size=1, max_size=6))
def test_same_bytes_as_the_rate_engine_on_generated_cycles(cycles):
    t = 100.0
    fed = []
    for ts, (agent, names, step, per) in enumerate(cycles):
        t += step
        flat = [x for row in per[:len(names)] for x in row]
        fed.append((agent, tuple(names), flat, t, 60 + ts))
    same(fed)


def test_the_agent_sends_the_same_health_lines_either_way(tmp_path):
    """A whole agent: its health lines with and without HealthLines, same values, same bytes."""
    (tmp_path / "loadavg").write_text("0.52 0.58 0.59 2/480 12345\n")
    now = [50.0]
    config = build(None, {"proc_root": str(tmp_path), "collectors": "load", "hostname": "h"})

    class Sender:
        sent = 0

        def health(self):
            return (self.sent, 0, 0, 1, 0, 0, 1, 1)

        def put(self, data, n):
            self.sent += n

    def lines(lean: bool) -> list[str]:
        now[0] = 50.0
        agent = Agent(config, sender=Sender(), monotonic=lambda: now[0])
        agent.health_slots[0].collector.values = lambda: (*agent._agent_stats(), 2.5, 1000)
        if not lean:
            agent._health = None
        got = []
        for ts in (60, 70, 80):
            got.append(agent.cycle(ts).data.decode())
            now[0] += 10.0
        return got

    lean, general = lines(True), lines(False)
    assert lean == general
    # The first cycle sent 3 load lines and the 8 gauges of health (no rates yet): 11 in 10 s.
    assert "h.carbon_client.sent 1.1 70\n" in lean[1]
    assert "h.carbon_client.load.success 1 80\n" in lean[2]


def test_a_failure_falls_back_to_the_general_way(tmp_path, caplog, monkeypatch):
    (tmp_path / "loadavg").write_text("0.52 0.58 0.59 2/480 12345\n")
    config = build(None, {"proc_root": str(tmp_path), "collectors": "load", "hostname": "h"})
    agent = Agent(config, sender=None)
    assert agent._health is not None

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(agent._health, "render", broken)
    with caplog.at_level(logging.ERROR, logger="carbon_client"):
        first = agent.cycle(60).data.decode()
    assert agent._health is None
    assert "health lines failed" in caplog.text
    assert "h.carbon_client.rss_bytes " in first and "h.load.1m 0.52 60" in first
    time.sleep(0.01)
    assert "h.carbon_client.load.success 1 70" in agent.cycle(70).data.decode()


def test_without_the_c_renderer_the_same_lines(monkeypatch):
    monkeypatch.setattr(health, "_fast", None)
    test_counter_going_backwards_and_collectors_coming_and_going()
