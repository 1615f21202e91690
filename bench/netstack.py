#!/usr/bin/env python3
"""Cycle time and CPU of the pressure, netstat, sockstat, softnet, conntrack, kernel and
processes collectors.

Each collector runs alone, the way the agent runs it every cycle: the source's
per-cycle memo cleared, ``read()``, the sampler (rates), and the renderer (lines,
default layout), after two warm-up cycles. Wall time (perf_counter) and CPU time
(process_time) are taken around those three steps. Three settings:

- ``host``: this machine's /proc as it is (a group whose source is missing is
  left out), netstat both with its default fields and with ``all``;
- ``synthetic``: kernel and processes on a /proc tree in a temporary directory
  (/dev/shm when there) holding ``--processes`` pid directories with a stat
  line each (states mixed), and uptime, loadavg, stat, file-nr and
  entropy_avail copied from this host. Regular files on tmpfs cost less to read
  than procfs files, which the kernel formats on every read, so also:
- ``spawned``: kernel and processes on this machine's /proc with
  ``--processes`` extra ``sleep`` processes started for the run (and killed
  after it); ``--processes 0`` skips this.

Then what the host-cycle groups (pressure, netstat, sockstat, softnet,
conntrack) add to a whole cycle: two agents on this host's /proc, one with the
core groups (load, cpu, memory, swap, disk, net), one with those and the five,
take turns, each cycle after ``--sleep`` seconds asleep (cold caches, as at a
1 s interval); the median CPU time of the calling thread per cycle of each.

At a 1 s interval the CPU per cycle in ms is also the CPU in ms per second.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import print_machine, summary, table

from carbon_client.agent import Agent
from carbon_client.collectors import REGISTRY
from carbon_client.config import build
from carbon_client.lines import Renderer
from carbon_client.metrics import Unavailable
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from carbon_client.source import Source

GROUPS = ("pressure", "netstat", "sockstat", "softnet", "conntrack", "kernel", "processes")
CORE = "load,cpu,memory,swap,disk,net"
HOST_CYCLE = "pressure,netstat,sockstat,softnet,conntrack"
COPIED = ("uptime", "loadavg", "stat", "sys/fs/file-nr", "sys/kernel/random/entropy_avail")
# A host's mix: mostly sleeping, idle kernel threads, a few running, one zombie.
STATES = "S" * 12 + "I" * 5 + "R" + "D" + "Z"


def pids(root: str = "/proc") -> int:
    return sum(1 for n in os.listdir(root) if n.isdigit())


def measure(name: str, source: Source, options: dict, cycles: int) -> dict:
    collector = REGISTRY[name](source, build(None, {"interval": 1, **options}))
    try:
        collector.probe()
    except Unavailable as exc:
        return {"collector": name, "skipped": str(exc)}
    sampler = Sampler(collector)
    renderer = Renderer(DefaultLayout("bench"))
    before = pids(source.proc_root)
    wall, cpu = [], []
    lines = 0
    for k in range(cycles + 2):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        source.new_cycle()
        sample = sampler.update(collector.read(), time.monotonic())
        out: list[str] = []
        renderer.render(sample, 1_700_000_000 + k, out)
        c1, w1 = time.process_time(), time.perf_counter()
        if k >= 2:
            wall.append((w1 - w0) * 1000.0)
            cpu.append((c1 - c0) * 1000.0)
            lines = len(out)
        time.sleep(0.002)  # let counters move a little between reads
    return {"collector": name, "lines": lines, "wall_ms": summary(wall), "cpu_ms": summary(cpu),
            "processes": (before, pids(source.proc_root))}


def synthetic_tree(root: Path, processes: int) -> Path:
    proc = root / "proc"
    for rel in COPIED:
        (proc / rel).parent.mkdir(parents=True, exist_ok=True)
        (proc / rel).write_bytes(Path("/proc", rel).read_bytes())
    template = Path(f"/proc/{os.getpid()}/stat").read_text()
    tail = template[template.rindex(")") + 4:]
    for i in range(processes):
        pid = 1000 + i
        (proc / str(pid)).mkdir()
        (proc / str(pid) / "stat").write_text(f"{pid} (worker {i}) {STATES[i % len(STATES)]} {tail}")
    return proc


def spawn(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen(["sleep", "3600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            for _ in range(n)]


def agents_side_by_side(cycles: int, sleep: float) -> dict:
    """Median thread CPU ms of one cycle: the core groups alone, and with the host-cycle groups."""
    runs = {}
    for name, collectors in (("core", CORE), ("core + five", f"{CORE},{HOST_CYCLE}")):
        runs[name] = Agent(build(None, {"collectors": collectors, "interval": 1, "hostname": "bench"}),
                           health=False, workers=0)
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    lines = {}
    for k in range(cycles + 2):
        for name, agent in runs.items():
            time.sleep(sleep)
            c0 = time.thread_time()
            result = agent.cycle(1_700_000_000 + k)
            c1 = time.thread_time()
            if k >= 2:
                cpu[name].append((c1 - c0) * 1000.0)
                lines[name] = result.lines
    for agent in runs.values():
        agent.close()
    return {name: {"lines": lines[name], "cpu_ms": summary(cpu[name])} for name in runs}


def rows_of(setting: str, results: list[dict]) -> list[tuple]:
    rows = []
    for r in results:
        if "skipped" in r:
            rows.append((setting, r["collector"], "-", "-", "-", "-", "-", f"skipped: {r['skipped']}"))
            continue
        (wm, wmed, wp95), (cm, _, _) = r["wall_ms"], r["cpu_ms"]
        lo, hi = sorted(r["processes"])
        note = r.get("note", "") or f"{lo}-{hi} processes"
        rows.append((setting, r["collector"], r["lines"], f"{wm:.3f}", f"{wmed:.3f}", f"{wp95:.3f}", f"{cm:.3f}", note))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=200, help="timed cycles per collector (default 200)")
    ap.add_argument("--processes", type=int, default=2000, help="processes of the synthetic and spawned hosts")
    ap.add_argument("--agent-cycles", type=int, default=150, help="cycles of each agent side by side (0: skip)")
    ap.add_argument("--sleep", type=float, default=0.2, help="seconds asleep before each agent cycle")
    ap.add_argument("--json", metavar="FILE", help="write the results here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    print_machine()

    results: dict[str, list[dict]] = {}
    host = Source()
    results["host"] = [measure(g, host, {}, args.cycles) for g in GROUPS]
    every = measure("netstat", host, {"netstat_fields": "all"}, args.cycles)
    every["note"] = "netstat_fields: all"
    results["host"].append(every)
    host.close()

    tmp = Path(tempfile.mkdtemp(prefix="bench-netstack-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        synthetic = Source(str(synthetic_tree(tmp, args.processes)))
        results["synthetic"] = [measure(g, synthetic, {}, args.cycles) for g in ("kernel", "processes")]
        for r in results["synthetic"]:
            r["note"] = f"{args.processes} pid directories on tmpfs"
        synthetic.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.processes:
        children = spawn(args.processes)
        try:
            live = Source()
            results["spawned"] = [measure(g, live, {}, args.cycles) for g in ("kernel", "processes")]
            live.close()
        finally:
            for c in children:
                c.kill()
            for c in children:
                c.wait()

    rows = [row for setting, rs in results.items() for row in rows_of(setting, rs)]
    print()
    print(table(("host", "collector", "lines", "wall mean ms", "wall median ms", "wall p95 ms", "CPU mean ms",
                 "processes on the host, before-after / note"),
                rows, title=f"read + rates + lines of one collector, {args.cycles} cycles each "
                            "(CPU ms per cycle = ms/s at a 1 s interval)"))
    side = {}
    if args.agent_cycles:
        side = agents_side_by_side(args.agent_cycles, args.sleep)
        (core_mean, core_med, _), (all_mean, all_med, _) = side["core"]["cpu_ms"], side["core + five"]["cpu_ms"]
        print()
        print(table(("agent", "lines/cycle", "CPU median ms", "CPU mean ms"),
                    [(n, r["lines"], f"{r['cpu_ms'][1]:.3f}", f"{r['cpu_ms'][0]:.3f}") for n, r in side.items()],
                    title=f"Agent.cycle() after {args.sleep:g} s asleep, {args.agent_cycles} cycles each, taking turns "
                          f"(thread CPU; the five: {HOST_CYCLE})"))
        print(f"\nthe five add {all_med - core_med:.3f} ms CPU to a cycle (median; mean {all_mean - core_mean:.3f})")
    if args.json:
        Path(args.json).write_text(json.dumps({"benchmark": "netstack", "results": results, "agents": side},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
