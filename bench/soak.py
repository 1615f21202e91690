"""Soak: `carbon-client run --interval 1` for minutes while Carbon is killed and restarted at random.

The agent runs with `mode: all` and two destinations: a real carbon-cache
that this script kills (SIGKILL) or stops (SIGTERM) at random, and a
reference receiver on loopback that never fails. The reference therefore
sees every (path, timestamp) the agent produced; at the end the carbon-cache's
Whisper files are read back and compared with it.

    .venv/bin/python bench/soak.py --seconds 300 [--seed 1]

Prints: lines produced, received by Carbon, missing, duplicates resent, the
restarts, and the agent's peak RSS.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.carbon_server import CarbonCache  # noqa: E402
from tests.line_server import LineServer  # noqa: E402


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--down-min", type=float, default=2)
    ap.add_argument("--down-max", type=float, default=12)
    ap.add_argument("--up-min", type=float, default=10)
    ap.add_argument("--up-max", type=float, default=40)
    ap.add_argument("--calm", type=float, default=20,
                    help="seconds at the end with Carbon up, so the agent can deliver its backlog")
    args = ap.parse_args()
    rnd = random.Random(args.seed)

    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    cache = CarbonCache(tmp / "carbon").start()
    ref = LineServer().start()
    agent = subprocess.Popen(
        [sys.executable, "-m", "carbon_client", "run", "--interval", "1", "--no-show",
         "--hostname", "soak", "--mode", "all", "--spool-dir", str(tmp / "spool"),
         "--carbon", f"127.0.0.1:{cache.port}", "--carbon", f"127.0.0.1:{ref.port}"],
        stdout=subprocess.DEVNULL, stderr=open(tmp / "agent.err", "w"), cwd=ROOT,
    )
    restarts = {"SIGKILL": 0, "SIGTERM": 0}
    peak_rss = 0
    t_end = time.monotonic() + args.seconds - args.calm
    print(f"soak: {args.seconds:.0f} s, agent pid {agent.pid}, carbon-cache :{cache.port}, logs in {tmp}")
    while time.monotonic() < t_end:
        up = rnd.uniform(args.up_min, args.up_max)
        while up > 0 and time.monotonic() < t_end:
            time.sleep(1)
            up -= 1
            peak_rss = max(peak_rss, status_kb(agent.pid, "VmHWM"))
        if time.monotonic() >= t_end:
            break
        how = rnd.choice(["SIGKILL", "SIGTERM"])
        cache.stop(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)
        restarts[how] += 1
        down = rnd.uniform(args.down_min, args.down_max)
        print(f"  {how} carbon-cache, down {down:.1f} s")
        time.sleep(down)
        cache.start()
    calm_end = time.monotonic() + args.calm
    while time.monotonic() < calm_end:
        time.sleep(1)
        peak_rss = max(peak_rss, status_kb(agent.pid, "VmHWM"))
    agent.send_signal(signal.SIGTERM)
    agent.wait(60)
    time.sleep(5)  # carbon-cache writes what it holds

    produced: set[tuple[str, int]] = set()
    for line in ref.lines():
        path, _value, ts = line.split()
        produced.add((path, int(ts)))
    ref.stop()
    paths = {p for p, _ in produced}
    received: set[tuple[str, int]] = set()
    for p in paths:
        received |= {(p, ts) for ts in cache.points(p)}
    cache.stop()
    missing = produced - received
    err = (tmp / "agent.err").read_text()
    losses = sum(1 for line in err.splitlines() if "lost:" in line)
    print()
    print(f"{'seconds':>22}: {args.seconds:.0f}")
    print(f"{'carbon restarts':>22}: {restarts['SIGKILL']} SIGKILL, {restarts['SIGTERM']} SIGTERM")
    print(f"{'(path, ts) produced':>22}: {len(produced)}")
    print(f"{'received by Carbon':>22}: {len(produced & received)}")
    print(f"{'missing':>22}: {len(missing)}" + (f"  e.g. {sorted(missing)[:3]}" if missing else ""))
    print(f"{'connection losses':>22}: {losses}")
    print(f"{'agent peak RSS':>22}: {peak_rss / 1024:.1f} MB")
    print(f"{'agent exit':>22}: {agent.returncode}")
    return 0 if not missing and agent.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
