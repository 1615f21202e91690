#!/usr/bin/env python3
"""The cgroup and process groups: cycle time and CPU at 500 cgroups and 2000 processes.

cgroup: a synthetic pure v2 tree under a temporary sys root with N cgroups
(3/5 services in system.slice, 1/5 Docker scopes, 1/5 Kubernetes containers
in burstable pods), each with the files a 6.x kernel has with the cpu, io,
memory and pids controllers on (cpu.stat, memory.current, memory.max,
memory.stat as the telegraf capture has it, io.stat with two devices,
pids.current, cpu/memory/io.pressure). Before each cycle (outside the
timing) every cgroup's cpu.stat and io.stat grow, so every rate is computed.

process: psutil cannot read a synthetic /proc of thousands of processes
cheaply to build, so this part starts real ``sleep`` processes on this host
(up to ``--processes``, default 2000, as ``sleep 3600`` to ``sleep 3699``)
and measures three sets of groups: four groups finding few members (by
name, a regex on the command line, user ``nobody``, and this process's
pidfile), which costs the scan of every process; a group of which every
sleep is a member (``process: sleep``), which adds reading each member; and
a pidfile group alone, which reads no other process.

Each part runs ``Agent.cycle()`` with that collector only (and the health
groups), one cycle after another; wall time (perf_counter) and CPU time
(process_time) are taken around each call. The resident memory of this
process is shown after each size.

    .venv/bin/python bench/procs_cgroups.py [--cgroups 500] [--processes 2000] [--cycles 50]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, print_machine, status_kb, summary, table

from carbon_client.agent import Agent
from carbon_client.config import build
from carbon_client.config.procs import process_groups

TELEGRAF = ROOT / "tests/fixtures/wave2/cgroup2-telegraf-single"
PSI = "some avg10=0.12 avg60=0.05 avg300=0.01 total={}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total={}\n"


def container_id(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def cgroup_dirs(n: int) -> list[str]:
    services = n * 3 // 5
    docker = n // 5
    kube = n - services - docker
    out = [f"system.slice/svc{i:04d}.service" for i in range(services)]
    out += [f"system.slice/docker-{container_id(i)}.scope" for i in range(docker)]
    out += [f"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{i // 4:08x}.slice/"
            f"cri-containerd-{container_id(docker + i)}.scope" for i in range(kube)]
    return out


def build_cgroups(sys_root: Path, n: int) -> list[Path]:
    cg = sys_root / "fs/cgroup"
    cg.mkdir(parents=True)
    (cg / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    memory_stat = (TELEGRAF / "memory.stat").read_text()
    dirs = []
    for i, rel in enumerate(cgroup_dirs(n)):
        d = cg / rel
        d.mkdir(parents=True)
        (d / "memory.current").write_text(f"{100_000_000 + i * 4096}\n")
        (d / "memory.max").write_text("max\n" if i % 2 else f"{1 << 30}\n")
        (d / "memory.stat").write_text(memory_stat)
        (d / "pids.current").write_text(f"{1 + i % 40}\n")
        for res in ("cpu", "memory", "io"):
            (d / f"{res}.pressure").write_text(PSI.format(1000 + i, 500 + i))
        dirs.append(d)
    return dirs


def grow_cgroups(dirs: list[Path], k: int) -> None:
    for i, d in enumerate(dirs):
        (d / "cpu.stat").write_text(
            f"usage_usec {1_000_000 + k * (5000 + i)}\nuser_usec {k * 3000}\nsystem_usec {k * 2000}\n"
            f"core_sched.force_idle_usec 0\nnr_periods {k * 10}\nnr_throttled {k}\nthrottled_usec {k * 100}\n"
            "nr_bursts 0\nburst_usec 0\n")
        (d / "io.stat").write_text(
            f"259:0 rbytes={k * 4096 * (i + 1)} wbytes={k * 8192} rios={k} wios={k * 2} dbytes=0 dios=0\n"
            f"8:0 rbytes={k * 512} wbytes=0 rios={k} wios=0 dbytes=0 dios=0\n")


def timed(agent: Agent, cycles: int, before=None) -> dict:
    ts = 1_700_000_000
    for k in (1, 2):  # the first has no rates; the second makes the line plans
        if before:
            before(k)
        agent.cycle(ts + k)
    wall, cpu = [], []
    for k in range(3, 3 + cycles):
        if before:
            before(k)
        w0, c0 = time.perf_counter(), time.process_time()
        result = agent.cycle(ts + k)
        c1, w1 = time.process_time(), time.perf_counter()
        wall.append((w1 - w0) * 1000.0)
        cpu.append((c1 - c0) * 1000.0)
    return {"wall_ms": summary(wall), "cpu_ms": summary(cpu), "lines": result.lines,
            "instances": {s.collector.group: len(s.values) for s in result.samples},
            "rss_kb": status_kb(os.getpid(), "VmRSS")["VmRSS"]}


def measure_cgroups(n: int, cycles: int, tmp: Path) -> dict:
    root = tmp / f"cg{n}"
    sys_root, proc = root / "sys", root / "proc"
    proc.mkdir(parents=True)
    dirs = build_cgroups(sys_root, n)
    config = build(None, {"sys_root": str(sys_root), "proc_root": "/proc", "collectors": "cgroup",
                          "interval": 1, "hostname": "bench"})
    agent = Agent(config)
    r = timed(agent, cycles, lambda k: grow_cgroups(dirs, k))
    if r["instances"].get("cgroup") != n:
        raise RuntimeError(f"expected {n} cgroups, read {r['instances']}")
    shutil.rmtree(root, ignore_errors=True)
    return {"cgroups": n, **r}


def start_sleepers(procs: list, n: int) -> None:
    while len(procs) < n:
        procs.append(subprocess.Popen(["sleep", f"{3600 + len(procs) % 100}"], stdin=subprocess.DEVNULL))


def measure_processes(groups: list[dict], cycles: int) -> dict:
    config = build({"process_groups": process_groups(groups, "process_groups")},
                   {"collectors": "process", "interval": 1, "hostname": "bench"})
    return timed(Agent(config), cycles)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cgroups", type=int, default=500)
    ap.add_argument("--processes", type=int, default=2000, help="sleep processes to start (default 2000)")
    ap.add_argument("--cycles", type=int, default=50, help="timed cycles per size (default 50)")
    ap.add_argument("--json", metavar="FILE", help="write the results here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    print_machine()

    tmp = Path(tempfile.mkdtemp(prefix="bench-cgroups-"))
    try:
        cg = []
        for f in (10, 25, 50, 100):
            gc.collect()
            cg.append(measure_cgroups(max(1, args.cgroups * f // 100), args.cycles, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [(r["cgroups"], r["lines"], *(f"{x:.2f}" for x in r["wall_ms"]), f"{r['cpu_ms'][0]:.2f}",
             f"{r['wall_ms'][1] * 1000 / r['cgroups']:.0f}", f"{r['rss_kb'] / 1024:.1f}") for r in cg]
    print()
    print(table(("cgroups", "lines/cycle", "wall mean ms", "wall median ms", "wall p95 ms", "CPU mean ms",
                 "us/cgroup", "RSS MB"), rows,
                title="cgroup: Agent.cycle() on a synthetic v2 tree (perf_counter wall, process_time CPU)"))

    pidfile = Path(tempfile.mkdtemp(prefix="bench-pid-")) / "bench.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    me = {"name": "bench", "pidfile": str(pidfile)}
    variants = (
        # the scan's cost: every process's stat, cmdline and status read; few members measured
        ("few members: name, cmdline, user, pidfile", [
            {"name": "sshd", "process": "sshd"}, {"name": "sleep_3600", "cmdline": r"^sleep 3600$"},
            {"name": "nobody", "user": "nobody"}, me]),
        # and each member's: stat, statm, io, status, fd/
        ("every sleep a member (process: sleep), pidfile", [{"name": "sleepers", "process": "sleep"}, me]),
        ("pidfile only", [me]),
    )
    sleepers: list = []
    pr = []
    try:
        for n in sorted({0, args.processes // 4, args.processes // 2, args.processes}):
            start_sleepers(sleepers, n)
            time.sleep(0.5)
            total = len([p for p in os.listdir("/proc") if p.isdigit()])
            gc.collect()
            for label, groups in variants:
                r = measure_processes(groups, max(5, args.cycles // 2))
                pr.append({"sleeps": n, "processes": total, "groups": label, **r})
    finally:
        for p in sleepers:
            p.kill()
        for p in sleepers:
            p.wait()
        shutil.rmtree(pidfile.parent, ignore_errors=True)
    rows = [(r["sleeps"], r["processes"], r["groups"], r["lines"], *(f"{x:.2f}" for x in r["wall_ms"]),
             f"{r['cpu_ms'][0]:.2f}", f"{r['rss_kb'] / 1024:.1f}") for r in pr]
    print()
    print(table(("sleep processes", "processes on the host", "groups", "lines/cycle", "wall mean ms",
                 "wall median ms", "wall p95 ms", "CPU mean ms", "RSS MB"), rows,
                title="process: Agent.cycle() on this host's real processes (perf_counter wall, process_time CPU)"))
    if args.json:
        Path(args.json).write_text(json.dumps({"benchmark": "procs_cgroups", "cgroup": cg, "process": pr},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
