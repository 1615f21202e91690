"""sd_notify over a real AF_UNIX datagram socket, as systemd would listen."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from carbon_client.systemd import Notifier
from tests.line_server import LineServer


def test_notifier_reads_the_environment():
    n = Notifier.from_env({"NOTIFY_SOCKET": "@abc", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())})
    assert n.enabled and n.watchdog_every == 1.5
    other = Notifier.from_env({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_every is None  # the watchdog is another process's
    assert not Notifier.from_env({}).enabled
    assert Notifier.from_env({}).send("READY=1") is False


def test_ready_watchdog_status_and_stopping_from_a_running_agent(tmp_path):
    path = str(tmp_path / "notify.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(0.2)
    srv = LineServer().start()
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "carbon_client", "run", "--interval", "5", "--no-show",
         "--carbon", f"127.0.0.1:{srv.port}", "--collectors", "load"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    messages = []  # (time, text)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        try:
            messages.append((time.monotonic(), rx.recv(4096).decode()))
        except socket.timeout:
            pass
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)
    try:
        while True:
            messages.append((time.monotonic(), rx.recv(4096).decode()))
    except socket.timeout:
        pass
    rx.close()
    srv.stop()
    texts = [m for _, m in messages]
    assert texts and texts[0].startswith("READY=1\nSTATUS=tcp every 5s to 127.0.0.1:")
    pings = [t for t, m in messages if m == "WATCHDOG=1"]
    # a 5 s interval, but a 1 s watchdog: pinged at least every half second between ticks
    assert len(pings) >= 10
    assert max(b - a for a, b in zip(pings, pings[1:])) < 0.9
    assert any(m.startswith("STATUS=") and "buffered" in m for m in texts)
    assert texts[-1] == "STOPPING=1"
    assert proc.returncode == 0
