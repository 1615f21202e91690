"""Ticks on interval boundaries with a fake wall clock: exact multiples, no drift, skips."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from carbon_client.scheduler import Scheduler, StopFlag


class FakeClock:
    """Wall time that advances only when the scheduler waits or a tick works."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.waits: list[float] = []

    def wall(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def run(interval, start, work, ticks):
    clock = FakeClock(start)
    stamps = []
    stop = threading.Event()

    def tick(ts):
        stamps.append((ts, clock.now))
        clock.now += work(len(stamps))
        if len(stamps) >= ticks:
            stop.set()

    sched = Scheduler(interval, tick, wall=clock.wall, wait=clock.wait)
    sched.run(stop)
    return sched, stamps


def test_timestamps_are_exact_multiples_and_do_not_drift():
    sched, stamps = run(10, 1000.3, lambda n: 0.37, ticks=50)
    assert [ts for ts, _ in stamps] == list(range(1010, 1010 + 500, 10))
    # every tick fires at its boundary, however long the cycles took
    assert all(abs(at - ts) < 1e-6 for ts, at in stamps)
    assert sched.skipped == 0


def test_a_slow_cycle_skips_ticks_instead_of_bunching():
    # the third cycle takes 25 s of a 10 s interval
    sched, stamps = run(10, 995.0, lambda n: 25.0 if n == 3 else 0.1, ticks=6)
    ts = [t for t, _ in stamps]
    assert ts == [1000, 1010, 1020, 1050, 1060, 1070]
    assert sched.skipped == 2
    assert all(b - a >= 10 for a, b in zip(ts, ts[1:]))


def test_waking_early_never_repeats_a_timestamp():
    clock = FakeClock(99.0)
    stamps = []
    stop = threading.Event()

    def early_wait(seconds):
        clock.now += seconds - 0.0005  # the wall clock lags the monotonic sleep
        return False

    def tick(ts):
        stamps.append(ts)
        if len(stamps) == 5:
            stop.set()

    Scheduler(1, tick, wall=clock.wall, wait=early_wait).run(stop)
    assert stamps == [100, 101, 102, 103, 104]


def test_stop_interrupts_the_wait():
    stop = threading.Event()
    stop.set()
    called = []
    Scheduler(10, called.append).run(stop)
    assert called == []


def test_interval_must_be_positive():
    with pytest.raises(ValueError):
        Scheduler(0, lambda ts: None)


def test_stop_flag_times_out_unset():
    flag = StopFlag()
    t0 = time.monotonic()
    assert flag.wait(0.2) is False
    assert time.monotonic() - t0 >= 0.19
    assert not flag.is_set()
    assert flag.wait(0) is False


def test_stop_flag_set_from_another_thread_wakes_the_wait():
    flag = StopFlag()
    threading.Timer(0.1, flag.set).start()
    t0 = time.monotonic()
    assert flag.wait(30) is True
    assert time.monotonic() - t0 < 10
    # Stays set: every later wait returns at once, a second set is harmless.
    flag.set()
    assert flag.is_set() and flag.wait(30) is True and flag.wait() is True


def test_stop_flag_set_by_a_signal_handler_wakes_the_wait():
    """What SIGTERM does to `carbon-client run`: the handler runs inside the wait."""
    flag = StopFlag()
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: flag.set())
    try:
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        t0 = time.monotonic()
        assert flag.wait(30) is True
        assert time.monotonic() - t0 < 10
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_scheduler_ticks_until_a_stop_flag_is_set():
    flag = StopFlag()
    stamps = []
    clock = FakeClock(99.0)

    def tick(ts):
        stamps.append(ts)
        if len(stamps) == 3:
            flag.set()

    Scheduler(1, tick, wall=clock.wall, wait=clock.wait).run(flag)
    assert stamps == [100, 101, 102]


def stepping(interval, start, steps, ticks):
    """Run with the wall clock stepped by ``steps[n]`` seconds during tick n."""
    clock = FakeClock(start)
    stamps = []
    stop = threading.Event()

    def tick(ts):
        stamps.append((ts, clock.now))
        clock.now += steps.get(len(stamps), 0.0) + 0.01
        if len(stamps) >= ticks:
            stop.set()

    sched = Scheduler(interval, tick, wall=clock.wall, wait=clock.wait)
    sched.run(stop)
    return sched, stamps, clock


def test_the_wall_clock_stepping_back_an_hour_does_not_stop_the_ticks():
    sched, stamps, clock = stepping(10, 995.0, {3: -3600.0}, ticks=6)
    ts = [t for t, _ in stamps]
    assert ts[:3] == [1000, 1010, 1020]
    assert ts[3:] == [1020 - 3600 + 10, 1020 - 3600 + 20, 1020 - 3600 + 30]  # stamped from the wall clock
    assert max(clock.waits) <= 10  # the next tick came within one interval
    assert sched.repeated == 1 and sched.skipped == 0


def test_the_wall_clock_jumping_ahead_skips_the_boundaries_in_between():
    sched, stamps, clock = stepping(10, 995.0, {2: 3600.0}, ticks=4)
    ts = [t for t, _ in stamps]
    assert ts == [1000, 1010, 1010 + 3600 + 10, 1010 + 3600 + 20]
    assert max(clock.waits) <= 10
    assert sched.skipped == 3600 // 10 and sched.repeated == 0


def test_a_step_during_the_wait_is_stamped_from_the_wall_clock_as_it_is():
    clock = FakeClock(995.0)
    stamps = []
    stop = threading.Event()

    def wait(seconds):
        clock.now += seconds + (3600.0 if len(stamps) == 2 else 0.0)
        return False

    def tick(ts):
        stamps.append((ts, clock.now))
        if len(stamps) >= 4:
            stop.set()

    sched = Scheduler(10, tick, wall=clock.wall, wait=wait)
    sched.run(stop)
    assert [t for t, _ in stamps] == [1000, 1010, 4620, 4630]
    assert all(abs(at - ts) < 10 for ts, at in stamps)
    assert sched.skipped == 360


def test_an_offset_fires_each_tick_later_and_stamps_the_boundary():
    clock = FakeClock(995.0)
    stamps = []
    stop = threading.Event()

    def tick(ts):
        stamps.append((ts, clock.now))
        if len(stamps) == 3:
            stop.set()

    Scheduler(10, tick, wall=clock.wall, wait=clock.wait, offset=2.5).run(stop)
    assert [(ts, round(at, 6)) for ts, at in stamps] == [(1000, 1002.5), (1010, 1012.5), (1020, 1022.5)]


def test_the_send_offset_is_stable_per_host_and_within_a_fifth_of_the_interval():
    from carbon_client.config import build
    from carbon_client.daemon import send_offset

    offsets = {h: send_offset(build(None, {"hostname": h, "interval": 10})) for h in ("web01", "web02", "db1")}
    assert offsets == {h: send_offset(build(None, {"hostname": h, "interval": 10})) for h in offsets}
    assert all(0 <= o < 2 for o in offsets.values()) and len(set(offsets.values())) == 3
    assert send_offset(build(None, {"hostname": "web01", "interval": 600})) < 10
    assert send_offset(build(None, {"hostname": "web01", "interval": 10, "send_jitter": "0s"})) == 0
