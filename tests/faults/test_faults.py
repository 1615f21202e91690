"""Fault injection: whatever Carbon or the host does, every (path, timestamp) produced arrives.

In-process scenarios drive a real Agent (on the shared /proc capture) and a
real sender against loopback receivers and a real carbon-cache, so the set
of lines produced is known exactly. Process scenarios run `carbon-client run`
and check what a receiver got against what the agent spooled, and that the
timestamps are contiguous and complete for every path.
"""

from __future__ import annotations

import signal
import threading
import time

from carbon_client.agent import Agent
from carbon_client.config import build
from carbon_client.sender import make_sender
from carbon_client.sender import records as rec
from carbon_client.sender.spool import Spool
from tests.faults.process import (
    COLLECTORS, FIXTURES, arrived, assert_all_arrived, assert_contiguous_and_complete, pairs, peak_rss_mb,
    spooled, start_agent, steady_paths, stop_agent, without_health,
)
from tests.line_server import LineServer


def agent_config(*ports, **over):
    values = {
        "proc_root": str(FIXTURES / "procfs"), "sys_root": str(FIXTURES), "hostname": "f",
        "collectors": COLLECTORS, "interval": 1,
        "carbon": [f"127.0.0.1:{p}" for p in ports],
        "backoff_min": 0.02, "backoff_max": 0.2, "write_timeout": 1.0, "connect_timeout": 1.0,
    }
    values.update(over)
    return build(None, values)


class Run:
    """An in-process agent ticking fast with synthetic timestamps."""

    def __init__(self, config, t0=None):
        self.config = config
        self.sender = make_sender(config).start()
        self.agent = Agent(config, sender=self.sender)
        self.produced: set[tuple[str, int]] = set()
        self.ts = t0 if t0 is not None else 1_700_000_000
        self.worst_cycle = 0.0
        self.max_buffered = 0

    def cycles(self, n, every=0.02):
        for _ in range(n):
            t0 = time.perf_counter()
            r = self.agent.cycle(self.ts)
            self.worst_cycle = max(self.worst_cycle, time.perf_counter() - t0)
            self.produced |= pairs(r.data.splitlines())
            self.max_buffered = max(self.max_buffered, self.sender.stats()["buffered"])
            self.ts += 1
            time.sleep(every)

    def close(self, timeout=10.0):
        # memory stayed bounded: never more lines held than the buffer allows
        assert self.max_buffered <= self.config.buffer_lines
        return self.sender.close(timeout)


# -- in-process scenarios ---------------------------------------------------------


def test_carbon_down_at_start():
    srv = LineServer()
    run = Run(agent_config(srv.port))
    run.cycles(15)
    assert run.sender.stats()["connected"] == 0
    srv.start()
    run.cycles(15)
    run.close()
    got = arrived(srv, run.produced)
    srv.stop()
    assert_all_arrived(run.produced, got)
    assert run.worst_cycle < 0.1  # collection never waited on the network


def test_carbon_cache_killed_and_back_on_the_same_port(carbon_cache):
    t0 = int(time.time()) - 1200  # inside the 1 h retention
    run = Run(agent_config(carbon_cache.port), t0=t0)
    run.cycles(10, every=0.05)
    carbon_cache.kill()  # SIGKILL: its unwritten cache and unread socket data are gone
    run.cycles(10, every=0.05)
    carbon_cache.start()
    run.cycles(10, every=0.05)
    run.close()
    assert run.sender.stats()["reconnects"] >= 1
    deadline = time.monotonic() + 30
    received = set()
    paths = {p for p, _ in run.produced}
    while time.monotonic() < deadline:
        received = {(p, ts) for p in paths for ts in carbon_cache.points(p, since=t0 - 10)}
        if run.produced <= received:
            break
        time.sleep(0.5)
    assert_all_arrived(run.produced, received)


def test_carbon_that_accepts_and_never_reads():
    srv = LineServer(mode="stall").start()
    run = Run(agent_config(srv.port))
    run.cycles(20)
    srv.stop(rst=True)  # what it held unread is gone
    srv.mode = "read"
    srv.start()
    run.cycles(10)
    run.close()
    got = arrived(srv, run.produced)
    srv.stop()
    assert run.worst_cycle < 0.1
    assert_all_arrived(run.produced, got)


def test_a_stalled_carbon_is_detected_by_the_write_deadline():
    srv = LineServer(mode="stall").start()
    s = make_sender(agent_config(srv.port, write_timeout=0.5, buffer_lines=10_000_000)).start()
    chunk = b"f.x.y 1 1700000000\n" * 50_000  # ~1 MB a put: more than the socket buffers hold
    deadline = time.monotonic() + 20
    while s.stats()["reconnects"] < 1 and time.monotonic() < deadline:
        s.put(chunk, 50_000)
        time.sleep(0.1)
    srv.stop()
    s.close(0.1)
    assert s.stats()["reconnects"] >= 1, "a Carbon that stopped reading was never given up on"


def test_carbon_that_reads_slowly():
    srv = LineServer(mode="slow", slow_bytes=2048, slow_every=0.02).start()  # ~100 kB/s
    run = Run(agent_config(srv.port, buffer_lines=5000))
    run.cycles(40, every=0.01)
    run.close(timeout=30)
    got = arrived(srv, run.produced, timeout=30)
    srv.stop()
    assert_all_arrived(run.produced, got)
    assert run.sender.stats()["reconnects"] == 0  # slow but steady is not a failure
    assert run.max_buffered <= 5000


def test_connection_reset_in_the_middle_of_a_batch():
    srv = LineServer(mode="reset", reset_after=3000).start()
    run = Run(agent_config(srv.port))
    run.cycles(30)
    run.close()
    got = arrived(srv, run.produced)
    srv.stop()
    assert srv.resets == 1
    assert_all_arrived(run.produced, got)


def test_first_destination_dead_for_good_second_takes_over():
    dead, second = LineServer(), LineServer().start()
    run = Run(agent_config(dead.port, second.port))
    run.cycles(30)
    run.close()
    got = arrived(second, run.produced)
    second.stop()
    assert_all_arrived(run.produced, got)
    assert run.sender.stats()["destination"] == 0  # closed now


def test_mode_all_with_one_destination_down():
    up, down = LineServer().start(), LineServer()
    run = Run(agent_config(up.port, down.port, mode="all"))
    run.cycles(20)
    assert_all_arrived(run.produced, arrived(up, run.produced))
    down.start()
    run.cycles(10)
    run.close()
    got_up, got_down = arrived(up, run.produced), arrived(down, run.produced)
    up.stop()
    down.stop()
    assert_all_arrived(run.produced, got_up)
    assert_all_arrived(run.produced, got_down)


# -- the agent as a process ---------------------------------------------------------------


def test_sigterm_with_carbon_down_then_restart_replays_the_spool(tmp_path):
    srv = LineServer()
    spool = tmp_path / "spool"
    common = ["--carbon", f"127.0.0.1:{srv.port}", "--spool-dir", str(spool), "--hostname", "s"]
    first = start_agent(tmp_path, *common, name="first")
    time.sleep(4)
    rss = peak_rss_mb(first)
    err = stop_agent(first)
    assert first.returncode == 0, err
    assert "spooled for the next start" in err
    kept = spooled(spool)
    assert len({ts for _, ts in kept}) >= 3
    srv.start()
    second = start_agent(tmp_path, *common, name="second")
    got = arrived(srv, kept, timeout=20)
    stop_agent(second)
    srv.stop()
    assert_all_arrived(kept, got)
    assert_contiguous_and_complete(without_health(got), "s", steady_paths())
    assert rss < 60


def test_sigkill_loses_at_most_what_was_not_yet_spooled(tmp_path):
    srv = LineServer()
    spool = tmp_path / "spool"
    common = ["--carbon", f"127.0.0.1:{srv.port}", "--spool-dir", str(spool), "--hostname", "k"]
    cfg = tmp_path / "small.yaml"
    cfg.write_text("buffer_lines: 100\n")  # spills every couple of ticks
    first = start_agent(tmp_path, "--config", str(cfg), *common, name="first")
    time.sleep(6)
    assert peak_rss_mb(first) < 60
    first.kill()
    first.wait(10)
    kept = spooled(spool)
    assert len({ts for _, ts in kept}) >= 3, "nothing reached the spool before the kill"
    srv.start()
    second = start_agent(tmp_path, "--config", str(cfg), *common, name="second")
    got = arrived(srv, kept, timeout=20)
    stop_agent(second)
    srv.stop()
    assert_all_arrived(kept, got)


def test_a_spool_with_a_torn_last_record_is_replayed_up_to_the_tear(tmp_path):
    spool = tmp_path / "spool"
    sp = Spool(str(spool)).open()
    good = [(f"t.old.k{i} {i} 1700000000\n".encode(), 1) for i in range(50)]
    sp.append(good)
    sp.close()
    seg = next(spool.glob("*.seg"))
    with open(seg, "ab") as f:
        f.write(rec.record(b"t.old.torn 1 1700000000\n" * 70, 70)[:-30])
    srv = LineServer().start()
    agent = start_agent(tmp_path, "--carbon", f"127.0.0.1:{srv.port}", "--spool-dir", str(spool),
                        "--hostname", "t")
    got = srv.wait_for(lambda g: sum(1 for x in g if x.startswith("t.old.")) >= 50, timeout=20)
    assert peak_rss_mb(agent) < 60
    err = stop_agent(agent)
    srv.stop()
    assert agent.returncode == 0
    assert "damaged records skipped, 70 lines lost" in err
    assert {x for x in got if x.startswith("t.old.")} == {d.decode().strip() for d, _ in good}


def test_spool_directory_unwritable(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    srv = LineServer()
    agent = start_agent(tmp_path, "--carbon", f"127.0.0.1:{srv.port}",
                        "--spool-dir", str(blocker / "spool"), "--hostname", "u")
    time.sleep(3)
    srv.start()  # lines kept in memory meanwhile are delivered
    time.sleep(3)
    rss = peak_rss_mb(agent)
    err = stop_agent(agent)
    srv.stop()
    assert agent.returncode == 0
    assert "unusable" in err
    assert_contiguous_and_complete(without_health(pairs(srv.lines())), "u", steady_paths())
    assert rss < 60


def test_sighup_good_config_keeps_buffered_lines_bad_config_is_refused(tmp_path):
    srv = LineServer()  # down while the first configuration buffers
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(f"carbon: ['127.0.0.1:{srv.port}']\nhostname: before\n")
    agent = start_agent(tmp_path, "--config", str(cfg))
    time.sleep(3)
    # a new host name and a new sender (buffer size): buffered lines must survive both
    cfg.write_text(f"carbon: ['127.0.0.1:{srv.port}']\nhostname: after\nbuffer_lines: 50000\n")
    agent.send_signal(signal.SIGHUP)
    time.sleep(2)
    srv.start()
    time.sleep(2)
    cfg.write_text("interval: [\n")
    agent.send_signal(signal.SIGHUP)
    time.sleep(2.5)
    assert peak_rss_mb(agent) < 60
    err = stop_agent(agent)
    srv.stop()
    assert agent.returncode == 0
    assert "reload: applied" in err and "reload refused" in err
    got = without_health(pairs(srv.lines()))
    before = sorted({ts for p, ts in got if p.startswith("before.")})
    after = sorted({ts for p, ts in got if p.startswith("after.")})
    assert len(before) >= 2, "lines buffered before the reload were dropped"
    assert after and after[0] == before[-1] + 1, (before, after)
    assert after[-1] >= after[0] + 3  # still running on the good config after the bad one
    assert_contiguous_and_complete({(p.replace("before.", "after.", 1), ts) for p, ts in got},
                                   "after", steady_paths())


def test_many_reconnects_keep_memory_bounded():
    srv = LineServer().start()
    run = Run(agent_config(srv.port, buffer_lines=300))
    stop = threading.Event()

    def flap():
        while not stop.is_set():
            time.sleep(0.15)
            srv.stop(rst=True)
            time.sleep(0.1)
            srv.start()

    t = threading.Thread(target=flap)
    t.start()
    run.cycles(40)
    stop.set()
    t.join()
    run.close()
    srv.stop()
    assert run.max_buffered <= 300
