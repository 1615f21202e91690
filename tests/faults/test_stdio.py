"""A stdout and stderr that stop taking writes, through `carbon-client run` as a process: a
terminal under scroll lock, a pager left open, a pipe nobody reads (carbon_client/outlet.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest

from tests.faults.process import (
    CLI, COLLECTORS, FIXTURES, assert_contiguous_and_complete, full_pipe, pairs, started, steady_paths, wait_for,
    without_health,
)
from tests.faults.test_loss_and_crash import assert_clean, carbon
from tests.line_server import LineServer


@pytest.mark.parametrize("reads_again", [True, False], ids=["reads-again", "never-reads"])
def test_a_stdout_and_stderr_that_stop_reading_hold_up_no_tick_no_send_no_stop(tmp_path, reads_again):
    """A terminal under scroll lock, a pager left open, a full pipe: the live view's rows and the
    log lines (Carbon down at first: the sender's complaints) wait; the ticks, the sending and
    SIGTERM do not. When the stream reads again, what was written meanwhile comes out."""
    srv = LineServer()  # down at first: the sender has something to log
    r, w = full_pipe()
    proc = subprocess.Popen(
        CLI + ["run", "--show", "--interval", "1", "--proc-root", str(FIXTURES / "procfs"), "--sys-root",
               str(FIXTURES), "--collectors", COLLECTORS, "--hostname", "f", *carbon(srv)],
        stdout=w, stderr=w)
    started.append(proc)
    os.close(w)
    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.extend(iter(lambda: os.read(r, 65536), b"")), daemon=True)
    try:
        time.sleep(1.5)
        srv.start()
        assert srv.wait_for(lambda got: len({ts for _, ts in pairs(got)}) >= 4, timeout=20), \
            "the ticks stopped behind the stalled streams"
        if reads_again:
            reader.start()
            assert wait_for(lambda: b"connected to Carbon" in b"".join(read), timeout=10), \
                "what the sender logged while the stream was stalled never came out"
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        assert proc.wait(15) == 0
        assert time.monotonic() - t0 < 10
    finally:
        proc.kill()
        if reader.ident is None:
            reader.start()
        reader.join(10)
        os.close(r)
    lines = srv.lines()
    srv.stop()
    got = pairs(lines)
    assert_contiguous_and_complete(without_health(got), "f", steady_paths())
    if reads_again:
        out = b"".join(read).decode(errors="replace").replace("x", "")
        assert_clean(out)
        assert "-net/total-" in out, out[-3000:]  # the view's header, written once the stream took it
        assert "SIGTERM received" in out and f"every line sent ({len(lines)})" in out, out[-2000:]
