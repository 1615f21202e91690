"""Helpers shared by the benchmarks: process accounting from /proc, the machine, tables."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # tests.carbon_server (a real carbon-cache) lives outside the installed packages;
    # appended, so the carbon_client that is installed (or on PYTHONPATH) is the one measured.
    sys.path.append(str(ROOT))

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    """utime + stime of the whole process (every thread), in clock ticks (proc(5) fields 14, 15)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = data[data.rindex(b")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def cpu_ns(pid: int) -> int:
    """CPU time of the whole process in ns, threads that ended included.

    The kernel's per-process CPU clock (clock_getcpuclockid(3): the clock id
    is ``~pid << 3 | CPUCLOCK_SCHED``) counts scheduler runtime in ns, where
    utime + stime in /proc/<pid>/stat come in clock ticks (10 ms): a process
    using 1 ms of CPU per second moves only 6 ticks in a minute.
    """
    return time.clock_gettime_ns(((~pid) << 3) | 2)


def status_kb(pid: int, *keys: str) -> dict[str, int]:
    """Fields of /proc/<pid>/status in kB (VmRSS, VmHWM...)."""
    out = {}
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f.read().decode().splitlines():
            name, _, rest = line.partition(":")
            if name in keys:
                out[name] = int(rest.split()[0])
    return out


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "?"
    return {
        "cpus": str(os.cpu_count()),
        "cpu model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load average": load,
    }


def print_machine() -> None:
    m = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in m.items()))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: Optional[str] = None) -> str:
    """A GitHub-flavoured Markdown table (readable in a terminal, pasteable into docs)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(r: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    lines = [fmt(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt(r) for r in cells[1:]]
    text = "\n".join(lines)
    return f"{title}\n\n{text}" if title else text


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def summary(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.fmean(values), statistics.median(values), pct(values, 95)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
