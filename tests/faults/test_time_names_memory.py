"""Faults of time, names and memory, through the process boundary.

`carbon-client run` as a process, a loopback receiver, files changed under
its proc root while it runs, its wall clock stepped with libfaketime (only
the wall clock: the agent waits on the monotonic one), a stand-in dmsetup
that floods or hangs with a grandchild.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, require
from tests.line_server import LineServer

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
NET_HEAD = ("Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast"
            "|bytes    packets errs drop fifo colls carrier compressed\n")


class Agent:
    """``carbon-client run`` into a LineServer; stopped with SIGTERM."""

    def __init__(self, tmp: Path, *args: str, env: dict | None = None) -> None:
        self.server = LineServer().start()
        self.log = tmp / "agent.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "carbon_client", "run", "--no-show", "--interval", "1", "--hostname", "h",
             "--carbon", f"127.0.0.1:{self.server.port}", *args],
            stdout=open(self.log, "wb"), stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
            env={**os.environ, "CARBON_CLIENT_CONFIG": "", **(env or {})})

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> str:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        self.server.stop()
        return self.log.read_text(errors="replace")


def proc_tree(tmp: Path, *files: str) -> Path:
    proc = tmp / "proc"
    for rel in files:
        (proc / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / "procfs" / rel, proc / rel)
    return proc


def stamps(lines: list[str], path: str) -> list[int]:
    return [int(line.split()[2]) for line in lines if line.split()[0] == path]


# -- 13: the wall clock steps ------------------------------------------------------------


def test_the_wall_clock_stepping_back_and_ahead_an_hour(tmp_path):
    require(os.path.exists(FAKETIME), "libfaketime not installed (Debian package faketime)")
    offset = tmp_path / "offset"
    offset.write_text("+0\n")
    env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": str(offset), "FAKETIME_NO_CACHE": "1",
           "DONT_FAKE_MONOTONIC": "1"}
    agent = Agent(tmp_path, "--collectors", "load", "--proc-root", str(proc_tree(tmp_path, "loadavg")),
                  env=env)
    try:
        # The health group (every 10 s) has reported once before the step, so the next report's
        # repeated is a rate over the step.
        agent.server.wait_for(lambda g: len(stamps(g, "h.load.1m")) >= 3 and stamps(g, "h.carbon_client.buffered"),
                              timeout=20)
        offset.write_text("-3600\n")
        t0 = time.monotonic()
        got = agent.server.wait_for(lambda g: min(stamps(g, "h.load.1m")) < time.time() - 3000, timeout=20)
        back_after = time.monotonic() - t0
        agent.server.wait_for(lambda g: len([t for t in stamps(g, "h.load.1m") if t < time.time() - 3000]) >= 3,
                              timeout=20)
        offset.write_text("+0\n")
        got = agent.server.wait_for(
            lambda g: any(t > time.time() - 3 for t in stamps(g, "h.load.1m")[-2:]) and
            any(float(line.split()[1]) > 0 for line in g if line.startswith("h.carbon_client.skipped ")),
            timeout=20)
    finally:
        log = agent.stop()
    assert back_after < 3, "the next tick came within an interval of the step, not an hour later"
    ts = stamps(got, "h.load.1m")
    back = [t for t in ts if t < time.time() - 3000]
    assert len(back) >= 3 and all(b - a == 1 for a, b in zip(back, back[1:])), "ticking on, from the new time"
    assert any(float(line.split()[1]) > 0 for line in got if line.startswith("h.carbon_client.repeated "))
    assert "Traceback" not in log


# -- 15: names that collide once sanitized --------------------------------------------------


def test_names_that_collide_once_sanitized_get_one_path_each(tmp_path):
    proc = tmp_path / "proc" / "net"
    proc.mkdir(parents=True)
    rows = {"eth.0": 100, "eth_0": 200, "total": 300, "eth:1": 400, "eth;1": 500}
    text = NET_HEAD + "".join(f"{n:>6}: {v} 1 0 0 0 0 0 0 {v} 1 0 0 0 0 0 0\n" for n, v in rows.items())
    (proc / "dev").write_text(text)
    agent = Agent(tmp_path, "--collectors", "net", "--nics", "*", "--proc-root", str(tmp_path / "proc"),
                  "--sys-root", str(tmp_path))
    try:
        got = agent.server.wait_for(lambda g: sum(1 for line in g if ".net." in line) > 40, timeout=20)
    finally:
        log = agent.stop()
    last = {}
    for line in got:
        path, value, ts = line.split()
        if path.startswith("h.net.") and path.endswith(".rx_bytes"):
            last.setdefault(int(ts), {})[path.split(".")[2]] = value
    cycle = max(last.values(), key=len)
    components = sorted(cycle)
    assert len(components) == 6, components  # five NICs and the aggregate, one path each
    assert "eth_0" in components and "total" in components and "total_device" in components
    assert [c for c in components if c.startswith("eth_0_")] and len([c for c in components if c.startswith("eth_1_")]) == 2
    clashes = [line for line in log.splitlines() if "clashes with another of the group" in line]
    assert len(clashes) == 3, clashes  # eth.0, eth:1, eth;1: once each, however many cycles


# -- 16: state of what vanished is forgotten -----------------------------------------------


def test_nic_names_churning_every_tick_do_not_grow_memory(tmp_path):
    proc = tmp_path / "proc" / "net"
    proc.mkdir(parents=True)
    dev = proc / "dev"
    stop = threading.Event()

    def churn():
        k = 0
        while not stop.is_set():
            names = [f"veth{k:05d}{i:03d}" for i in range(500)]
            tmp = dev.with_suffix(".new")
            tmp.write_text(NET_HEAD + "".join(f"{n}: {k} 1 0 0 0 0 0 0 {k} 1 0 0 0 0 0 0\n" for n in names))
            tmp.replace(dev)
            k += 1
            stop.wait(0.25)

    churn_once = threading.Thread(target=churn, daemon=True)
    churn_once.start()
    time.sleep(0.3)
    agent = Agent(tmp_path, "--collectors", "net", "--nics", "*", "--proc-root", str(tmp_path / "proc"),
                  "--sys-root", str(tmp_path), "--log-level", "WARNING")
    try:
        time.sleep(8)
        early = agent.rss_kb()
        time.sleep(20)  # some 40,000 new interface names later
        late = agent.rss_kb()
        assert agent.proc.poll() is None
    finally:
        stop.set()
        agent.stop()
    assert late - early < 3000, f"RSS grew from {early} kB to {late} kB"


# -- 17: commands and lines that are too big --------------------------------------------------


DMSETUP = """#!/bin/sh
case "$(cat '{ctl}')" in
  flood) head -c 100000000 /dev/zero | tr '\\0' 'x' ;;
  hang) sleep 300 & exec sleep 300 ;;
esac
"""


def test_a_flooding_or_hanging_dmsetup_costs_neither_memory_nor_orphans(tmp_path):
    ctl = tmp_path / "mode"
    ctl.write_text("flood\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dmsetup").write_text(DMSETUP.format(ctl=ctl))
    (bin_dir / "dmsetup").chmod(0o755)
    marker = f"carbon-client-orphan-{os.getpid()}"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CARBON_CLIENT_MARK": marker}
    config = tmp_path / "c.yaml"
    config.write_text("command_timeout: 1s\n")
    agent = Agent(tmp_path, "--config", str(config), "--collectors", "load,writeboost",
                  "--proc-root", str(proc_tree(tmp_path, "loadavg")), env=env)
    try:
        agent.server.wait_for(lambda g: len(stamps(g, "h.load.1m")) >= 4, timeout=20)
        peak = max(agent.rss_kb() for _ in range(20) if not time.sleep(0.1))
        ctl.write_text("hang\n")
        # the agent looks for writeboost again every 300 s: a new agent meets the hung one
    finally:
        log = agent.stop()
    assert peak < 80_000, f"{peak} kB: 100 MB of dmsetup output was read into memory"
    assert max(len(line) for line in log.splitlines()) < 1000
    assert "more than 1048576 bytes of output" in log
    agent = Agent(tmp_path, "--config", str(config), "--collectors", "load,writeboost",
                  "--proc-root", str(proc_tree(tmp_path / "b", "loadavg")), env=env)
    try:
        agent.server.wait_for(lambda g: len(stamps(g, "h.load.1m")) >= 4, timeout=20)
    finally:
        log = agent.stop()
    assert "no answer within 1 s" in log
    time.sleep(0.5)
    left = marked(marker)  # the dmsetup (exec'd into a sleep) and the sleep it started
    assert left == [], f"the timed-out dmsetup and its child were killed; alive: {left}"


def marked(marker: str) -> list[str]:
    """The processes whose environment holds ``marker``: what the agent started and their children."""
    found = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and marker.encode() in (d / "environ").read_bytes():
                argv = (d / "cmdline").read_bytes().split(b"\0")
                found.append(f"{d.name} {b' '.join(argv).decode(errors='replace').strip()}")
        except OSError:  # gone meanwhile
            continue
    return found


def test_a_ten_megabyte_proc_line_is_logged_as_an_excerpt(tmp_path):
    proc = proc_tree(tmp_path, "diskstats", "loadavg")
    with open(proc / "diskstats", "a") as f:
        f.write("   8   99 sdz " + "9" * 10_000_000 + "\n")
    agent = Agent(tmp_path, "--collectors", "load,disk", "--proc-root", str(proc), "--sys-root", str(tmp_path))
    try:
        got = agent.server.wait_for(lambda g: len(stamps(g, "h.load.1m")) >= 3, timeout=20)
    finally:
        log = agent.stop()
    assert any(line.startswith("h.disk.sda.") for line in got), "the other devices still go"
    assert "skipping malformed line" in log
    assert max(len(line) for line in log.splitlines()) < 1000
    assert Counter("malformed" in line for line in log.splitlines())[True] == 1
