#!/usr/bin/env python3
"""This tree's agent against another revision's, side by side, CPU per second of each.

Each revision is installed in a venv of its own (built once, kept under
``--cache``); both agents run `carbon-client run --interval 1` with the same
flags (default collectors unless --collectors) into one loopback receiver,
started together and measured over the same window, so the machine's state
is the same for both. ``--runs`` windows (default 4), each with fresh
processes, this tree started first in odd windows and second in even ones;
the ratio this/base per window is the figure.

    .venv/bin/python bench/agent_vs_agent.py --base 4f55ce3 [--seconds 60] [--runs 3] [--config FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchlib import cpu_ns, print_machine, table, threads

from tests.line_server import LineServer

ROOT = Path(__file__).resolve().parent.parent


def venv_for(rev: str, cache: Path) -> Path:
    """A venv with revision ``rev`` of this repository installed (not editable)."""
    sha = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    venv = cache / f"venv-{sha[:12]}"
    if (venv / "bin" / "carbon-client").exists():
        return venv
    src = cache / f"src-{sha[:12]}"
    if not src.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(src), sha], cwd=ROOT, check=True,
                       capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(src)], check=True)
    return venv


def start(venv: Path, port: int, host: str, collectors: str | None, config: str | None = None) -> subprocess.Popen:
    argv = [str(venv / "bin" / "carbon-client"), "run", "--interval", "1", "--no-show", "--log-level", "WARNING",
            "--carbon", f"127.0.0.1:{port}", "--hostname", host]
    if collectors:
        argv += ["--collectors", collectors]
    if config:
        argv += ["--config", config]
    env = dict(os.environ, CARBON_CLIENT_CONFIG="")
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=env)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the revision to compare with (a commit, a tag)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=4, help="windows, the start order alternating (default 4)")
    ap.add_argument("--collectors", help="as --collectors of the agent (default: its defaults)")
    ap.add_argument("--config", help="a config file for this tree's agent only (the base may not know its keys)")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "carbon-client-bench"),
                    help="where the revisions' venvs are kept")
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    print_machine()
    tag = hashlib.sha1(str(ROOT).encode()).hexdigest()[:6]
    this = cache / f"venv-this-{tag}"
    if not (this / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(this)], check=True)
        subprocess.run([str(this / "bin" / "pip"), "install", "-q", str(ROOT)], check=True)
    else:
        subprocess.run([str(this / "bin" / "pip"), "install", "-q", "--no-deps", "--force-reinstall", str(ROOT)],
                       check=True)
    base = venv_for(args.base, cache)
    server = LineServer()
    server.start()
    rows, ratios = [], []
    try:
        for run in range(1, args.runs + 1):
            # The order alternates: of two agents ticking at the same instant, the one that runs
            # second finds the interpreter's code in the shared caches (an agent against a copy
            # of itself measured 0.94 to 0.98 for the second started).
            order = [("this tree", this, "this"), (f"base {args.base}", base, "base")]
            procs = {k: start(v, server.port, p, args.collectors, args.config if p == "this" else None)
                     for k, v, p in order[::1 if run % 2 else -1]}
            time.sleep(args.warmup)
            t0, ns0 = time.monotonic(), {k: cpu_ns(p.pid) for k, p in procs.items()}
            time.sleep(args.seconds)
            t1 = time.monotonic()
            cpu = {k: (cpu_ns(p.pid) - ns0[k]) / 1e6 / (t1 - t0) for k, p in procs.items()}
            nthreads = {k: threads(p.pid) for k, p in procs.items()}
            for p in procs.values():
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(20)
            for k in procs:
                rows.append((run, k, f"{cpu[k]:.3f}", nthreads[k]))
            ratios.append(cpu["this tree"] / cpu[f"base {args.base}"])
    finally:
        server.stop()
    print()
    print(table(("run", "agent", "CPU ms/s", "threads"), rows,
                title=f"1 s interval, {args.seconds:g} s windows, the two agents side by side"))
    print(f"\nthis / base, each window: {', '.join(f'{r:.2f}' for r in ratios)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
