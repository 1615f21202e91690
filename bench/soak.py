"""Soak: `carbon-client run --interval 1` for minutes while Carbon and the host misbehave.

The agent runs with `mode: all` and two destinations: a real carbon-cache,
and a reference receiver on loopback that never fails, so the reference sees
every (path, timestamp) the agent produced. At random, this script:

- kills carbon-cache (SIGKILL or SIGTERM) and starts it again after a while;
- with ``--faults``, also removes the spool directory while carbon-cache is
  down (what the spool held for it is lost: the agent must count it), sends
  SIGHUP with a broken config file (refused) and SIGHUP with a changed one
  (``buffer_lines``: a new sender takes over the old one's lines).

At the end the carbon-cache's Whisper files are read back and compared with
the reference. Every (path, timestamp) missing from Whisper must be one the
agent counted as lost (its stop message).

    .venv/bin/python bench/soak.py --seconds 300 --faults [--seed 1]

Prints the schedule, lines produced, received by Carbon, missing, what the
agent counted as lost, and its peak RSS.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.carbon_server import CarbonCache  # noqa: E402
from tests.line_server import LineServer  # noqa: E402


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class Soak:
    def __init__(self, args, tmp: Path) -> None:
        self.args = args
        self.rnd = random.Random(args.seed)
        self.tmp = tmp
        self.cache = CarbonCache(tmp / "carbon").start()
        self.ref = LineServer().start()
        self.spool = tmp / "spool"
        self.config_path = tmp / "soak.yaml"
        self.buffer_lines = 1000  # small: the spool takes lines from the first seconds of an outage
        self.write_config()
        self.agent = subprocess.Popen(
            [sys.executable, "-m", "carbon_client", "run", "--no-show", "--config", str(self.config_path)],
            stdout=subprocess.DEVNULL, stderr=open(tmp / "agent.err", "w"), cwd=ROOT,
        )
        self.events: dict[str, int] = {}
        self.peak_rss = 0

    def write_config(self, text: str | None = None) -> None:
        self.config_path.write_text(text if text is not None else yaml.safe_dump({
            "interval": 1, "hostname": "soak", "mode": "all", "spool_dir": str(self.spool),
            "carbon": [f"127.0.0.1:{self.cache.port}", f"127.0.0.1:{self.ref.port}"],
            "buffer_lines": self.buffer_lines,
        }))

    def note(self, event: str, detail: str = "") -> None:
        self.events[event] = self.events.get(event, 0) + 1
        print(f"  {time.monotonic() - self.t0:6.1f} s  {event}{detail}", flush=True)

    def wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            self.peak_rss = max(self.peak_rss, status_kb(self.agent.pid, "VmHWM"))

    def carbon_outage(self) -> None:
        how = self.rnd.choice(["SIGKILL", "SIGTERM"])
        self.cache.stop(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)
        down = self.rnd.uniform(self.args.down_min, self.args.down_max)
        self.note(f"{how} carbon-cache", f", down {down:.1f} s")
        if self.args.faults and self.rnd.random() < 0.5:
            self.wait(down / 2)
            shutil.rmtree(self.spool, ignore_errors=True)
            self.note("spool directory removed")
            self.wait(down / 2)
        else:
            self.wait(down)
        self.cache.start()

    def bad_reload(self) -> None:
        self.write_config("interval: [\n")
        self.agent.send_signal(signal.SIGHUP)
        self.note("SIGHUP with a broken config")
        self.wait(2.5)
        self.write_config()

    def good_reload(self) -> None:
        self.buffer_lines = 1200 if self.buffer_lines == 1000 else 1000
        self.write_config()
        self.agent.send_signal(signal.SIGHUP)
        self.note("SIGHUP with a new buffer_lines", f" ({self.buffer_lines})")

    def run(self) -> int:
        args = self.args
        self.t0 = time.monotonic()
        t_end = self.t0 + args.seconds - args.calm
        print(f"soak: {args.seconds:.0f} s, agent pid {self.agent.pid}, carbon-cache :{self.cache.port}, "
              f"logs in {self.tmp}")
        faults = [self.carbon_outage] + ([self.bad_reload, self.good_reload] if args.faults else [])
        while time.monotonic() < t_end:
            self.wait(min(self.rnd.uniform(args.up_min, args.up_max), max(0.0, t_end - time.monotonic())))
            if time.monotonic() < t_end:
                self.rnd.choice(faults)()
        self.wait(args.calm)
        self.agent.send_signal(signal.SIGTERM)
        self.agent.wait(60)
        time.sleep(5)  # carbon-cache writes what it holds
        return self.report()

    def report(self) -> int:
        produced = set()
        for line in self.ref.lines():
            path, _value, ts = line.split()
            produced.add((path, int(ts)))
        self.ref.stop()
        received = set()
        for p in {p for p, _ in produced}:
            received |= {(p, ts) for ts in self.cache.points(p)}
        self.cache.stop()
        missing = produced - received
        err = (self.tmp / "agent.err").read_text()
        stop = re.search(r"stopped[:;] .*", err)
        totals = re.search(r"stopped: \d+ lines sent, (\d+) dropped.*, (\d+) unsent", err)
        counted = int(totals.group(1)) + int(totals.group(2)) if totals else 0
        print()
        print(f"{'seconds':>24}: {self.args.seconds:.0f}")
        print(f"{'events':>24}: " + ", ".join(f"{n} {e}" for e, n in sorted(self.events.items())))
        print(f"{'(path, ts) produced':>24}: {len(produced)}")
        print(f"{'received by Carbon':>24}: {len(produced & received)}")
        print(f"{'missing':>24}: {len(missing)}" + (f"  e.g. {sorted(missing)[:3]}" if missing else ""))
        print(f"{'counted lost by agent':>24}: {counted}")
        print(f"{'agent peak RSS':>24}: {self.peak_rss / 1024:.1f} MB")
        print(f"{'agent exit':>24}: {self.agent.returncode}")
        print(f"{'agent stop message':>24}: {stop.group(0) if stop else '(none)'}")
        ok = stop is not None and len(missing) <= counted and self.agent.returncode == 0
        return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--faults", action="store_true",
                    help="also remove the spool directory and send SIGHUP with broken and changed configs")
    ap.add_argument("--down-min", type=float, default=2)
    ap.add_argument("--down-max", type=float, default=12)
    ap.add_argument("--up-min", type=float, default=10)
    ap.add_argument("--up-max", type=float, default=40)
    ap.add_argument("--calm", type=float, default=20,
                    help="seconds at the end with Carbon up, so the agent can deliver its backlog")
    args = ap.parse_args()
    return Soak(args, Path(tempfile.mkdtemp(prefix="soak-"))).run()


if __name__ == "__main__":
    raise SystemExit(main())
