"""The command line as users run it: exit codes, messages, once, run + SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from carbon_client.config import load_file
from tests.conftest import EXAMPLE_CONFIG
from tests.line_server import LineServer

CLI = [sys.executable, "-m", "carbon_client"]


def cli(*args, **kw):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=60, **kw)


def test_check_config_ok():
    r = cli("check-config", str(EXAMPLE_CONFIG))
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


@pytest.mark.parametrize("text,expect", [
    ("interval: soon\n", "interval: expected a whole number of seconds from 1s to 1d (10, 10s, 1m, 1h30m), got 'soon'"),
    ("carbon: [graphite:2003, 'graphite:x']\n", "carbon[1]: 'graphite:x': port must be 1-65535"),
    ("colectors: [cpu]\n", "colectors: unknown key; did you mean 'collectors'?"),
])
def test_check_config_bad_exits_2_with_the_key_path(tmp_path, text, expect):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    r = cli("check-config", str(f))
    assert r.returncode == 2
    assert expect in r.stderr
    assert "Traceback" not in r.stderr


def test_run_with_bad_flag_exits_2_without_traceback():
    r = cli("run", "--interval", "0")
    assert r.returncode == 2
    assert "--interval: expected a whole number of seconds from 1s to 1d (10, 10s, 1m, 1h30m), got '0'" in r.stderr
    assert "Traceback" not in r.stderr


def test_config_prints_the_example_and_it_passes_check_config(tmp_path):
    r = cli("config")
    assert r.returncode == 0, r.stderr
    assert r.stdout == EXAMPLE_CONFIG.read_text()
    (tmp_path / "c.yaml").write_text(r.stdout)
    r = cli("check-config", str(tmp_path / "c.yaml"))
    assert r.returncode == 0, r.stderr
    # (a note may come first: this host's name as the paths will carry it)
    keys = len(load_file(str(EXAMPLE_CONFIG)))
    assert keys >= 18
    assert r.stdout.splitlines()[-1] == f"{tmp_path / 'c.yaml'}: OK ({keys} keys)"


def test_check_config_reads_the_default_path(tmp_path):
    f = tmp_path / "agent.yaml"
    f.write_text("hostname: web01.example.com\nprefix: 'dc1..rack 2/b'\n")
    r = cli("check-config", env=dict(os.environ, CARBON_CLIENT_CONFIG=str(f)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"{f}: note: hostname 'web01.example.com' is sent as 'web01_example_com' "
        "(a path component keeps A-Z a-z 0-9 _ -)",
        f"{f}: note: prefix 'dc1..rack 2/b' is sent as 'dc1.rack_2_b' (each level keeps A-Z a-z 0-9 _ -)",
        f"{f}: OK (2 keys)",
    ]
    r = cli("check-config", env=dict(os.environ, CARBON_CLIENT_CONFIG=""))
    assert r.returncode == 2
    assert "no FILE given" in r.stderr


def test_a_config_named_in_the_environment_must_exist(tmp_path):
    missing = tmp_path / "nope.yaml"
    r = cli("once", "--interval", "1", env=dict(os.environ, CARBON_CLIENT_CONFIG=str(missing)))
    assert r.returncode == 2
    assert f"config error: {missing}: No such file or directory" in r.stderr


def test_once_with_the_default_config_durations_and_variables(tmp_path, fixtures):
    f = tmp_path / "agent.yaml"
    f.write_text(f"hostname: ${{NODE}}\nprefix: ${{DC:-dc1}}\nproc_root: {fixtures / 'procfs'}\n"
                 f"sys_root: {fixtures}\ncollectors: [load]\n")
    env = dict(os.environ, CARBON_CLIENT_CONFIG=str(f), NODE="n7")
    r = cli("once", "--interval", "1s", env=env)
    assert r.returncode == 0, r.stderr
    assert "dc1.n7.load.1m 0.02 " in r.stdout
    del env["NODE"]
    r = cli("once", "--interval", "1s", env=env)
    assert r.returncode == 2
    assert f"{f}: hostname: environment variable NODE is not set" in r.stderr


def test_once_prints_two_samples_worth_of_lines(fixtures):
    r = cli("once", "--interval", "1", "--proc-root", str(fixtures / "procfs"),
            "--sys-root", str(fixtures), "--hostname", "fx", "--collectors", "load,memory,net")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    ts = {int(line.split()[2]) for line in lines}
    assert len(ts) == 1
    assert "fx.load.1m 0.02" in r.stdout
    # the capture does not change between the two reads: rates are exactly zero
    assert any(line.startswith("fx.net.eth0.rx_bytes 0 ") for line in lines)
    assert not any(".lo." in line for line in lines)


def test_run_streams_and_sigterm_flushes_and_exits_0(fixtures):
    srv = LineServer().start()
    proc = subprocess.Popen(
        CLI + ["run", "--interval", "1", "--carbon", f"127.0.0.1:{srv.port}", "--no-show",
               "--hostname", "t", "--collectors", "load,cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # three ticks, and the health group (every 10 s)
        got = srv.wait_for(lambda g: len({x.split()[2] for x in g}) >= 3 and
                           any(x.startswith("t.carbon_client.cycle_ms ") for x in g), timeout=20)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    srv.stop()
    assert proc.returncode == 0, err
    assert "SIGTERM received" in err and "every line sent" in err
    stamps = sorted({int(x.split()[2]) for x in got})
    assert len(stamps) >= 3
    assert all(b - a == 1 for a, b in zip(stamps, stamps[1:]))
    assert {"t.load.1m", "t.cpu.total.idle", "t.carbon_client.cycle_ms"} <= {x.split()[0] for x in got}
    assert srv.connections == 1
    assert out == ""  # no terminal, no --show: nothing on stdout


@pytest.mark.parametrize("show", ["", "--show"])
@pytest.mark.parametrize("closed", [1, 2], ids=["stdout", "stderr"])
def test_run_started_with_stdout_or_stderr_closed_streams_and_stops(closed, show):
    """As a supervisor or `cmd >&-` may start it: no descriptor 1 or 2 at all."""
    srv = LineServer().start()
    args = ["run", "--interval", "1", "--carbon", f"127.0.0.1:{srv.port}", "--hostname", "t",
            "--collectors", "load"] + ([show] if show else [])
    proc = subprocess.Popen(CLI + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=lambda: os.close(closed))
    try:
        got = srv.wait_for(lambda g: len({x.split()[2] for x in g}) >= 2, timeout=20)
        # the closed descriptor holds /dev/null: no file or socket opened later takes it
        assert os.readlink(f"/proc/{proc.pid}/fd/{closed}") == "/dev/null"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    srv.stop()
    assert proc.returncode == 0
    assert len({x.split()[2] for x in got}) >= 2


def test_run_with_carbon_down_exits_0_after_the_flush_timeout():
    t0 = time.monotonic()
    proc = subprocess.Popen(
        CLI + ["run", "--interval", "1", "--carbon", "127.0.0.1:9", "--no-show", "--collectors", "load"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "unsent" in err
    assert time.monotonic() - t0 < 20


@pytest.mark.parametrize("interval,config,expect", [
    ("1", "", "10s"), ("3", "", "12s"), ("30", "", "30s"), ("1", "intervals: {agent: 2s}\n", "2s"),
])
def test_collectors_lists_the_health_group_and_its_interval(fixtures, tmp_path, interval, config, expect):
    f = tmp_path / "c.yaml"
    f.write_text(config + "collectors: [load]\n")
    r = cli("collectors", "--config", str(f), "--interval", interval, "--proc-root", str(fixtures / "procfs"),
            env=dict(os.environ, CARBON_CLIENT_CONFIG=""))
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}
    assert rows["load"][3] == f"{interval}s"
    assert rows["agent"][:5] == ["agent", "built-in", "carbon_client", expect, "host"]
