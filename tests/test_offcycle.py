"""Every collector on its own clock; the ones that can block off the host cycle.

A collector due at tick ts (ts a multiple of its interval) is read then and
its lines stamped ts. A blocking one runs on a worker thread: the /proc
groups keep every tick however long it takes; its late result is dropped
and counted; while it runs it is skipped (no second read, no thread growth).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from carbon_client.agent import Agent
from carbon_client.config import Config, build
from carbon_client.metrics import Collector, Unavailable, gauge
from tests.conftest import FIXTURES


class Lines:
    def __init__(self):
        self.data = []
        self.lock = threading.Lock()

    def put(self, data, lines):
        with self.lock:
            self.data.append(data.decode())

    def health(self):
        return (0,) * 8

    def lines(self):
        with self.lock:
            return "".join(self.data).splitlines()


def settle(agent, deadline=10.0):
    t0 = time.monotonic()
    while any(s.busy for s in agent.slots):
        assert time.monotonic() - t0 < deadline
        time.sleep(0.01)
    agent.flush()


class Slow(Collector):
    """A blocking collector whose read takes ``delay`` seconds (or waits for ``gate``)."""

    name = group = "slow"
    blocking = True
    fields = ("v",)
    metrics = (gauge("v", "", "a value"),)

    def __init__(self, delay=0.0, gate=None, fail=False):
        super().__init__(source=None)
        self.delay, self.gate, self.fail = delay, gate, fail
        self.reads = 0
        self.running = 0
        self.most = 0

    def probe(self):
        return None

    def read(self):
        self.reads += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            if self.gate is not None:
                self.gate.wait(30)
            time.sleep(self.delay)
            if self.fail:
                raise Unavailable("gone")
            return {None: (self.reads,)}
        finally:
            self.running -= 1


def agent(collector=None, **over):
    values = {"proc_root": str(FIXTURES / "procfs"), "sys_root": str(FIXTURES), "hostname": "h",
              "collectors": "load", "interval": 1, **over}
    config = build(None, values)
    a = Agent(config, sender=Lines(), health=False)
    if collector is not None:
        slot = a._slot(collector)
        slot.timeout = over.get("command_timeout", config.command_timeout)
        a.slots.append(slot)
        from carbon_client.workers import Workers
        a.workers = a.workers or Workers(2)
    return a


def test_per_collector_intervals_stamp_multiples_of_their_own_interval():
    a = Agent(build(None, {"proc_root": str(FIXTURES / "procfs"), "sys_root": str(FIXTURES), "hostname": "h",
                           "collectors": "load,memory", "interval": 10, "intervals": {"memory": "30s"}}),
              health=False)
    stamps = {"load": [], "memory": []}
    for ts in range(100, 200, 10):
        text = a.cycle(ts).data.decode()
        for g in stamps:
            if f"h.{g}." in text:
                assert all(line.endswith(f" {ts}") for line in text.splitlines() if f"h.{g}." in line)
                stamps[g].append(ts)
    assert stamps["load"] == list(range(100, 200, 10))
    assert stamps["memory"] == [120, 150, 180]


def test_an_interval_that_is_not_a_multiple_of_the_agent_s_is_refused():
    from carbon_client.config import ConfigError

    with pytest.raises(ConfigError, match=r"intervals\.memory: 15s is not a multiple of interval \(10s\)"):
        build(None, {"interval": 10, "intervals": {"memory": "15s"}})
    with pytest.raises(ConfigError, match="intervals.nosuch"):
        build(None, {"intervals": {"nosuch": 10}})


def test_a_slow_collector_never_delays_the_host_cycle_and_its_lines_keep_their_tick():
    slow = Slow(delay=0.5)
    a = agent(slow)
    for ts in range(100, 104):
        t0 = time.monotonic()
        assert "h.load.1m 0.02 %d" % ts in a.cycle(ts).data.decode()
        assert time.monotonic() - t0 < 0.3
        time.sleep(0.2)
    settle(a)
    stamps = [line.split()[2] for line in a.sender.lines() if line.startswith("h.slow.v ")]
    assert stamps and set(stamps) <= {"100", "101", "102", "103"}
    slot = a.slots[-1]
    assert slot.skipped >= 1 and slow.most == 1  # busy: skipped, never read twice at once


def test_a_hung_collector_is_skipped_and_counted_not_queued():
    gate = threading.Event()
    hung = Slow(gate=gate)
    a = agent(hung, command_timeout=0.2)
    for ts in range(100, 110):
        assert "h.load.1m" in a.cycle(ts).data.decode()
        time.sleep(0.05)
    slot = a.slots[-1]
    assert hung.reads == 1 and slot.skipped == 9
    assert slot.timeouts == 1  # counted once, when it overran its timeout
    gate.set()
    settle(a)
    assert not [line for line in a.sender.lines() if line.startswith("h.slow.")]  # late: dropped
    a.cycle(110)
    settle(a)
    assert "h.slow.v 2 110" in a.sender.lines()


def test_a_collector_that_fails_off_the_cycle_is_disabled_and_the_others_go_on():
    a = agent(Slow(fail=True))
    a.cycle(100)
    settle(a)
    assert "slow" not in a.enabled and a.unavailable()["slow"] == "gone"
    assert "h.load.1m 0.02 101" in a.cycle(101).data.decode()


def test_a_hung_collector_delays_the_others_of_its_batch_by_one_tick_at_most():
    gate = threading.Event()
    gate.set()
    hung = Slow(gate=gate)

    class Other(Slow):
        name = group = "other"

    other = Other()
    a = agent(hung, command_timeout=0.2)
    slot = a._slot(other)
    slot.timeout = 0.2
    a.slots.append(slot)  # after the other one: behind it in the tick's batch
    try:
        for ts in range(100, 108):
            if ts == 102:
                gate.clear()  # quick at 100 and 101, so in one batch from 101; hangs from 102
            a.cycle(ts)
            time.sleep(0.1)
        a.flush()
        stamps = sorted(int(line.split()[2]) for line in a.sender.lines() if line.startswith("h.other.v "))
        # Tick 102's read waited behind the hung one until tick 103 handed it to another
        # thread (it keeps its stamp); tick 103 was skipped meanwhile; then every tick.
        assert stamps[:4] == [100, 101, 102, 104] and stamps[-1] >= 106, stamps
        assert other.most == 1 and hung.reads == 3
        assert a.workers.threads == 2  # never more than its size
    finally:
        gate.set()
        settle(a)


def test_one_thread_takes_a_tick_s_batch():
    from carbon_client.workers import Workers

    w = Workers(4)
    seen, done = [], threading.Event()
    w.submit([*(lambda i=i: seen.append((i, threading.current_thread().name)) for i in range(3)), done.set])
    assert done.wait(5)
    assert [i for i, _ in seen] == [0, 1, 2] and len({name for _, name in seen}) == 1
    for _ in range(5):  # a batch a tick, each one's jobs returning: the one warm thread takes them all
        time.sleep(0.05)
        done.clear()
        w.submit([done.set])
        assert done.wait(5)
    assert w.threads == 1
    w.close()


def test_no_new_thread_under_a_task_limit_the_started_ones_take_the_work(monkeypatch, caplog):
    from carbon_client.workers import Workers

    w = Workers(4)  # starts its first thread
    real = threading.Thread.start

    def refuse(thread):
        if thread.name.startswith("collector-"):
            raise RuntimeError("can't start new thread")
        real(thread)

    monkeypatch.setattr(threading.Thread, "start", refuse)
    gate, done = threading.Event(), threading.Event()
    w.submit(alone=[gate.wait, done.set])  # two batches, one thread: the second waits its turn
    assert "no thread for the collectors that can block" in caplog.text
    assert w.threads == 1 and not done.wait(0.2)
    gate.set()
    assert done.wait(5)
    w.close()


def test_a_failed_write_still_hands_the_blocking_reads_to_the_workers():
    # The reads marked busy at a tick go to the workers after the tick's write: a write that
    # raises must not leave them marked busy and never run (skipped for ever after).
    slow = Slow()
    a = agent(slow)

    def broken(data, lines):
        raise RuntimeError("a sender bug")

    a.sender.put = broken
    with pytest.raises(RuntimeError):
        a.cycle(100)
    del a.sender.put
    settle(a)
    assert slow.reads == 1
    a.cycle(101)
    settle(a)
    assert slow.reads == 2 and a.slots[-1].skipped == 0
    a.close()


def health_stamps(a, ticks):
    return [ts for ts in ticks if "h.carbon_client.buffered " in a.cycle(ts).data.decode()]


def test_the_health_group_every_10_s_or_as_configured():
    base = {"proc_root": str(FIXTURES / "procfs"), "sys_root": str(FIXTURES), "hostname": "h",
            "collectors": "load"}
    every_1 = Agent(build(None, {**base, "interval": 1}), sender=Lines(), workers=0)
    assert health_stamps(every_1, range(95, 125)) == [100, 110, 120]
    every_3 = Agent(build(None, {**base, "interval": 3}), sender=Lines(), workers=0)
    assert health_stamps(every_3, range(90, 130, 3)) == [96, 108, 120], "the first multiple of 3 s from 10 s"
    every_30 = Agent(build(None, {**base, "interval": 30}), sender=Lines(), workers=0)
    assert health_stamps(every_30, range(30, 150, 30)) == [30, 60, 90, 120]
    asked = Agent(build(None, {**base, "interval": 1, "intervals": {"agent": "2s"}}), sender=Lines(), workers=0)
    assert health_stamps(asked, range(100, 106)) == [100, 102, 104]
    shown = Agent(build(None, {**base, "interval": 1}), sender=Lines(), workers=0, health_every_tick=True)
    assert health_stamps(shown, range(100, 104)) == [100, 101, 102, 103]


def test_cycle_ms_is_the_longest_cycle_since_the_last_report():
    t = [0.0]
    a = Agent(build(None, {"proc_root": str(FIXTURES / "procfs"), "sys_root": str(FIXTURES), "hostname": "h",
                           "collectors": "load", "interval": 1}), sender=Lines(), workers=0,
              monotonic=lambda: t[0])
    slow = {105: 0.25, 112: 0.05}  # seconds the cycle at that tick takes
    load = a.slots[0].collector
    read = load.read

    def slow_read():
        t[0] += slow.get(tick, 0.0)
        return read()

    load.read = slow_read
    got = {}
    for tick in range(100, 121):
        for line in a.cycle(tick).data.decode().splitlines():
            if line.startswith("h.carbon_client.cycle_ms "):
                got[tick] = float(line.split()[1])
    assert got == pytest.approx({100: 0.0, 110: 250.0, 120: 50.0})
