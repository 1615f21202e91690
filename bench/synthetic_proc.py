#!/usr/bin/env python3
"""Agent.cycle() on a synthetic /proc with many NICs and disks.

The tree holds /proc/net/dev with N interfaces and /proc/diskstats with M
whole disks (20-field lines, as 5.5+ prints them), plus stat, meminfo, vmstat
and loadavg copied from this host's /proc. The sys root is an empty directory,
so the name-based rules classify devices (sdX, sdXY are whole disks). Every
cycle sees a fresh snapshot whose counters grew, so every counter's rate is
computed; the snapshot is written before the clock starts. One Agent
(all collectors whose source exists, disks and nics '*', no sender) runs many
cycles; wall time (perf_counter) and CPU time (process_time) are taken around
each ``Agent.cycle`` call.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchlib import print_machine, summary, table, verdict
from yardstick import Yardstick

from carbon_client.agent import Agent
from carbon_client.config import build

NET_HEADER = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast"
    "|bytes    packets errs drop fifo colls carrier compressed\n"
)
COPIED = ("stat", "meminfo", "vmstat", "loadavg")


def nic_names(n: int) -> list[str]:
    """A container host: a few physical NICs, a bridge, then veth pairs."""
    phys = [f"eth{i}" for i in range(min(4, n))]
    rest = n - len(phys)
    extra = ["docker0"] if rest > 0 else []
    return phys + extra + [f"veth{i:07x}" for i in range(rest - len(extra))]


def disk_names(n: int) -> list[str]:
    """sda..sdz, sdaa..sdzz: the kernel's sd naming (sd_format_disk_name)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = []
    i = 0
    while len(out) < n:
        name, k = "", i
        while True:
            name = letters[k % 26] + name
            k = k // 26 - 1
            if k < 0:
                break
        out.append("sd" + name)
        i += 1
    return out


def net_dev_text(names: list[str], k: int) -> str:
    """Snapshot k: every counter grows by an amount that depends on the NIC."""
    lines = [NET_HEADER]
    for i, name in enumerate(names):
        base = 10_000_000 + i * 7919
        rxb, txb = base * 1500 + k * (150_000 + i), base * 900 + k * (90_000 + i)
        rxp, txp = base + k * (100 + i % 7), base // 2 + k * (60 + i % 5)
        lines.append(
            f"{name:>6}: {rxb} {rxp} {k // 3} {k // 2} 0 0 0 {i % 11} "
            f"{txb} {txp} 0 {k // 2} 0 0 0 0\n"
        )
    return "".join(lines)


def diskstats_text(names: list[str], k: int) -> str:
    """Snapshot k: 20-field lines (major minor name + 17 stats)."""
    lines = []
    for i, name in enumerate(names):
        major, minor = (8, i * 16) if i < 16 else (65 + (i - 16) // 16, (i - 16) % 16 * 16)
        r, w = 1_000_000 + i * 31 + k * (50 + i % 13), 2_000_000 + i * 17 + k * (80 + i % 9)
        stats = (
            r, r // 10, r * 16, r // 2 + k, w, w // 5, w * 24, w + k * 3, k % 4,
            (r + w) // 3 + k * 7, (r + w) + k * 11, 100 + k, 1, 800 + k * 8, 50 + k, 2 + k, 1,
        )
        lines.append(f"{major:4d} {minor:7d} {name} " + " ".join(map(str, stats)) + "\n")
    return "".join(lines)


def build_tree(root: Path, nics: int, disks: int) -> tuple[Path, Path, list[str], list[str]]:
    proc, sys_root = root / "proc", root / "sys"
    (proc / "net").mkdir(parents=True, exist_ok=True)
    sys_root.mkdir(exist_ok=True)
    for rel in COPIED:
        (proc / rel).write_bytes(Path("/proc", rel).read_bytes())
    return proc, sys_root, nic_names(nics), disk_names(disks)


def write_snapshot(proc: Path, nics: list[str], disks: list[str], k: int) -> None:
    (proc / "net" / "dev").write_text(net_dev_text(nics, k))
    (proc / "diskstats").write_text(diskstats_text(disks, k))


def measure(nics: int, disks: int, cycles: int, tmp: Path) -> dict:
    root = tmp / f"n{nics}-d{disks}"
    proc, sys_root, nic_list, disk_list = build_tree(root, nics, disks)
    write_snapshot(proc, nic_list, disk_list, 0)
    config = build(None, {"proc_root": str(proc), "sys_root": str(sys_root), "disks": "*",
                          "nics": "*", "interval": 1, "hostname": "bench"})
    agent = Agent(config)
    stick = Yardstick("bench", str(proc))  # the same work as one plain loop, on the same snapshots
    health = tuple(range(15))
    # Two warm cycles: the first has no rates, the second builds the line plans of every instance.
    ts = 1_700_000_000
    for k in (1, 2):
        write_snapshot(proc, nic_list, disk_list, k)
        agent.cycle(ts + k)
        stick.cycle(ts + k, health)
    wall, cpu, plain, lines = [], [], [], 0
    for k in range(3, 3 + cycles):
        write_snapshot(proc, nic_list, disk_list, k)
        w0, c0 = time.perf_counter(), time.process_time()
        result = agent.cycle(ts + k)
        c1, w1 = time.process_time(), time.perf_counter()
        stick.cycle(ts + k, health)
        plain.append((time.perf_counter() - w1) * 1000.0)
        wall.append((w1 - w0) * 1000.0)
        cpu.append((c1 - c0) * 1000.0)
        lines = result.lines
    for fd in stick.fds.values():
        os.close(fd)
    expect_rates = result.samples and all(
        None not in v for s in result.samples if s.collector.group in ("net", "disk") for v in s.values.values()
    )
    if not expect_rates:
        raise RuntimeError("some net/disk value had no rate: the snapshots did not grow")
    groups = {s.collector.group: len(s.values) for s in result.samples}
    shutil.rmtree(root, ignore_errors=True)
    return {
        "nics": nics, "disks": disks, "cycles": cycles, "lines": lines, "bytes": len(result.data),
        "collectors": agent.enabled, "instances": groups,
        "wall_ms": summary(wall), "cpu_ms": summary(cpu), "plain_ms": summary(plain),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=200, help="timed cycles per size (default 200)")
    ap.add_argument("--nics", type=int, default=1000)
    ap.add_argument("--disks", type=int, default=200)
    ap.add_argument("--json", metavar="FILE", help="write the results here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    print_machine()
    sizes = [(args.nics * f // 1000, args.disks * f // 1000) for f in (100, 250, 500, 1000)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-proc-"))
    try:
        results = []
        for nics, disks in sizes:
            gc.collect()
            results.append(measure(nics, disks, args.cycles, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    big = results[-1]
    print(f"collectors: {', '.join(big['collectors'])}; {args.cycles} timed cycles per size; "
          f"instances at the largest size: " + ", ".join(f"{g} {n}" for g, n in big["instances"].items()))
    print()
    rows = []
    for r in results:
        (wm, wmed, wp95), (cm, _, _) = r["wall_ms"], r["cpu_ms"]
        devices = r["nics"] + r["disks"]
        rows.append((
            r["nics"], r["disks"], r["lines"], f"{r['bytes'] / 1024:.0f}",
            f"{wm:.2f}", f"{wmed:.2f}", f"{wp95:.2f}", f"{cm:.2f}",
            f"{wmed * 1000 / devices:.1f}", f"{wmed * 1000 / r['lines']:.2f}",
            f"{r['plain_ms'][0]:.2f}", f"{wm / r['plain_ms'][0]:.2f}",
        ))
    print(table(
        ("NICs", "disks", "lines/cycle", "KiB/cycle", "wall mean ms", "wall median ms", "wall p95 ms",
         "CPU mean ms", "us/device", "us/line", "plain loop wall mean ms", "agent / plain loop"),
        rows, title="Agent.cycle() on a synthetic /proc (perf_counter wall, process_time CPU)",
    ))
    first, last = results[0], results[-1]
    scale = (last["nics"] + last["disks"]) / (first["nics"] + first["disks"])
    growth = last["wall_ms"][1] / first["wall_ms"][1]
    print(f"\nlinearity: {scale:.0f}x the devices -> {growth:.1f}x the median cycle time")
    mean = big["wall_ms"][0]
    targets = [(f"cycle at {big['nics']} NICs + {big['disks']} disks (wall mean; p95 {big['wall_ms'][2]:.2f} ms)",
                f"{mean:.2f} ms", "< 10 ms", mean < 10.0)]
    print()
    print(table(("target", "measured", "goal", ""), [(n, m, g, verdict(ok)) for n, m, g, ok in targets]))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "benchmark": "synthetic_proc", "sizes": results,
            "targets": [{"name": n, "measured": m, "goal": g, "ok": ok} for n, m, g, ok in targets],
        }, indent=2))
    return 0 if all(t[3] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
