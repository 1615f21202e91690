#!/usr/bin/env python3
"""The agent's CPU and threads with many probes and exec collectors.

`carbon-client run` at a 10 s interval with N tcp probes (against a loopback
listener) and M exec collectors (a shell script printing five lines), all
at 10 s, into a loopback receiver; CPU ms/s of the whole process over the
window and its thread count, beside the same agent without them.

    .venv/bin/python bench/extensions.py [--probes 100] [--execs 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import cpu_ns, print_machine, status_kb, table, threads

from tests.line_server import LineServer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probes", type=int, default=100)
    ap.add_argument("--execs", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=12.0)
    args = ap.parse_args(argv)
    print_machine()
    server = LineServer()
    server.start()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    tmp = Path(tempfile.mkdtemp(prefix="bench-ext-"))
    script = tmp / "job.sh"
    script.write_text("#!/bin/sh\nfor k in a b c d e; do echo \"queue.$k 1\"; done\n")
    script.chmod(0o755)
    lines = ["probes:"] + [f"  - {{name: p{i}, tcp: '127.0.0.1:{listener.getsockname()[1]}'}}"
                           for i in range(args.probes)]
    lines += ["exec:"] + [f"  - {{name: job{i}, command: ['{script}']}}" for i in range(args.execs)]
    (tmp / "with.yaml").write_text("\n".join(lines) + "\n")
    (tmp / "without.yaml").write_text("{}\n")
    agent = Path(sys.executable).with_name("carbon-client")
    procs = {}
    for name in ("with", "without"):
        procs[name] = subprocess.Popen(
            [str(agent), "run", "--config", str(tmp / f"{name}.yaml"), "--interval", "10", "--no-show",
             "--carbon", f"127.0.0.1:{server.port}", "--hostname", name, "--log-level", "WARNING"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, env=dict(os.environ, CARBON_CLIENT_CONFIG=""))
    try:
        time.sleep(args.warmup)
        t0, ns0 = time.monotonic(), {k: cpu_ns(p.pid) for k, p in procs.items()}
        time.sleep(args.seconds)
        t1 = time.monotonic()
        rows = []
        for k, p in procs.items():
            rss = status_kb(p.pid, "VmRSS")["VmRSS"] / 1024
            rows.append((k, f"{(cpu_ns(p.pid) - ns0[k]) / 1e6 / (t1 - t0):.3f}", threads(p.pid), f"{rss:.1f}"))
    finally:
        for p in procs.values():
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(30)
        server.stop()
        listener.close()
    received = sum(1 for line in server.lines() if line.startswith("with.probe.") and ".up " in line)
    print()
    print(table(("agent", "CPU ms/s", "threads", "RSS MB"), rows,
                title=f"10 s interval, {args.probes} tcp probes and {args.execs} exec collectors at 10 s, "
                      f"{args.seconds:g} s window"))
    print(f"\nprobe results received: {received} (every probe every 10 s: about "
          f"{args.probes * (args.seconds + args.warmup) // 10:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
