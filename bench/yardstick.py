"""A yardstick: the agent's default cycle as one plain Python loop, nothing else.

It reads loadavg, stat, meminfo, diskstats and net/dev (files kept open, as
the agent does), computes the same rates over the measured time and renders
about the same lines (load, cpu, memory, swap, per-disk, per-NIC and their
totals, plus 30 health-like lines), with none of the agent's structure: no
declarations, no schemas, no layouts, no error handling. bench/cycle_cost.py
times it beside the agent's real cycle, so the price of the agent's
structure is a ratio measured in one run.

Run as a script it is a push daemon of its own: one cycle a second over one
TCP connection, for bench/agent_vs_collectd.py --yardstick to measure beside
collectd as it measures the agent (what Python with none of the agent's
structure costs on the machine):

    python bench/yardstick.py --carbon 127.0.0.1:2003 [--prefix yardstick]
"""

from __future__ import annotations

import argparse
import os
import socket
import time

CPU = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
DISK = ("reads", "reads_merged", "sectors_read", "read_ms", "writes", "writes_merged", "sectors_written",
        "write_ms", "in_progress", "io_ms", "weighted_io_ms")
NET = ("rx_bytes", "rx_packets", "rx_errs", "rx_drop", "tx_bytes", "tx_packets", "tx_errs", "tx_drop")
MEM = ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "Shmem", "SReclaimable", "SUnreclaim",
       "Dirty", "Writeback", "Active", "Inactive", "SwapTotal", "SwapFree", "SwapCached")


class Yardstick:
    def __init__(self, host: str = "h", proc: str = "/proc") -> None:
        self.host = host
        self.fds = {}
        self.proc = proc
        self.prev = {}
        self.prev_t = None

    def read(self, rel: str) -> str:
        fd = self.fds.get(rel)
        if fd is None:
            fd = self.fds[rel] = os.open(os.path.join(self.proc, rel), os.O_RDONLY)
        chunks, at = [], 0
        while True:
            b = os.pread(fd, 131072, at)
            if not b:
                return b"".join(chunks).decode()
            chunks.append(b)
            at += len(b)

    def rate(self, key, cur, per_s):
        prev = self.prev.get(key)
        self.prev[key] = cur
        if prev is None or not per_s:
            return None
        return [(c - p) * per_s if c >= p else None for c, p in zip(cur, prev)]

    def cycle(self, ts: int, health: tuple) -> bytes:
        t = time.monotonic()
        per_s = 1.0 / (t - self.prev_t) if self.prev_t else 0.0
        self.prev_t = t
        h = self.host
        out = []
        tail = f" {ts}\n"
        load = self.read("loadavg").split()
        for k, v in zip(("1m", "5m", "15m"), load[:3]):
            out.append(f"{h}.load.{k} {v}{tail}")
        cpu = [int(x) for x in self.read("stat").split("\n", 1)[0].split()[1:9]]
        r = self.rate("cpu", cpu, per_s)
        if r is not None:
            known = [x for x in r if x is not None]
            total = sum(known)
            for k, x in zip(CPU, r):
                if x is not None and total > 0:
                    out.append(f"{h}.cpu.total.{k} {100.0 * x / total:.12g}{tail}")
        mem = {}
        for line in self.read("meminfo").splitlines():
            k, _, v = line.partition(":")
            if k in MEM:
                mem[k] = int(v.split()[0]) * 1024
        used = mem["MemTotal"] - mem["MemFree"] - mem["Buffers"] - mem["Cached"] - mem["SReclaimable"]
        for k, v in mem.items():
            out.append(f"{h}.memory.{k.lower()} {v}{tail}")
        out.append(f"{h}.memory.used {used}{tail}")
        out.append(f"{h}.memory.used_percent {used * 100.0 / mem['MemTotal']:.12g}{tail}")
        out.append(f"{h}.swap.used {mem['SwapTotal'] - mem['SwapFree']}{tail}")
        totals = [0.0] * len(DISK)
        for line in self.read("diskstats").splitlines():
            f = line.split()
            name = f[2]
            if name.startswith(("loop", "ram", "zram")) or name[-1].isdigit() and not name.startswith("nvme"):
                continue
            r = self.rate(("disk", name), [int(x) for x in f[3:14]], per_s)
            if r is None:
                continue
            for i, (k, x) in enumerate(zip(DISK, r)):
                if x is not None:
                    totals[i] += x
                    out.append(f"{h}.disk.{name}.{k} {x:.12g}{tail}")
        for k, x in zip(DISK, totals):
            out.append(f"{h}.disk.total.{k} {x:.12g}{tail}")
        totals = [0.0] * len(NET)
        for line in self.read("net/dev").splitlines()[2:]:
            name, _, rest = line.rpartition(":")
            name = name.strip()
            if name == "lo":
                continue
            f = rest.split()
            r = self.rate(("net", name), [int(f[i]) for i in (0, 1, 2, 3, 8, 9, 10, 11)], per_s)
            if r is None:
                continue
            for i, (k, x) in enumerate(zip(NET, r)):
                if x is not None:
                    totals[i] += x
                    out.append(f"{h}.net.{name}.{k} {x:.12g}{tail}")
        for k, x in zip(NET, totals):
            out.append(f"{h}.net.total.{k} {x:.12g}{tail}")
        r = self.rate("health", health, per_s)
        for i, v in enumerate(health):
            out.append(f"{h}.carbon_client.h{i} {v}{tail}")
            if r is not None and r[i] is not None:
                out.append(f"{h}.carbon_client.r{i} {r[i]:.12g}{tail}")
        return "".join(out).encode("ascii")


def main() -> None:
    ap = argparse.ArgumentParser(description="the yardstick's cycle once a second, sent to Carbon")
    ap.add_argument("--carbon", required=True, metavar="HOST:PORT")
    ap.add_argument("--prefix", default="yardstick")
    args = ap.parse_args()
    host, _, port = args.carbon.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    stick = Yardstick(args.prefix)
    while True:
        time.sleep(1.0 - time.time() % 1.0)
        sock.sendall(stick.cycle(int(time.time()), (0,) * 8))


if __name__ == "__main__":
    main()
