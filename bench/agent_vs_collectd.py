#!/usr/bin/env python3
"""carbon-client and Debian collectd streaming into one carbon-cache, side by side.

Both run at a 1 s interval for the same groups (collectd: cpu load memory swap
disk interface + write_graphite; carbon-client: load cpu memory swap disk net),
each under its own prefix. After a warm-up, the CPU time of each whole process
(every thread, the sender's included) is taken over the window twice: from the
kernel's per-process CPU clock in ns (the figure the ratio uses) and from
utime + stime in /proc/<pid>/stat (10 ms ticks, shown as a cross-check). RSS
is sampled from /proc/<pid>/status every second (VmRSS median = steady, VmHWM
= peak), and at the end the Whisper files under each prefix count the distinct
metrics each one sent.

A second carbon-client with its default collectors (all whose source exists:
also system, paging, fs) runs alongside for reference unless --no-default-agent,
and a third, the first one's twin without its C speedups
(CARBON_CLIENT_PURE_PYTHON=1), unless --no-pure-agent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchlib import CLK_TCK, cpu_ns, cpu_ticks, print_machine, status_kb, table, threads, verdict

from tests.carbon_server import CarbonCache, carbon_cache_command

HOST = "bench"
SAME_GROUPS = "load,cpu,memory,swap,disk,net"
COLLECTD_PLUGINS = ("cpu", "load", "memory", "swap", "disk", "interface")

COLLECTD_CONF = """\
Hostname "{host}"
FQDNLookup false
BaseDir "{base}"
PIDFile "{base}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 1

LoadPlugin logfile
<Plugin logfile>
  LogLevel "info"
  File "{base}/collectd.log"
  Timestamp true
</Plugin>

{plugins}

LoadPlugin write_graphite
<Plugin write_graphite>
  <Node "bench">
    Host "127.0.0.1"
    Port "{port}"
    Protocol "tcp"
    Prefix "collectd."
    StoreRates true
    AlwaysAppendDS false
    EscapeCharacter "_"
  </Node>
</Plugin>
"""


def agent_command() -> list[str]:
    script = Path(sys.executable).with_name("carbon-client")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "carbon_client"]


class Proc:
    """One measured process."""

    def __init__(self, name: str, prefix: str, argv: list[str], log: Path, env: dict | None = None) -> None:
        self.name = name
        self.prefix = prefix
        self.argv = argv
        self.log_path = log
        self.log = open(log, "wb")
        self.popen = subprocess.Popen(
            argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env,
        )
        self.rss: list[int] = []
        self.t0 = self.t1 = 0.0
        self.ticks0 = self.ticks1 = 0
        self.ns0 = self.ns1 = 0

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def begin(self, now: float) -> None:
        self.t0, self.ticks0, self.ns0 = now, cpu_ticks(self.pid), cpu_ns(self.pid)

    def end(self, now: float) -> None:
        self.t1, self.ticks1, self.ns1 = now, cpu_ticks(self.pid), cpu_ns(self.pid)
        self.hwm = status_kb(self.pid, "VmHWM")["VmHWM"]
        self.nthreads = threads(self.pid)

    def sample_rss(self) -> None:
        self.rss.append(status_kb(self.pid, "VmRSS")["VmRSS"])

    def cpu_ms_per_s(self) -> float:
        """From the process CPU clock (ns)."""
        return (self.ns1 - self.ns0) / 1e6 / (self.t1 - self.t0)

    def cpu_ms_per_s_ticks(self) -> float:
        """From utime + stime in /proc/<pid>/stat (10 ms ticks: coarse over a minute)."""
        return (self.ticks1 - self.ticks0) * 1000.0 / CLK_TCK / (self.t1 - self.t0)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.log.close()

    def tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def metrics_under(cache: CarbonCache, prefix: str) -> list[str]:
    top = prefix.split(".")[0] + "."
    return [m for m in cache.metrics() if m.startswith(top)]


def group_of(metric: str, prefix: str) -> str:
    """The first level under prefix.host: 'cpu', 'disk', 'cpu-0', 'interface-eth0'..."""
    parts = metric.split(".")
    return parts[len(prefix.split(".")) + 1] if len(parts) > 2 else metric


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="measurement window (default 60)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds before the window opens (default 5)")
    ap.add_argument("--no-default-agent", action="store_true",
                    help="do not run the reference carbon-client with its default collectors")
    ap.add_argument("--no-pure-agent", action="store_true",
                    help="do not run the same carbon-client with CARBON_CLIENT_PURE_PYTHON=1 "
                         "(without its C speedups) for comparison")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--json", metavar="FILE", help="write the results here")
    args = ap.parse_args(argv)

    collectd = shutil.which("collectd") or ("/usr/sbin/collectd" if os.path.exists("/usr/sbin/collectd") else None)
    if collectd is None:
        print("collectd not installed (Debian package collectd-core; `make bench` installs it as root)")
        return 2
    if carbon_cache_command() is None:
        print("carbon-cache.py not installed (pip install carbon; `make bench` installs the test extras)")
        return 2

    print_machine()
    tmp = Path(tempfile.mkdtemp(prefix="bench-collectd-"))
    cache = CarbonCache(tmp / "carbon").start()
    procs: list[Proc] = []
    try:
        base = tmp / "collectd"
        base.mkdir()
        conf = base / "collectd.conf"
        conf.write_text(COLLECTD_CONF.format(
            host=HOST, base=base, port=cache.port,
            plugins="\n".join(f"LoadPlugin {p}" for p in COLLECTD_PLUGINS),
        ))
        common = ["run", "--interval", "1", "--no-show", "--carbon", f"127.0.0.1:{cache.port}",
                  "--hostname", HOST, "--log-level", "WARNING"]
        procs.append(Proc("collectd", "collectd", [collectd, "-f", "-C", str(conf)], tmp / "collectd.out"))
        procs.append(Proc("carbon-client", "agent",
                          agent_command() + common + ["--prefix", "agent", "--collectors", SAME_GROUPS],
                          tmp / "agent.out"))
        if not args.no_pure_agent:
            procs.append(Proc("carbon-client (pure Python)", "agent_pure",
                              agent_command() + common + ["--prefix", "agent_pure", "--collectors", SAME_GROUPS],
                              tmp / "agent_pure.out", env=dict(os.environ, CARBON_CLIENT_PURE_PYTHON="1")))
        if not args.no_default_agent:
            procs.append(Proc("carbon-client (default collectors)", "agent_default",
                              agent_command() + common + ["--prefix", "agent_default"],
                              tmp / "agent_default.out"))

        print(f"warm-up {args.warmup:g} s, then a {args.seconds:g} s window "
              f"(collectd pid {procs[0].pid}, carbon-client pid {procs[1].pid}) ...", flush=True)
        time.sleep(args.warmup)
        for p in procs:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited during warm-up:\n{p.tail()}")
        now = time.monotonic()
        for p in procs:
            p.begin(now)
        deadline = now + args.seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(1.0, left))
            for p in procs:
                if not p.alive():
                    raise RuntimeError(f"{p.name} exited:\n{p.tail()}")
                p.sample_rss()
        now = time.monotonic()
        for p in procs:
            p.end(now)
        # Let the last lines reach Whisper before counting files.
        time.sleep(3)
        for p in procs:
            p.stop()
        cache.stop()

        rows, results = [], {}
        for p in procs:
            names = metrics_under(cache, p.prefix)
            groups = Counter(group_of(m, p.prefix) for m in names)
            own = sum(n for g, n in groups.items() if g == "carbon_client")
            results[p.name] = {
                "cpu_ms_per_s": p.cpu_ms_per_s(), "cpu_ms_per_s_ticks": p.cpu_ms_per_s_ticks(),
                "rss_steady_mb": statistics.median(p.rss) / 1024, "rss_peak_mb": p.hwm / 1024,
                "metrics": len(names), "metrics_own_health": own, "threads": p.nthreads,
                "groups": dict(sorted(groups.items())),
            }
            r = results[p.name]
            rows.append((
                p.name, f"{r['cpu_ms_per_s']:.3f}", f"{r['cpu_ms_per_s_ticks']:.2f}",
                f"{r['rss_steady_mb']:.1f}", f"{r['rss_peak_mb']:.1f}", r["threads"],
                r["metrics"] - own if own else r["metrics"], own or "-",
            ))
        window = procs[0].t1 - procs[0].t0
        print()
        print(table(
            ("process", "CPU ms/s", "CPU ms/s (stat ticks)", "RSS MB steady", "RSS MB peak",
             "threads", "metrics", "+ own health"),
            rows, title=f"1 s interval, {window:.0f} s window after {args.warmup:g} s warm-up, one carbon-cache",
        ))
        print()
        for p in procs:
            g = results[p.name]["groups"]
            print(f"{p.name} metrics by group: " + ", ".join(f"{k} {v}" for k, v in g.items()))

        a, c = results["carbon-client"], results["collectd"]
        cpu_ratio = a["cpu_ms_per_s"] / c["cpu_ms_per_s"]
        cpu_ratio_ticks = (
            a["cpu_ms_per_s_ticks"] / c["cpu_ms_per_s_ticks"] if c["cpu_ms_per_s_ticks"] else float("inf")
        )
        a_groups = a["metrics"] - a["metrics_own_health"]
        metrics_ratio = a_groups / c["metrics"] if c["metrics"] else float("inf")
        targets = [
            ("agent CPU / collectd CPU", f"{cpu_ratio:.2f} (ticks {cpu_ratio_ticks:.2f})", "<= 0.5",
             cpu_ratio <= 0.5),
            ("agent metrics / collectd metrics (without its own health)",
             f"{metrics_ratio:.2f} ({a_groups} / {c['metrics']})", ">= 1", metrics_ratio >= 1),
            ("agent RSS peak", f"{a['rss_peak_mb']:.1f} MB", "< 30 MB", a["rss_peak_mb"] < 30),
        ]
        pure = results.get("carbon-client (pure Python)")
        if pure is not None:
            print()
            print(f"C speedups: the same agent without them (CARBON_CLIENT_PURE_PYTHON=1) costs "
                  f"{pure['cpu_ms_per_s']:.3f} ms/s, {pure['cpu_ms_per_s'] / c['cpu_ms_per_s']:.2f} of collectd; "
                  f"with them {a['cpu_ms_per_s'] / pure['cpu_ms_per_s']:.2f} of that")
        print()
        print(table(("target", "measured", "goal", ""), [(n, m, g, verdict(ok)) for n, m, g, ok in targets]))
        if args.json:
            Path(args.json).write_text(json.dumps({
                "benchmark": "agent_vs_collectd", "window_s": window, "processes": results,
                "targets": [{"name": n, "measured": m, "goal": g, "ok": ok} for n, m, g, ok in targets],
            }, indent=2))
        return 0 if all(t[3] for t in targets) else 1
    finally:
        for p in procs:
            p.stop()
        cache.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
