"""Stopping a process a test started: one signal, a grace period, then SIGKILL to its group."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 10.0, group: bool = True) -> None:
    """Send ``sig`` to ``proc``'s process group (to ``proc`` alone unless ``group``), wait up to
    ``grace`` seconds, then SIGKILL the group and reap it. The process must lead its session."""
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
