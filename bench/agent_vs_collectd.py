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

The agent and collectd run alone on the machine, the two of them, in each of
``--runs`` windows (default 3): another process beside them takes its share
of the caches and lowers both figures. Then, unless --no-default-agent, as
many windows of a carbon-client with its default collectors (all whose
source exists) beside a collectd with the plugins that read the same
groups, where collectd has one (COLLECTD_DEFAULT_PLUGINS).

With --yardstick, as many windows of bench/yardstick.py run as a daemon
beside collectd with the same groups: one plain Python loop reading the same
files and sending about the same lines, with none of the agent's structure
(no config, no filters, no error handling). Its ratio is what Python itself
costs against collectd on the machine: a reference, with no goal.
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
YARDSTICK = Path(__file__).resolve().with_name("yardstick.py")
SAME_GROUPS = "load,cpu,memory,swap,disk,net"
COLLECTD_PLUGINS = ("cpu", "load", "memory", "swap", "disk", "interface")
# For the agent with its default collectors: collectd with the plugins that read the same
# groups (fs: df, paging: vmem, system: contextswitch, processes, conntrack, netstat:
# protocols with the agent's default fields, kernel: entropy fhcount uptime, cgroup: cgroups).
# collectd has none for pressure, sockstat and softnet.
COLLECTD_DEFAULT_PLUGINS = COLLECTD_PLUGINS + (
    "df", "vmem", "contextswitch", "processes", "conntrack", "protocols", "entropy", "fhcount", "uptime", "cgroups",
)

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

{blocks}
LoadPlugin write_graphite
<Plugin write_graphite>
  <Node "bench">
    Host "127.0.0.1"
    Port "{port}"
    Protocol "tcp"
    Prefix "{prefix}."
    StoreRates true
    AlwaysAppendDS false
    EscapeCharacter "_"
  </Node>
</Plugin>
"""


def protocols_block() -> str:
    """collectd's protocols plugin limited to the fields the agent's netstat sends by default."""
    from carbon_client.collectors.netstat import DEFAULT
    values = "\n".join(f'  Value "{table}:{field}"' for table, field in DEFAULT)
    return f"<Plugin protocols>\n{values}\n  IgnoreSelected false\n</Plugin>\n"


def agent_command() -> list[str]:
    script = Path(sys.executable).with_name("carbon-client")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "carbon_client"]


class Proc:
    """One measured process."""

    def __init__(self, name: str, prefix: str, argv: list[str], log: Path) -> None:
        self.name = name
        self.prefix = prefix
        self.argv = argv
        self.log_path = log
        self.log = open(log, "wb")
        self.popen = subprocess.Popen(
            argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
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


def measure(procs: list[Proc], warmup: float, seconds: float) -> None:
    """Warm up, then one window of CPU and RSS over every process."""
    print(f"warm-up {warmup:g} s, then a {seconds:g} s window: "
          + ", ".join(f"{p.name} pid {p.pid}" for p in procs), flush=True)
    time.sleep(warmup)
    for p in procs:
        if not p.alive():
            raise RuntimeError(f"{p.name} exited during warm-up:\n{p.tail()}")
    now = time.monotonic()
    for p in procs:
        p.begin(now)
    deadline = now + seconds
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


def results_of(cache: CarbonCache, p: Proc) -> dict:
    names = metrics_under(cache, p.prefix)
    groups = Counter(group_of(m, p.prefix) for m in names)
    own = sum(n for g, n in groups.items() if g == "carbon_client")
    return {
        "cpu_ms_per_s": p.cpu_ms_per_s(), "cpu_ms_per_s_ticks": p.cpu_ms_per_s_ticks(),
        "rss_steady_mb": statistics.median(p.rss) / 1024, "rss_peak_mb": p.hwm / 1024,
        "metrics": len(names), "metrics_own_health": own, "threads": p.nthreads,
        "groups": dict(sorted(groups.items())),
    }


def row(name: str, r: dict) -> tuple:
    own = r["metrics_own_health"]
    return (name, f"{r['cpu_ms_per_s']:.3f}", f"{r['cpu_ms_per_s_ticks']:.2f}", f"{r['rss_steady_mb']:.1f}",
            f"{r['rss_peak_mb']:.1f}", r["threads"], r["metrics"] - own if own else r["metrics"], own or "-")


def cpu_ratios(runs: list[dict], kind: str) -> list[float]:
    """CPU of the measured process over collectd's, each window of one kind."""
    return [r["carbon-client"]["cpu_ms_per_s"] / r["collectd"]["cpu_ms_per_s"] for r in runs if r["kind"] == kind]


HEAD = ("run", "process", "CPU ms/s", "CPU ms/s (stat ticks)", "RSS MB steady", "RSS MB peak", "threads",
        "metrics", "+ own health")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="measurement window (default 60)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds before the window opens (default 5)")
    ap.add_argument("--runs", type=int, default=3,
                    help="windows of each comparison, the agent and collectd alone (default 3)")
    ap.add_argument("--no-default-agent", action="store_true",
                    help="do not measure a carbon-client with its default collectors afterwards")
    ap.add_argument("--yardstick", action="store_true",
                    help="also measure bench/yardstick.py's plain loop as a daemon beside collectd")
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
        common = ["run", "--interval", "1", "--no-show", "--carbon", f"127.0.0.1:{cache.port}",
                  "--hostname", HOST, "--log-level", "WARNING"]
        windows = [(f"{i + 1}", "agent", ["--collectors", SAME_GROUPS]) for i in range(args.runs)]
        if not args.no_default_agent:
            windows += [(f"default {i + 1}", "agent_default", []) for i in range(args.runs)]
        if args.yardstick:
            windows += [(f"yardstick {i + 1}", "yardstick", []) for i in range(args.runs)]
        rows, runs = [], []
        for label, prefix, extra in windows:
            tag = label.replace("default ", "d").replace("yardstick ", "y")
            run_prefix = f"{prefix}{tag}"
            base = tmp / f"collectd{tag}"
            base.mkdir()
            conf = base / "collectd.conf"
            plugins = COLLECTD_DEFAULT_PLUGINS if prefix == "agent_default" else COLLECTD_PLUGINS
            conf.write_text(COLLECTD_CONF.format(
                host=HOST, base=base, port=cache.port, prefix=f"collectd{tag}",
                plugins="\n".join(f"LoadPlugin {p}" for p in plugins),
                blocks=protocols_block() if "protocols" in plugins else "",
            ))
            if prefix == "yardstick":
                name, argv = "yardstick", [sys.executable, str(YARDSTICK), "--carbon", f"127.0.0.1:{cache.port}",
                                           "--prefix", f"{run_prefix}.{HOST}"]
            else:
                name, argv = "carbon-client", agent_command() + common + ["--prefix", run_prefix] + extra
            procs = [
                Proc("collectd", f"collectd{tag}", [collectd, "-f", "-C", str(conf)], base / "collectd.out"),
                Proc(name, run_prefix, argv, tmp / f"{run_prefix}.out"),
            ]
            measure(procs, args.warmup, args.seconds)
            c, a = results_of(cache, procs[0]), results_of(cache, procs[1])
            runs.append({"window": label, "kind": prefix, "process": name, "collectd": c, "carbon-client": a})
            rows += [(label, *row("collectd", c)), (label, *row(name, a))]
        cache.stop()
        print()
        print(table(HEAD, rows, title=f"1 s interval, {args.seconds:g} s windows after {args.warmup:g} s warm-up, "
                                      "the two processes alone with one carbon-cache"))
        print()
        for r in runs:
            for name, key in (("collectd", "collectd"), (r["process"], "carbon-client")):
                print(f"window {r['window']}, {name} metrics by group: "
                      + ", ".join(f"{k} {v}" for k, v in r[key]["groups"].items()))
        measured = [r for r in runs if r["kind"] == "agent"]
        ratios = cpu_ratios(runs, "agent")
        a0, c0 = measured[0]["carbon-client"], measured[0]["collectd"]
        a_groups = a0["metrics"] - a0["metrics_own_health"]
        metrics_ratio = a_groups / c0["metrics"] if c0["metrics"] else float("inf")
        peak = max(r["carbon-client"]["rss_peak_mb"] for r in measured)
        default = cpu_ratios(runs, "agent_default")
        targets = [
            ("agent CPU / collectd CPU, each window", ", ".join(f"{x:.2f}" for x in ratios), "<= 0.5",
             all(x <= 0.5 for x in ratios)),
            ("agent metrics / collectd metrics (without its own health)",
             f"{metrics_ratio:.2f} ({a_groups} / {c0['metrics']})", ">= 1", metrics_ratio >= 1),
            ("agent RSS peak", f"{peak:.1f} MB", "< 30 MB", peak < 30),
        ]
        if default:
            targets.append(("default collectors: agent CPU / collectd CPU with the same groups, each window",
                            ", ".join(f"{x:.2f}" for x in default), "<= 0.5", all(x <= 0.5 for x in default)))
        print()
        print(table(("target", "measured", "goal", ""), [(n, m, g, verdict(ok)) for n, m, g, ok in targets]))
        plain = cpu_ratios(runs, "yardstick")
        if plain:
            print("\nreference, no goal: bench/yardstick.py's plain loop as a daemon, CPU / collectd CPU with "
                  "the same groups, each window: " + ", ".join(f"{x:.2f}" for x in plain))
        if args.json:
            Path(args.json).write_text(json.dumps({
                "benchmark": "agent_vs_collectd", "window_s": args.seconds, "runs": runs,
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
