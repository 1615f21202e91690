"""Running `carbon-client run` as a process in the fault tests, and reading what arrived."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from carbon_client.sender import records as rec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLI = [sys.executable, "-m", "carbon_client"]
COLLECTORS = "load,memory,swap,net"

started: list[subprocess.Popen] = []  # what conftest.py kills after a test that failed midway


def pairs(lines) -> set[tuple[str, int]]:
    out = set()
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode()
        path, _value, ts = line.split()
        out.add((path, int(ts)))
    return out


def arrived(srv, produced, timeout=15):
    """What ``srv`` received, once it has all of ``produced`` or the timeout passed."""
    return pairs(srv.wait_for(lambda g: produced <= pairs(g), timeout=timeout))


def assert_all_arrived(produced, received):
    missing = produced - received
    assert not missing, f"{len(missing)} of {len(produced)} lost, e.g. {sorted(missing)[:3]}"


def start_agent(tmp_path, *args, preexec=None, name="agent", inject=None, env=None):
    """`carbon-client run` on the fixture /proc at a 1 s interval; ``inject``: Python run in
    the agent's process before it starts (a fault no outside action can cause)."""
    cli = CLI
    if inject is not None:
        cli = [sys.executable, "-c", f"import sys\n{inject}\nfrom carbon_client.cli import main\n"
               "raise SystemExit(main(sys.argv[1:]))"]
    err = open(tmp_path / f"{name}.err", "w")
    proc = subprocess.Popen(
        cli + ["run", "--no-show", "--interval", "1", "--proc-root", str(FIXTURES / "procfs"),
               "--sys-root", str(FIXTURES), "--collectors", COLLECTORS] + [str(a) for a in args],
        stdout=subprocess.DEVNULL, stderr=err, preexec_fn=preexec, env=env,
    )
    proc.err_path = tmp_path / f"{name}.err"
    started.append(proc)
    return proc


def log_of(proc) -> str:
    return proc.err_path.read_text()


def wait_for(predicate, timeout: float = 20.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def stop_agent(proc, sig=signal.SIGTERM, timeout=30):
    proc.send_signal(sig)
    proc.wait(timeout)
    return proc.err_path.read_text()


def peak_rss_mb(proc) -> float:
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def spooled(spool_dir) -> set[tuple[str, int]]:
    out = set()
    for path in Path(spool_dir).rglob("*.seg"):
        data = path.read_bytes()
        for off, length, _n in rec.scan(data, rec.FILE_HEADER_SIZE)[0]:
            out |= pairs(data[off + rec.HEADER.size: off + length].splitlines())
    return out


def assert_contiguous_and_complete(got: set[tuple[str, int]], host: str, paths_per_tick: int):
    """Every tick between the first and the last has every path of the steady set."""
    mine = {(p, ts) for p, ts in got if p.startswith(host + ".")}
    stamps = sorted({ts for _, ts in mine})
    assert stamps, f"nothing from {host}"
    assert stamps == list(range(stamps[0], stamps[-1] + 1)), f"gaps in {stamps}"
    per_tick = {ts: sum(1 for _, t in mine if t == ts) for ts in stamps}
    # the first tick of a run has no rates: only steady ticks must be complete
    short = [ts for ts in stamps[1:] if per_tick[ts] < paths_per_tick]
    assert not short, f"incomplete ticks {short[:5]}"


@functools.lru_cache(maxsize=None)
def steady_paths() -> int:
    """How many lines one steady tick of the process scenarios has (two samples, rates included)."""
    r = subprocess.run(CLI + ["once", "--interval", "1", "--proc-root", str(FIXTURES / "procfs"),
                              "--sys-root", str(FIXTURES), "--collectors", COLLECTORS],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # `once` has no sender: its health lines lack the sender's rates; count without health
    return sum(1 for line in r.stdout.splitlines() if ".carbon_client." not in line)


def without_health(got):
    return {(p, ts) for p, ts in got if ".carbon_client." not in p}


def full_pipe() -> tuple[int, int]:
    """A pipe already holding all it can: every blocking write to it waits for a reader."""
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)
    return r, w
