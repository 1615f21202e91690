"""The live view of `carbon-client run`: its rows and sender block on the snapshots, what importing
it costs `run`, and `run` printing rows with --show and nothing on stdout without it."""

from __future__ import annotations

import io
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from carbon_client.agent import Agent
from carbon_client.config import build
from carbon_client.top.live import LiveView
from tests.conftest import ROOT
from tests.top.snapshots import Clock, swap_in


class FakeSender:
    """What the agent asks of a sender: ``put`` the lines, ``health`` its counters
    (sent, dropped, resent, reconnects, buffered, spooled, connected, destination)."""

    def __init__(self) -> None:
        self.sent, self.buffered, self.connected = 1000, 0, 1

    def put(self, data: bytes, lines: int) -> None:
        pass

    def health(self) -> tuple:
        return (self.sent, 0, 0, 0, self.buffered, 0, self.connected, self.connected)


def test_live_view_rows_and_sender_block_from_the_health_sample(snaps):
    clock = Clock(snaps)
    for rel in ("net/rpc/nfs", "net/rpc/nfsd"):
        (snaps.proc / rel).unlink()
    config = build(None, {"proc_root": str(snaps.proc), "sys_root": str(snaps.sys), "interval": 1})
    sender = FakeSender()
    agent = Agent(config, sender=sender, monotonic=clock, health_every_tick=True)  # as the daemon with a view
    out = io.StringIO()
    view = LiveView(out, color=False, tty=False)
    view.show(agent.cycle(1000))
    assert out.getvalue() == (
        "--total-cpu-usage-- -dsk/total- -net/total- ---paging-- ---system-- "
        "------carbon-----\n"
        "usr sys idl wai stl| read  writ| recv  send|  in   out | int   csw "
        "| sent queue  conn\n"
    )
    clock.wait(1.0)
    sender.sent, sender.buffered = 1250, 7
    view.show(agent.cycle(1001))
    # the agent's default disks: whole disks, no ram: 1 MiB read, sda + vda written;
    # the carbon block is the health sample's: 250 lines/s sent, 7 queued, connected
    row = f" 10   4  80   5   1|1024k 2048B| 979k  512B|{swap_in()}    0 |1500    12k| 250     7  up   \n"
    assert out.getvalue().splitlines(keepends=True)[2] == row
    clock.wait(1.0)
    sender.buffered, sender.connected = 900, 0
    view.show(agent.cycle(1002))
    assert out.getvalue().splitlines()[3].endswith("|   0   900  down ")


def test_live_view_without_health_shows_dashes_for_the_sender(snaps):
    clock = Clock(snaps)
    config = build(None, {"proc_root": str(snaps.proc), "sys_root": str(snaps.sys), "interval": 1,
                          "collectors": ["system"]})
    agent = Agent(config, monotonic=clock, health=False)
    out = io.StringIO()
    view = LiveView(out, color=False, tty=False)
    view.show(agent.cycle(1000))
    clock.wait(1.0)
    view.show(agent.cycle(1001))
    assert out.getvalue().splitlines()[2] == "1500    12k|   -     -      -"


def test_import_is_light():
    code = (
        "import sys; import carbon_client.top.live; "
        "print(' '.join(sorted(m for m in ('argparse', 'curses', 'logging', 'getpass', "
        "'carbon_client.agent', 'carbon_client.config', 'carbon_client.top.command', 'yaml', "
        "'psutil') if m in sys.modules)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    assert proc.stdout.strip() == ""


def test_run_without_a_terminal_does_not_import_the_view():
    code = (
        "import sys; import carbon_client.cli, carbon_client.agent; "
        "print('carbon_client.top' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    assert proc.stdout.strip() == "False"


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
