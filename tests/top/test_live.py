"""`carbon-client run` prints dstat-style rows with --show, and nothing on stdout without it."""

from __future__ import annotations

import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import ROOT


class Sink:
    """A Carbon stand-in on loopback that accepts and discards lines."""

    def __init__(self) -> None:
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        with conn:
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass

    def close(self) -> None:
        self.srv.close()


def read_lines(proc: subprocess.Popen, n: int, timeout: float) -> list[str]:
    lines: list[str] = []
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while len(lines) < n and time.monotonic() < deadline:
        if sel.select(deadline - time.monotonic()):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
    return lines


def test_run_shows_rows_only_when_asked():
    exe = shutil.which("carbon-client", path=str(Path(sys.executable).parent))
    assert exe is not None
    sink = Sink()
    common = ["run", "--interval", "1", "--carbon", f"127.0.0.1:{sink.port}",
              "--collectors", "cpu,disk,net,paging,system", "--log-level", "ERROR"]
    shown = subprocess.Popen([exe, *common, "--show"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT)
    quiet = subprocess.Popen([exe, *common], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT)
    try:
        # the header at the first cycle, rows from the second (the first has no rates)
        lines = read_lines(shown, 4, timeout=15)
    finally:
        for p in (shown, quiet):
            p.send_signal(signal.SIGTERM)
        out_quiet, _ = quiet.communicate(timeout=15)
        shown.communicate(timeout=15)
        sink.close()
    assert lines[:2] == [
        "--total-cpu-usage-- -dsk/total- -net/total- ---paging-- ---system-- ------carbon-----",
        "usr sys idl wai stl| read  writ| recv  send|  in   out | int   csw | sent queue  conn",
    ]
    assert len(lines) == 4, lines
    for row in lines[2:]:
        assert len(row) == len(lines[1]), row
        assert row.endswith("  up   "), row  # connected to the sink
        sent = row.split("|")[-1].split()[0]
        assert sent != "-" and float(sent.rstrip("kM")) > 0, row
    assert out_quiet == ""
    assert shown.returncode == 0 and quiet.returncode == 0
