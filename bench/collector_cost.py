#!/usr/bin/env python3
"""What each collector costs a cycle on this host, cold, read and rendered.

Every collector the agent runs by default (and its health groups) is read
and its lines rendered as `Agent.cycle` does, one collector after another,
after ``--sleep`` seconds asleep (at a 1 s interval every cycle starts with
cold caches); ``--cycles`` times. Prints the median thread CPU time of each
and their sum: where the default collectors' CPU goes.

    .venv/bin/python bench/collector_cost.py [--cycles 40] [--sleep 0.25]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from benchlib import print_machine, table  # noqa: E402

from carbon_client.agent import Agent  # noqa: E402
from carbon_client.config import build  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=40)
    ap.add_argument("--sleep", type=float, default=0.25)
    args = ap.parse_args(argv)
    print_machine()
    logging.disable(logging.WARNING)
    agent = Agent(build(None, {"interval": 1}), health=True)
    cost: dict[str, list[float]] = {}
    lines: dict[str, int] = {}
    for _ in range(args.cycles):
        time.sleep(args.sleep)
        agent.source.new_cycle()
        for slot in agent.slots + agent.health_slots:
            if not agent._ready(slot):
                continue
            t0 = time.thread_time_ns()
            sample = agent._read(slot)
            out: list[str] = []
            if sample is not None:
                agent.renderer.render(sample, 1, out)
            cost.setdefault(slot.collector.name, []).append((time.thread_time_ns() - t0) / 1000)
            lines[slot.collector.name] = len(out)
    medians = {name: statistics.median(v) for name, v in cost.items()}
    rows = [(name, f"{us:.0f}", lines[name]) for name, us in sorted(medians.items(), key=lambda kv: -kv[1])]
    rows.append(("all", f"{sum(medians.values()):.0f}", sum(lines.values())))
    print()
    print(table(("collector", "us a cycle (median)", "lines"), rows,
                title=f"{args.cycles} cycles, {args.sleep:g} s asleep before each, thread CPU time"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
