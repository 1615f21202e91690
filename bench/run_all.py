#!/usr/bin/env python3
"""Run every benchmark (each in its own process, as `make bench` does) and print a summary.

Exit status: 2 when a benchmark could not run (a tool missing, a crash);
otherwise 0, or with --strict 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import print_machine, table

HERE = Path(__file__).resolve().parent

BENCHMARKS = (
    ("agent_vs_collectd", "carbon-client vs collectd, side by side into one carbon-cache"),
    ("synthetic_proc", "Agent.cycle() at 1000 NICs + 200 disks"),
    ("sender_throughput", "the sender vs graphyte over loopback"),
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60.0,
                    help="agent_vs_collectd measurement window (default 60)")
    ap.add_argument("--only", metavar="NAME,..", help="run only these benchmarks")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - {name for name, _ in BENCHMARKS}
    if unknown:
        ap.error(f"unknown benchmark {', '.join(sorted(unknown))}")

    print_machine()
    rows, worst = [], 0
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for name, what in BENCHMARKS:
            if only and name not in only:
                continue
            out = Path(tmp) / f"{name}.json"
            cmd = [sys.executable, str(HERE / f"{name}.py"), "--json", str(out)]
            if name == "agent_vs_collectd":
                cmd += ["--seconds", str(args.seconds)]
            print(f"\n==== {name}: {what}\n$ bench/{name}.py {' '.join(cmd[4:])}".rstrip(), flush=True)
            t0 = time.monotonic()
            rc = subprocess.call(cmd)
            took = time.monotonic() - t0
            if not out.exists():
                rows.append((name, "did not run", "", f"exit {rc}", ""))
                worst = 2
                continue
            for t in json.loads(out.read_text())["targets"]:
                rows.append((name, t["name"], t["measured"], t["goal"], "PASS" if t["ok"] else "FAIL"))
                if not t["ok"]:
                    worst = max(worst, 1)
            print(f"({name} took {took:.0f} s)", flush=True)
    print()
    print(table(("benchmark", "target", "measured", "goal", ""), rows, title="Summary"))
    if worst == 1 and not args.strict:
        return 0
    return worst


if __name__ == "__main__":
    sys.exit(main())
