#!/usr/bin/env python3
"""What each of the agent's speed tricks saves, against the plain way, in one run.

Each trick and its plain alternative run alternately, each after a real sleep
(``--sleep``, default 0.2 s: at a 1 s interval every cycle starts with cold
caches), ``--rounds`` times; the medians of thread CPU time are printed side
by side with what the trick saves per cycle. A trick stays in the code only
while this shows it saving something worth its lines (docs/BENCHMARKS.md).

    .venv/bin/python bench/tricks.py [--rounds 60] [--sleep 0.2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from benchlib import print_machine, table  # noqa: E402

from carbon_client.collectors.agent import PAGE_SIZE, ProcessUsage  # noqa: E402
from carbon_client.collectors.basic import MEMINFO_KEYS  # noqa: E402
from carbon_client.collectors.devices import Net  # noqa: E402
from carbon_client.parsers.diskstats import DiskStats, parse_diskstats  # noqa: E402
from carbon_client.parsers.meminfo import parse_meminfo  # noqa: E402
from carbon_client.parsers.mounts import parse_mounts  # noqa: E402
from carbon_client.parsers.net_dev import NetDev  # noqa: E402
from carbon_client.parsers.vmstat import parse_vmstat  # noqa: E402
from carbon_client.sampling import evaluate, rates  # noqa: E402
from carbon_client.scheduler import StopFlag  # noqa: E402
from carbon_client.source import Source  # noqa: E402

FILES = ("loadavg", "stat", "meminfo", "diskstats", "net/dev")


def read_plain(rel: str) -> str:
    with open(f"/proc/{rel}", "rb") as f:
        return f.read().decode()


def statm_plain() -> tuple:
    t = os.times()
    with open("/proc/self/statm", "rb") as f:
        return t.user + t.system, int(f.read().split()[1]) * PAGE_SIZE


def pairs() -> list[tuple[str, str, callable, callable]]:
    """(trick, plain way, trick's call, plain call), each a whole cycle's worth of its job."""
    source = Source()
    usage = ProcessUsage()
    stop, event = StopFlag(), threading.Event()
    disk = source.read_proc("diskstats")
    unreported = frozenset(line.split()[2] for line in disk.splitlines()
                           if line.split()[2].startswith(("loop", "ram", "zram")))
    meminfo, vmstat = source.read_proc("meminfo"), source.read_proc("vmstat")
    vm_keys = ("pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault")
    schema = Net.default_schema()
    counters = tuple(range(1000, 1008))
    r = rates(counters, tuple(range(990, 998)), 1.0)
    plain_schema = type(schema)(schema.fields, schema.counters, schema.metrics)
    plain_schema.rates_are_values = False
    nic = ("eth0", *range(16))
    pids = [n + "/stat" for n in os.listdir("/proc") if n.isdigit()]
    kernel = ("sys/fs/file-nr", "uptime", "loadavg", "sys/kernel/random/entropy_avail")
    dev = (8, 0, "sda", *range(17), 20)
    source.proc_changed("self/mounts")
    return [
        ("/proc files kept open, pread", "open, read, close", lambda: [source.read_proc(f) for f in FILES],
         lambda: [read_plain(f) for f in FILES]),
        ("/proc/self/statm kept open", "opened each cycle", usage, statm_plain),
        ("StopFlag.wait (a lock)", "threading.Event.wait", lambda: stop.wait(0.0005), lambda: event.wait(0.0005)),
        (f"diskstats: {len(unreported)} unreported lines skipped", "every line converted",
         lambda: parse_diskstats(disk, None, unreported), lambda: parse_diskstats(disk)),
        ("meminfo: 15 keys looked up", "every line parsed", lambda: parse_meminfo(meminfo, MEMINFO_KEYS),
         lambda: parse_meminfo(meminfo)),
        ("vmstat: 6 keys looked up", "every line parsed", lambda: parse_vmstat(vmstat, vm_keys),
         lambda: parse_vmstat(vmstat)),
        ("net: the rates are the values", "evaluated metric by metric", lambda: evaluate(schema, nic[1:9], r),
         lambda: evaluate(plain_schema, nic[1:9], r)),
        ("NetDev by tuple.__new__", "by its namedtuple __new__", lambda: tuple.__new__(NetDev, nic),
         lambda: NetDev(*nic)),
        ("DiskStats by tuple.__new__", "by its namedtuple __new__", lambda: tuple.__new__(DiskStats, dev),
         lambda: DiskStats(*dev)),
        (f"{len(pids)} /proc/<pid>/stat kept open (read_kept)", "open, read, close (read_each)",
         lambda: source.read_kept("pids", pids), lambda: list(source.read_each(pids))),
        ("kernel's 4 files kept open (read_kept)", "open, read, close (read_each)",
         lambda: source.read_kept("kernel", kernel), lambda: list(source.read_each(kernel))),
        ("mount table re-read when the kernel flags it", "re-read every cycle",
         lambda: source.proc_changed("self/mounts"), lambda: parse_mounts(read_plain("self/mounts"))),
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--sleep", type=float, default=0.2)
    args = ap.parse_args(argv)
    print_machine()
    work = pairs()
    cold: dict[int, tuple[list, list]] = {i: ([], []) for i in range(len(work))}
    for _ in range(args.rounds):
        for i, (_, _, trick, plain) in enumerate(work):
            for k, fn in enumerate((trick, plain)):
                time.sleep(args.sleep)
                t0 = time.thread_time_ns()
                fn()
                cold[i][k].append((time.thread_time_ns() - t0) / 1000)
    rows = []
    for i, (name, alt, trick, plain) in enumerate(work):
        hot = []
        for fn in (trick, plain):
            t0 = time.thread_time_ns()
            for _ in range(2000):
                fn()
            hot.append((time.thread_time_ns() - t0) / 2000 / 1000)
        c = [statistics.median(x) for x in cold[i]]
        rows.append((name, alt, f"{c[0]:.0f}", f"{c[1]:.0f}", f"{c[1] - c[0]:.0f}", f"{hot[0]:.1f}", f"{hot[1]:.1f}"))
    print()
    print(table(("trick", "plain way", "trick us cold", "plain us cold", "saved us cold", "trick us hot",
                 "plain us hot"), rows, title=f"medians of {args.rounds} rounds, {args.sleep:g} s asleep before each call"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
