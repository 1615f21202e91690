"""End to end: `carbon-client run --interval 1` into a real carbon-cache, read back from Whisper."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import yaml

from carbon_client.naming import sanitize

pytestmark = pytest.mark.integration


def contiguous(stamps):
    s = sorted(stamps)
    return all(b - a == 1 for a, b in zip(s, s[1:]))


def test_one_point_per_second_for_every_core_group(carbon_cache):
    proc = subprocess.Popen(
        [sys.executable, "-m", "carbon_client", "run", "--interval", "1", "--hostname", "itest",
         "--carbon", f"127.0.0.1:{carbon_cache.port}", "--no-show"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(11)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err

    metrics = carbon_cache.metrics()
    disks = sorted({m.split(".")[2] for m in metrics if m.startswith("itest.disk.")} - {"total"})
    nics = sorted({m.split(".")[2] for m in metrics if m.startswith("itest.net.")} - {"total"})
    assert disks, f"no disk metrics among {metrics[:20]}"
    assert nics, "no NIC metrics"
    wanted = {
        "itest.load.1m": 10,  # gauges from the first sample
        "itest.memory.used": 10,
        "itest.cpu.total.idle": 9,  # rates from the second
        f"itest.disk.{disks[0]}.write_bytes": 9,
        f"itest.net.{nics[0]}.rx_bytes": 9,
        "itest.disk.total.busy_percent": 9,
        "itest.net.total.tx_packets": 9,
    }
    for path, n in wanted.items():
        pts = carbon_cache.wait_points(path, n, timeout=15)
        assert len(pts) >= n, f"{path}: {len(pts)} points, wanted {n}: {sorted(pts)}"
        assert contiguous(pts), f"{path}: gaps in {sorted(pts)}"
    # every path the agent sent is a valid Graphite path: no stray levels (pressure's keys have two)
    stray = [m for m in metrics if len(m.split(".")) not in (3, 4) and not (
        m.startswith("itest.pressure.") and m.split(".")[3] in ("some", "full") and len(m.split(".")) == 5)]
    assert not stray, stray


def test_a_level_too_long_for_whisper_is_stored_cut(carbon_cache, tmp_path):
    """carbon-cache drops a metric with a level longer than a file name may be, without a word:
    an exec script's path (or a long mount point, a systemd unit) is cut to a level it keeps."""
    job = tmp_path / "job.sh"
    job.write_text('#!/bin/sh\necho "' + "q" * 300 + '.depth 7"\n')
    job.chmod(0o755)
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(yaml.safe_dump({"exec": [{"name": "myjob", "command": [str(job)]}]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "carbon_client", "run", "--config", str(cfg), "--interval", "1",
         "--collectors", "load", "--hostname", "ltest", "--carbon", f"127.0.0.1:{carbon_cache.port}",
         "--no-show"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    path = f"ltest.myjob.{sanitize('q' * 300)}.depth"
    try:
        pts = carbon_cache.wait_points(path, 2, timeout=15)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert len(pts) >= 2 and set(pts.values()) == {7.0}, (sorted(pts.items()), carbon_cache.metrics())
