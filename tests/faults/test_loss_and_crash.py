"""Loss and crash paths of the sender, the spool and stopping, through the process boundary:
`carbon-client run` as a subprocess, signals, files and sockets. Each test names the case it
proves; docs/RELIABILITY.md has the table."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import socket
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import yaml

from carbon_client.config import ConfigError, build
from carbon_client.config.keys import SPOOL_MIN_BYTES
from carbon_client.sender import records as rec
from carbon_client.sender.buffer import MAX_RESENDS
from carbon_client.sender.loop import ABORT_GRACE
from carbon_client.sender.spool import Spool
from tests.conftest import ROOT
from tests.faults.process import (
    assert_contiguous_and_complete, log_of, pairs, spooled, start_agent, steady_paths, stop_agent, wait_for,
    without_health,
)
from tests.line_server import LineServer


def config_file(tmp_path: Path, **keys) -> str:
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(keys))
    return str(path)


def carbon(*servers) -> list[str]:
    return [a for s in servers for a in ("--carbon", f"127.0.0.1:{s.port}")]


def stop_totals(err: str) -> dict[str, int]:
    """The figures of the agent's last log line ("stopped: N lines sent, N dropped ...")."""
    m = re.search(r"stopped: (\d+) lines sent, (\d+) dropped.*, (\d+) spooled for the next start, "
                  r"(\d+) unsent and lost", err)
    assert m, f"no totals in the stop message:\n{err[-2000:]}"
    return dict(zip(("sent", "dropped", "spooled", "unsent"), map(int, m.groups())))


def assert_clean(err: str) -> None:
    assert "Traceback" not in err, err[-3000:]


def old_lines(n_records: int, per: int = 5, ts: int = 1_700_000_000) -> list[tuple[bytes, int]]:
    return [("".join(f"t.old.r{r}.k{k} {k} {ts}\n" for k in range(per)).encode(), per) for r in range(n_records)]


# -- 1: the spool directory removed; the sending thread dies ---------------------------


def test_spool_directory_removed_while_running_the_agent_goes_on(tmp_path):
    srv = LineServer()
    spool = tmp_path / "spool"
    agent = start_agent(tmp_path, "--config", config_file(tmp_path, buffer_lines=100), *carbon(srv),
                        "--spool-dir", spool, "--hostname", "r")
    assert wait_for(lambda: any(spool.glob("*.seg"))), log_of(agent)
    shutil.rmtree(spool)
    assert wait_for(lambda: any(spool.glob("*.seg"))), "the spool directory was not created again"
    for seg in spool.glob("*.seg"):  # and now its segments vanish under the reader
        seg.unlink()
    after = int(time.time()) + 1
    srv.start()
    got = srv.wait_for(lambda g: len({ts for _, ts in pairs(g) if ts > after}) >= 2, timeout=20)
    assert agent.poll() is None, "the agent died"
    err = stop_agent(agent)
    srv.stop()
    assert agent.returncode == 0, err
    assert_clean(err)
    assert "was removed; creating it again" in err and "segments were removed" in err
    assert stop_totals(err)["dropped"] > 0 and "spool files removed" in err
    assert_contiguous_and_complete({(p, ts) for p, ts in without_health(pairs(got)) if ts > after},
                                   "r", steady_paths())


def test_a_dead_sender_thread_stops_the_watchdog_and_exits_non_zero(tmp_path):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(0.05)
    srv = LineServer().start()
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    # Every cycle goes through the sending thread, whose every take() fails after a second.
    fault = ("import time\nfrom carbon_client.sender.buffer import Buffer\n"
             "from carbon_client.sender.transport import TcpTransport\n"
             "TcpTransport.write_nowait = lambda self, data: False\n"
             "t0 = time.monotonic()\n"
             "real = Buffer.take\n"
             "def take(self, *args, **kw):\n"
             "    if time.monotonic() > t0 + 1:\n"
             "        raise RuntimeError('injected fault')\n"
             "    return real(self, *args, **kw)\n"
             "Buffer.take = take")
    agent = start_agent(tmp_path, "--interval", "2", "--config",
                        config_file(tmp_path, backoff_min=0.02, backoff_max=0.2), *carbon(srv),
                        "--hostname", "w", inject=fault, env=env)
    pings: list[tuple[float, bytes]] = []
    died_at = None
    deadline = time.monotonic() + 30
    while agent.poll() is None and time.monotonic() < deadline:
        try:
            pings.append((time.monotonic(), notify.recv(4096)))
        except socket.timeout:
            pass
        if died_at is None and "giving up" in log_of(agent):
            died_at = time.monotonic()
    agent.wait(30)
    notify.close()
    srv.stop()
    err = log_of(agent)
    assert agent.returncode == 1, err
    assert "the sender thread died" in err and "injected fault" in err
    watchdog = [t for t, d in pings if d == b"WATCHDOG=1"]
    assert died_at is not None and any(t < died_at for t in watchdog)
    assert not [t for t in watchdog if t > died_at + 0.3], "watchdog pings went on with a dead sender"


# -- 2: two agents on one spool directory ------------------------------------------------


def test_a_second_agent_on_the_same_spool_directory_refuses_to_start(tmp_path):
    srv = LineServer()
    spool = tmp_path / "spool"
    first = start_agent(tmp_path, *carbon(srv), "--spool-dir", spool, name="first")
    assert wait_for(lambda: (spool / "lock").exists())
    second = start_agent(tmp_path, *carbon(srv), "--spool-dir", spool, name="second")
    second.wait(30)
    err = log_of(second)
    assert second.returncode == 1
    assert f"spool directory {spool} is in use by another carbon-client (pid {first.pid})" in err
    assert_clean(err)
    assert first.poll() is None
    stop_agent(first)
    assert first.returncode == 0


# -- 4, 5: a damaged record, a segment of another format --------------------------------


def test_a_damaged_record_and_a_foreign_segment_cost_only_themselves(tmp_path):
    spool = tmp_path / "spool"
    sp = Spool(str(spool)).open()
    good = old_lines(20)
    sp.append(good)
    sp.close()
    seg = next(spool.glob("*.seg"))
    data = bytearray(seg.read_bytes())
    one = len(rec.record(*good[0]))
    data[rec.FILE_HEADER_SIZE + 10 * one + rec.HEADER.size + 3] ^= 0x20  # record 10's payload
    seg.write_bytes(bytes(data))
    foreign = spool / "00000000000000000000.seg"
    foreign.write_bytes(b"CCS1" + bytes(12) + b"t.v1.k 1 1700000000\n")
    srv = LineServer().start()
    agent = start_agent(tmp_path, *carbon(srv), "--spool-dir", spool, "--hostname", "t")
    got = srv.wait_for(lambda g: sum(x.startswith("t.old.") for x in g) >= 95, timeout=20)
    err = stop_agent(agent)
    srv.stop()
    assert agent.returncode == 0, err
    want = {x for i, (d, _) in enumerate(good) if i != 10 for x in d.decode().splitlines()}
    assert {x for x in got if x.startswith("t.old.")} == want
    assert "damaged records skipped, 5 lines lost" in err
    assert "moved aside" in err and not foreign.exists()
    assert (spool / (foreign.name + ".unknown")).read_bytes().startswith(b"CCS1")


# -- 3: a full disk ------------------------------------------------------------------------


def test_disk_full_never_tears_a_line_and_counts_what_it_could_not_keep(tmp_path):
    def small_files():  # spool writes past 6 kB fail as on a full disk: a short write, then EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))

    srv = LineServer()
    # The health group every tick: lines enough a second to overflow the 100-line buffer before
    # Carbon comes up (at its default 10 s, whether it overflows in time depends on the tick).
    agent = start_agent(tmp_path, "--config", config_file(tmp_path, buffer_lines=100, flush_timeout=2,
                                                          intervals={"agent": "1s"}),
                        *carbon(srv), "--spool-dir", tmp_path / "spool", "--hostname", "d", preexec=small_files)
    assert wait_for(lambda: "cannot spool" in log_of(agent), timeout=30), log_of(agent)
    srv.start()
    got = srv.wait_for(lambda g: len({ts for _, ts in pairs(g)}) >= 4, timeout=20)
    err = stop_agent(agent)
    srv.stop()
    assert agent.returncode == 0, err
    for line in got:  # a torn or merged line has another shape
        path, value, ts = line.split(" ")
        assert path.startswith("d.") and re.fullmatch(r"-?[0-9.e+-]+", value) and ts.isdigit(), line
    assert "lines dropped since the last report" in err and "every line sent" not in err
    assert stop_totals(err)["dropped"] > 0


# -- 6: a spool limit below the old segment size -------------------------------------------


def test_spool_max_bytes_holds_on_disk_even_below_a_segment(tmp_path):
    spool = tmp_path / "spool"
    sp = Spool(str(spool), max_bytes=1 << 30).open()
    for _ in range(6):  # ~2 MB in one segment, as a run with a larger limit left it
        sp.append(old_lines(1000, per=10))
    sp.close()
    limit = SPOOL_MIN_BYTES  # the smallest limit the config accepts
    srv = LineServer()
    agent = start_agent(tmp_path, "--config", config_file(tmp_path, buffer_lines=100, spool_max_bytes=limit,
                                                          flush_timeout=0.5),
                        *carbon(srv), "--spool-dir", spool, "--hostname", "m")
    assert wait_for(lambda: "carbon-client" in log_of(agent)), "the agent did not start"  # its spool is open
    worst = 0
    t_end = time.monotonic() + 2.5
    while time.monotonic() < t_end:
        worst = max(worst, sum(p.stat().st_size for p in spool.glob("*.seg") if p.exists()))
        time.sleep(0.05)
    kept = spooled(spool)
    err = stop_agent(agent)
    assert agent.returncode == 0, err
    assert worst <= limit
    assert any(p.startswith("m.") for p, _ in kept), "the agent's own lines did not reach the spool"
    assert "spool over spool_max_bytes" in err


# -- 7: the resend window at shutdown ------------------------------------------------------


def test_sigterm_after_carbon_died_keeps_what_it_had_not_read(tmp_path):
    stall = LineServer(mode="stall").start()  # takes bytes into its socket and never reads them
    spool = tmp_path / "spool"
    cfg = config_file(tmp_path, flush_timeout=1)
    first = start_agent(tmp_path, "--config", cfg, *carbon(stall), "--spool-dir", spool, "--hostname", "w",
                        name="first")
    started = time.time()
    assert wait_for(lambda: time.time() > started + 2.5)
    stall.stop(rst=True)  # it dies: every byte it held is gone, though every write succeeded
    err = stop_agent(first)  # before the next tick finds out
    ticks = int(time.time() - started)
    assert first.returncode == 0, err
    assert "spooled" in err
    srv = LineServer(port=stall.port).start()
    second = start_agent(tmp_path, *carbon(srv), "--spool-dir", spool, "--hostname", "w2", name="second")
    got = srv.wait_for(lambda g: len({ts for p, ts in pairs(g) if p.startswith("w.")}) >= ticks - 1, timeout=20)
    stop_agent(second)
    srv.stop()
    mine = {(p, ts) for p, ts in without_health(pairs(got)) if p.startswith("w.")}
    assert len({ts for _, ts in mine}) >= ticks - 1
    assert_contiguous_and_complete(mine, "w", steady_paths())


# -- 11: a reload behind a stalled write ---------------------------------------------------


def test_a_reload_behind_a_stalled_write_keeps_sampling_and_hands_everything_over(tmp_path):
    spool = tmp_path / "spool"
    sp = Spool(str(spool)).open()
    backlog = old_lines(10_000, per=40)  # ~12 MB: more than the stalled socket's buffers take (~4 MB)
    for i in range(0, len(backlog), 500):
        sp.append(backlog[i:i + 500])
    sp.close()
    stall, good = LineServer(mode="stall").start(), LineServer().start()
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(yaml.safe_dump({"carbon": [f"127.0.0.1:{stall.port}"], "write_timeout": 30}))
    agent = start_agent(tmp_path, "--config", cfg, "--spool-dir", spool, "--hostname", "h")
    assert wait_for(lambda: "carbon-client" in log_of(agent))
    time.sleep(1)  # the sending thread is now blocked writing to the stalled Carbon
    cfg.write_text(yaml.safe_dump({"carbon": [f"127.0.0.1:{good.port}"], "write_timeout": 30}))
    hup = time.monotonic()
    agent.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload: applied" in log_of(agent), timeout=40)
    took = time.monotonic() - hup
    applied = int(time.time())
    good.wait_for(lambda g: len({ts for p, ts in pairs(g) if p.startswith("h.") and ts > applied}) >= 1,
                  timeout=30)
    err = stop_agent(agent)
    got = good.lines()
    stall.stop()
    good.stop()
    assert agent.returncode == 0, err
    assert took < 3, f"the reload waited {took:.1f} s on the stalled write"
    assert {x for x in got if x.startswith("t.old.")} == {x for d, _ in backlog for x in d.decode().splitlines()}
    assert_contiguous_and_complete(without_health(pairs(got)), "h", steady_paths())


# -- 12: stopping many destinations under a task limit -------------------------------------


def pids_cgroups() -> Path | None:
    """Where a pids cgroup can be made (cgroup v1, or v2 with the controller delegated)."""
    v1, v2 = Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")
    if v1.is_dir():
        return v1
    control = v2 / "cgroup.subtree_control"
    return v2 if control.exists() and "pids" in control.read_text().split() else None


@contextmanager
def task_limit(limit: int):
    """A preexec_fn putting the agent in a cgroup of at most ``limit`` tasks (systemd's
    TasksMax), or None where no pids cgroup can be made."""
    base = pids_cgroups()
    if base is None:
        yield None
        return
    group = base / f"carbon-client-test-{os.getpid()}"
    try:
        group.mkdir()
        (group / "pids.max").write_text(str(limit))
    except OSError:
        if group.exists():
            group.rmdir()
        yield None
        return
    try:
        yield lambda: (group / "cgroup.procs").write_text(str(os.getpid()))
    finally:
        group.rmdir()


def test_sigterm_with_many_destinations_under_a_task_limit_spools_them_all(tmp_path):
    n = 17  # with the main thread and the stdio outlet's, 19 of the unit's TasksMax=32: no room to double
    servers = [LineServer() for _ in range(n)]
    spool = tmp_path / "spool"
    args = ["--config", config_file(tmp_path, flush_timeout=1), "--mode", "all", *carbon(*servers),
            "--spool-dir", spool, "--hostname", "a"]
    with task_limit(n + 2) as limit:
        refuse_threads = None
        if limit is None:  # no cgroup here: new threads are refused as a full TasksMax refuses them
            refuse_threads = ("import threading\nfrom carbon_client.sender.fanout import Fanout\n"
                              "real = Fanout.start\n"
                              "def start(self):\n"
                              "    real(self)\n"
                              "    def refuse(thread):\n"
                              "        raise RuntimeError(\"can't start new thread\")\n"
                              "    threading.Thread.start = refuse\n"
                              "    return self\n"
                              "Fanout.start = start")
        agent = start_agent(tmp_path, *args, preexec=limit, inject=refuse_threads)
        assert wait_for(lambda: len(list(spool.glob("*/lock"))) == n), log_of(agent)
        time.sleep(1.5)
        t0 = time.monotonic()
        err = stop_agent(agent)
        took = time.monotonic() - t0
    assert agent.returncode == 0, err
    assert_clean(err)
    assert took < 1 + ABORT_GRACE + 5
    kept = [{ts for p, ts in spooled(d) if p.startswith("a.")} for d in sorted(spool.iterdir())]
    assert len(kept) == n and all(k and k == kept[0] for k in kept), [len(k) for k in kept]


def test_stopping_fits_the_units_timeout_stop_sec():
    unit = (ROOT / "deploy/systemd/carbon-client.service").read_text()
    timeout_stop = float(re.search(r"^TimeoutStopSec=(\d+)s$", unit, re.M).group(1))
    lo, hi = 0.0, 1e6  # the largest flush_timeout the config accepts
    for _ in range(60):
        mid = (lo + hi) / 2
        try:
            build(None, {"flush_timeout": mid})
            lo = mid
        except ConfigError:
            hi = mid
    longest_flush = lo
    # flush, then the threads' grace to let go of their sockets, then spooling and exiting
    assert longest_flush + ABORT_GRACE + 5 <= timeout_stop


# -- 14: a Carbon that drops every connection ----------------------------------------------


def test_a_carbon_closing_every_connection_gets_each_line_at_most_three_times(tmp_path):
    srv = LineServer(mode="flap", flap_every=0.7).start()
    agent = start_agent(tmp_path, *carbon(srv), "--hostname", "f")
    assert wait_for(lambda: srv.connections >= 5), "the agent did not reconnect"
    err = stop_agent(agent)
    srv.stop()
    assert agent.returncode == 0, err
    received = Counter((line.split()[0], line.split()[2]) for line in srv.lines() if line.startswith("f."))
    assert max(received.values()) <= 1 + MAX_RESENDS, received.most_common(3)
    assert_contiguous_and_complete(without_health(pairs(srv.lines())), "f", steady_paths())


# -- 18: every drop counted and told -------------------------------------------------------


def test_every_drop_is_counted_logged_and_in_the_stop_message(tmp_path):
    srv = LineServer()  # never up
    agent = start_agent(tmp_path, "--config", config_file(tmp_path, buffer_lines=100, flush_timeout=0.5),
                        *carbon(srv), "--hostname", "u")
    assert wait_for(lambda: "lines dropped since the last report" in log_of(agent), timeout=20)
    time.sleep(1.5)
    err = stop_agent(agent)
    assert agent.returncode == 0, err
    totals = stop_totals(err)
    assert totals["sent"] == 0 and totals["spooled"] == 0 and totals["unsent"] == 100
    assert totals["dropped"] >= steady_paths()  # a tick or more did not fit
    assert "memory buffer full" in err and "no spool_dir to keep them" in err
    assert err.count("lines dropped since the last report") == 2  # at once, then at the stop: not every tick
