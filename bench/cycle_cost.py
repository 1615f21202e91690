#!/usr/bin/env python3
"""The CPU of one collection cycle, the agent's against a plain loop, after real idle time.

At a 1 s interval every cycle starts with cold caches, which costs two to
three times a cycle run back to back; so each cycle here follows a real
sleep (``--sleep``, default 0.2 s). Variants alternate cycle by cycle in one
process, so they share the machine's state:

- ``agent``: `Agent.cycle` with the collectors load, cpu, memory, swap, disk,
  net and the health groups, sending over loopback to a reading receiver;
- ``yardstick``: bench/yardstick.py, the same files read and about the same
  lines made by one plain Python loop, sent the same way.

Prints the median thread CPU time of each, their ratio, the lines each
made, and the garbage collections per cycle.

    .venv/bin/python bench/cycle_cost.py [--cycles 150] [--sleep 0.2]
"""

from __future__ import annotations

import argparse
import gc
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from benchlib import print_machine  # noqa: E402
from yardstick import Yardstick  # noqa: E402

from carbon_client.agent import Agent  # noqa: E402
from carbon_client.config import build  # noqa: E402
from tests.line_server import LineServer  # noqa: E402

COLLECTORS = "load,cpu,memory,swap,disk,net"


class Wire:
    """One connected socket to a reading receiver: what a cycle's send costs."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.lines = 0

    def put(self, data: bytes, lines: int = 0) -> None:
        self.sock.sendall(data)

    def health(self) -> tuple:
        return (self.lines, 0, 0, 0, 0, 0, 1, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=150)
    ap.add_argument("--sleep", type=float, default=0.2)
    args = ap.parse_args()
    print_machine()
    server = LineServer()
    server.start()
    wire = Wire(server.port)
    agent = Agent(build(None, {"collectors": COLLECTORS, "hostname": "bench", "interval": 1}), sender=wire)
    stick = Yardstick("bench")
    health = tuple(range(15))
    variants = {
        "agent": lambda ts: agent.cycle(ts).lines,
        "yardstick": lambda ts: wire.put(data := stick.cycle(ts, health)) or data.count(b"\n"),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    lines: dict[str, int] = {}
    gcs: dict[str, int] = dict.fromkeys(variants, 0)
    ts = int(time.time())
    for i in range(args.cycles + 2):
        for name, run in variants.items():
            time.sleep(args.sleep)
            before = sum(s["collections"] for s in gc.get_stats())
            t0 = time.thread_time_ns()
            lines[name] = run(ts + i)
            spent = (time.thread_time_ns() - t0) / 1000
            if i >= 2:  # the first two: no rates yet, plans being made
                times[name].append(spent)
                gcs[name] += sum(s["collections"] for s in gc.get_stats()) - before
    server.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{args.cycles} cycles each, {args.sleep:g} s asleep before every cycle, medians of thread CPU time\n")
    print("| variant | us per cycle | lines | gc runs per cycle |")
    print("|---|---|---|---|")
    for k in variants:
        print(f"| {k} | {med[k]:.0f} | {lines[k]} | {gcs[k] / args.cycles:.2f} |")
    print(f"\nagent / yardstick: {med['agent'] / med['yardstick']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
