"""The stack under test: real agents -> a real carbon-cache -> a real graphite-web.

One session-scoped ``stack`` serves the dashboard and alert tests:

- agent ``stackhost`` streams this machine's real /proc and /sys every second,
  with process groups from a config file (itself by pidfile, the agents and
  carbon-cache by command line, and one group that finds nothing);
- agent ``nfs-fixture`` reads a /proc tree holding the captured
  net/rpc/nfs and net/rpc/nfsd files (tests/fixtures/procfs), a pool_stats
  and two mountstats captures (NFSv3 and NFSv4 over tcp, NFSv3 over rdma with
  nconnect), whose counters a thread keeps raising so rates are not all
  zero; the mountstats' mount points are directories of the stack's tree,
  listed as NFS mounts in its self/mounts, so fs reports them (answering);
  it runs a stand-in ``dmsetup`` (first on its PATH) that replays captured
  dm-writeboost status lines with growing hit/miss counters for two
  devices, and reads a sys root holding captured cgroup v2 trees (this host
  has no systemd services); the same tree holds the 6.18 captures of
  pressure, snmp (its TCP segment counters raised by the same thread),
  netstat, snmp6, sockstat, softnet_stat and conntrack
  (tests/fixtures/wave2/procfs-live-vm618), read with ``softnet_per_cpu: true``,
  so the network stack dashboard is checked on known data whatever this host has;
- synthetic ``ghost-*`` hosts written straight into Carbon give each alert
  rule a case that must fire.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

from carbon_client.naming import mount_component
from tests.carbon_server import CarbonCache, carbon_cache_command
from tests.conftest import FIXTURES, ROOT, require
from tests.stack.graphite_web import GraphiteWeb, graphite_python
from tests.tls_server import TlsServer

MAIN_HOST = "stackhost"
FIXTURE_HOST = "nfs-fixture"


# Collector name -> its module in carbon_client/collectors/.
MODULES = {"nfs": "nfs", "nfsd": "nfs", "writeboost": "writeboost", "sockstat": "netstack", "softnet": "netstack",
           "conntrack": "netstack"}


def collector_missing(name: str) -> Optional[str]:
    """Why a collector's dashboard cannot be checked yet, or None when its module exists."""
    module = MODULES.get(name, name)
    if importlib.util.find_spec(f"carbon_client.collectors.{module}") is None:
        return f"carbon_client/collectors/{module}.py does not exist yet"
    return None


class AgentProcess:
    """``carbon-client run`` as a subprocess, stopped with SIGTERM (flush, exit 0)."""

    def __init__(self, args: list[str], log: Path, env: Optional[dict] = None) -> None:
        self.args = [sys.executable, "-m", "carbon_client", "run", "--no-show", *args]
        self.log_path = log
        self.env = env
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "AgentProcess":
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.args, stdout=self.log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT,
            start_new_session=True,
        )
        return self

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        return rc

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


# -- the NFS fixture tree, with counters that move -----------------------------------

NFS_FILES = ("net/rpc/nfs", "net/rpc/nfsd")


def raise_counters(text: str, step: int) -> str:
    """Every counter of an nfs/nfsd file multiplied by (10 + step) / 10.

    Zero stays zero (so a captured retrans of 0 keeps a 0 % retransmission
    rate); the op count leading each procN line and the ``th``/``ra``
    lines (gauges and histograms) are left alone.
    """
    out = []
    for line in text.splitlines():
        tok = line.split()
        if not tok or tok[0] in ("th", "ra"):
            out.append(line)
            continue
        first = 2 if tok[0].startswith("proc") else 1
        tok[first:] = [str(int(t) * (10 + step) // 10) if t.isdigit() else t for t in tok[first:]]
        out.append(" ".join(tok))
    return "\n".join(out) + "\n"


# The mountstats captures the fixture agent reads, one after the other.
MOUNTSTATS = ("wave2/procfs-pcp-el8-4.18.0-105/proc/self/mountstats",
              "wave2/procfs-pcp-el8.7-rdma/proc/self/mountstats")
POOL_STATS = "wave2/procfs-pcp-nfsd/proc/fs/nfsd/pool_stats"
_MOUNTSTATS_COUNTERS = ("events:", "bytes:", "xprt:")


def raise_mountstats(text: str, step: int) -> str:
    """The counters of a mountstats (events, bytes, xprt and per-op lines) multiplied
    by (10 + step) / 10, as :func:`raise_counters` does."""
    out = []
    per_op = False
    for line in text.split("\n"):
        tok = line.split()
        if not tok or tok[0] == "device":
            per_op = False
        elif per_op or tok[0] in _MOUNTSTATS_COUNTERS:
            first = 2 if tok[0] == "xprt:" else 1
            line = "\t" + " ".join(tok[:first] + [str(int(t) * (10 + step) // 10) for t in tok[first:]])
        per_op = per_op or tok[:1] == ["per-op"]
        out.append(line)
    return "\n".join(out)


def nfs_mounts(proc_root: Path) -> str:
    """The mountstats captures with their mount points moved under ``proc_root``'s parent
    (directories that exist), and a self/mounts listing them as NFS mounts."""
    base = proc_root.parent / "nfsmounts"
    text = "".join((FIXTURES / rel).read_text() for rel in MOUNTSTATS)
    moved, mounts = [], {}
    for line in text.split("\n"):
        f = line.split(" ")
        if f[0] == "device" and len(f) == 9 and f[7] in ("nfs", "nfs4"):
            f[4] = str(base) + f[4]
            mounts[f[4]] = f"{f[1]} {f[4]} {f[7]} rw 0 0\n"
            Path(f[4]).mkdir(parents=True, exist_ok=True)
            line = " ".join(f)
        moved.append(line)
    (proc_root / "self").mkdir(parents=True, exist_ok=True)
    (proc_root / "self/mounts").write_text("".join(mounts.values()))
    (proc_root / "filesystems").write_text("nodev\tnfs\nnodev\tnfs4\n")
    return "\n".join(moved)


def grow_tcp(text: str, step: int) -> str:
    """A /proc/net/snmp capture whose Tcp InSegs and OutSegs grew by 1000 per step, RetransSegs by 3."""
    lines = text.splitlines()
    for i in range(0, len(lines) - 1, 2):
        names, values = lines[i].split(), lines[i + 1].split()
        if names[0] == "Tcp:":
            for name, step_size in (("InSegs", 1000), ("OutSegs", 1000), ("RetransSegs", 3)):
                at = names.index(name)
                values[at] = str(int(values[at]) + step_size * step)
            lines[i + 1] = " ".join(values)
    return "\n".join(lines) + "\n"


class MovingCounters:
    """Rewrites the copied nfs/nfsd files, the pool_stats, the mountstats and the 6.18 net/snmp
    capture every half second (atomically)."""

    def __init__(self, proc_root: Path) -> None:
        self.root = proc_root
        self.base = {rel: ((FIXTURES / "procfs" / rel).read_text(), raise_counters) for rel in NFS_FILES}
        self.base["fs/nfsd/pool_stats"] = ((FIXTURES / POOL_STATS).read_text(), raise_counters)
        self.base["net/snmp"] = ((FIXTURES / "wave2/procfs-live-vm618/proc/net/snmp").read_text(), grow_tcp)
        self.mountstats = nfs_mounts(proc_root)
        self.stop_event = threading.Event()
        self.step = 0
        self.write()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def write(self) -> None:
        for rel, (text, grow) in self.base.items():
            dst = self.root / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_suffix(".tmp")
            tmp.write_text(grow(text, self.step))
            os.replace(tmp, dst)
        tmp = self.root / "self/mountstats.tmp"
        tmp.write_text(raise_mountstats(self.mountstats, self.step))
        os.replace(tmp, self.root / "self/mountstats")

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            self.step += 1
            self.write()

    def start(self) -> "MovingCounters":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(5)


# -- the network stack captures ------------------------------------------------------------

NETSTACK = ("pressure", "netstat", "sockstat", "softnet", "conntrack")
NETSTACK_FILES = (
    "pressure/cpu", "pressure/io", "pressure/memory", "net/netstat", "net/snmp6", "net/sockstat",
    "net/sockstat6", "net/softnet_stat", "net/stat/nf_conntrack", "sys/net/netfilter/nf_conntrack_count",
    "sys/net/netfilter/nf_conntrack_max",
)


def copy_netstack(proc_root: Path) -> None:
    live = FIXTURES / "wave2" / "procfs-live-vm618" / "proc"
    for rel in NETSTACK_FILES:
        (proc_root / rel).parent.mkdir(parents=True, exist_ok=True)
        (proc_root / rel).write_bytes((live / rel).read_bytes())


# -- a stand-in dmsetup ------------------------------------------------------------------

DMSETUP = '''\
#!{python}
"""Stand-in dmsetup: replays captured writeboost status lines; counters grow per call."""
import pathlib, sys

state = pathlib.Path({state!r})
n = int(state.read_text()) + 1 if state.exists() else 1
state.write_text(str(n))
DEVICES = {devices!r}


def status(tokens):
    tok = list(tokens)
    # 10..25: the 16 hit/miss counters, 26: partial flushes (dm-writeboost writeboost_status()).
    for i in range(10, 27):
        tok[i] = str(int(tok[i]) * n)
    return " ".join(tok)


args = sys.argv[1:]
if args == ["status", "--target", "writeboost"]:
    for name, tokens in DEVICES:
        print(name + ": " + status(tokens))
elif len(args) == 2 and args[0] == "status":
    found = [t for name, t in DEVICES if name == args[1]]
    if not found:
        sys.exit("Device does not exist.")
    print(status(found[0]))
else:
    sys.exit("unsupported: " + " ".join(args))
'''


def writeboost_devices() -> list[tuple[str, list[str]]]:
    """Two devices from real captures: ``wb.sample`` (v2.2.6 sample) and ``mylv`` (issue 141)."""
    wb = FIXTURES / "writeboost"
    sample = (wb / "dmsetup_status.sample.226.txt").read_text().split()
    unprefixed = [line for line in (wb / "dmsetup_status.issue141.real.txt").read_text().splitlines()
                  if line and not line.split()[0].endswith(":")]
    return [("wb.sample", sample), ("mylv", unprefixed[0].split())]


def install_dmsetup(bindir: Path, state: Path) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / "dmsetup"
    path.write_text(DMSETUP.format(python=sys.executable, state=str(state), devices=writeboost_devices()))
    path.chmod(0o755)
    return path


# -- process groups and cgroups -------------------------------------------------------------

PROCESS_GROUPS = """\
process_groups:
  - name: agent
    pidfile: {pidfile}
  - name: agents
    cmdline: "-m carbon_client run"
  - name: carbon
    cmdline: "carbon-cache"
  - name: absent
    process: no-such-process
"""


def cgroup_tree(sys_root: Path) -> None:
    """Captured cgroup v2 trees under ``sys_root``: Fedora's services and podman pod, and the
    6.x capture (memory.max set, the cpu controller on) as ``system.slice/capture.service``."""
    cg = sys_root / "fs" / "cgroup"
    shutil.copytree(FIXTURES / "wave2/cgroup2-pcp-fedora/sys/fs/cgroup", cg)
    shutil.copytree(FIXTURES / "wave2/cgroup2-telegraf-single", cg / "system.slice/capture.service")


# -- synthetic hosts for the alert rules ---------------------------------------------------


def ghost_lines(now: int) -> list[str]:
    """Series that must make each alert rule fire (10 s apart, like the agent's default)."""
    recent = range(now - 660, now + 1, 10)
    lines = []
    for ts in range(now - 1200, now - 420, 10):  # silent for the last 7 minutes
        lines.append(f"ghost-silent.carbon_client.cycle_ms 3 {ts}")
    for ts in recent:
        lines += [
            f"ghost-dropping.carbon_client.cycle_ms 3 {ts}",
            f"ghost-dropping.carbon_client.dropped 12.5 {ts}",
            f"ghost-busy.disk.sdz.busy_percent 97 {ts}",
            f"ghost-busy.disk.total.busy_percent 97 {ts}",
            f"ghost-full.fs.data.used_percent 95.5 {ts}",
            f"ghost-wb.writeboost.cache0.dirty_ratio 91 {ts}",
            f"ghost-nfs.nfs.rpc.calls 200 {ts}",
            f"ghost-nfs.nfs.rpc.retrans 9 {ts}",
            f"ghost-probe.probe.web.up 0 {ts}",
            f"ghost-probe.probe.web.status 503 {ts}",
            f"ghost-cert.probe.site.up 1 {ts}",
            f"ghost-cert.probe.site.cert_days_left 5.5 {ts}",
            f"ghost-procs.process.web.count 0 {ts}",
            f"ghost-procs.process.db.count 3 {ts}",
            f"ghost-cgroup.cgroup.web.memory_percent 95.5 {ts}",
            f"ghost-cgroup.cgroup.db.memory_percent 40 {ts}",
            f"ghost-nfsmount.fs.mnt_data.responsive 0 {ts}",
            f"ghost-pressure.pressure.memory.full.avg60 35.5 {ts}",
            f"ghost-pressure.pressure.io.full.avg60 2.5 {ts}",
            f"ghost-conntrack.conntrack.used_percent 96.2 {ts}",
            f"ghost-listen.netstat.tcpext.ListenDrops 4.5 {ts}",
        ]
    return lines


def send_lines(port: int, lines: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall("".join(line + "\n" for line in lines).encode())


# -- the session's stack ---------------------------------------------------------------


@dataclass
class Stack:
    cache: CarbonCache
    web: GraphiteWeb
    agents: list[AgentProcess]
    hosts: dict[str, str] = field(default_factory=dict)  # role -> host component
    writeboost: bool = False


def wait_for(cache: CarbonCache, paths: list[str], agents: list[AgentProcess], timeout: float = 30) -> None:
    """Until each path has at least 2 points (rates need two samples)."""
    deadline = time.monotonic() + timeout
    missing = list(paths)
    while time.monotonic() < deadline:
        missing = [p for p in missing if len(cache.points(p)) < 2]
        if not missing:
            return
        for a in agents:
            if a.proc is not None and a.proc.poll() is not None:
                raise RuntimeError(f"agent exited {a.proc.returncode}: {a.output()}")
        time.sleep(0.2)
    logs = "\n".join(a.output() for a in agents)
    raise RuntimeError(f"no points for {missing} after {timeout}s; agents said:\n{logs}")


def settle(cache: CarbonCache, quiet: float = 1.5, timeout: float = 15) -> None:
    """Until carbon has created every series' file (the count stops growing)."""
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = len(cache.metrics())
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    require(carbon_cache_command() is not None, "carbon-cache.py not installed (pip install carbon)")
    require(graphite_python() is not None,
            "graphite-web not installed (Debian package graphite-web; `make test` installs it as root)")
    root = tmp_path_factory.mktemp("stack")
    cache = CarbonCache(root / "carbon")
    proc_root = root / "proc"
    nfs = MovingCounters(proc_root)
    writeboost = collector_missing("writeboost") is None
    collectors = [c for c in ("nfs", "nfsd", "writeboost", "nfsmount", "fs", "cgroup", *NETSTACK)
                  if collector_missing(c) is None]
    copy_netstack(proc_root)
    fixture_config = root / "fixture.yaml"
    fixture_config.write_text("softnet_per_cpu: true\n")
    env = dict(os.environ)
    if writeboost:
        install_dmsetup(root / "bin", root / "dmsetup.calls")
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    sys_root = root / "sys"
    sys_root.mkdir()
    if "cgroup" in collectors:
        cgroup_tree(sys_root)
    carbon = f"--carbon=127.0.0.1:{cache.port}"
    web = GraphiteWeb(root / "web", [cache.whisper_dir], [f"127.0.0.1:{cache.query_port}"])
    tls = TlsServer(root, 200)
    pidfile = root / "agent.pid"
    processes = collector_missing("process") is None
    # Probes of the stack's own services: graphite-web (http), carbon-cache (tcp), a TLS server;
    # process groups: the agent itself, the agents, carbon-cache, and one that finds nothing.
    main_config = root / "main.yaml"
    main_config.write_text(
        "probes:\n"
        f"  - {{name: graphite, http: '{web.url}/'}}\n"
        f"  - {{name: carbon, tcp: '127.0.0.1:{cache.port}'}}\n"
        f"  - {{name: tls, tls: '127.0.0.1:{tls.port}', verify: false}}\n"
        + (PROCESS_GROUPS.format(pidfile=pidfile) if processes else ""))
    agents = [AgentProcess(["--interval=1", carbon, f"--hostname={MAIN_HOST}", f"--config={main_config}"],
                           root / "agent-main.log")]
    if collectors:
        agents.append(AgentProcess(
            ["--interval=1", carbon, f"--hostname={FIXTURE_HOST}", f"--proc-root={proc_root}",
             f"--sys-root={sys_root}", f"--collectors={','.join(collectors)}", f"--config={fixture_config}"],
            root / "agent-fixture.log", env=env,
        ))
    try:
        cache.start()
        send_lines(cache.port, ghost_lines(int(time.time())))
        nfs.start()
        for a in agents:
            a.start()
        pidfile.write_text(f"{agents[0].proc.pid}\n")
        web.start()
        sentinels = [f"{MAIN_HOST}.carbon_client.sent", f"{MAIN_HOST}.disk.total.busy_percent",
                     f"{MAIN_HOST}.probe.graphite.response_ms", f"{MAIN_HOST}.probe.tls.cert_days_left"]
        if processes:
            sentinels.append(f"{MAIN_HOST}.process.agent.cpu_percent")
        if "cgroup" in collectors:
            sentinels.append(f"{FIXTURE_HOST}.cgroup.capture.cpu_percent")
        if "nfs" in collectors:
            sentinels += [f"{FIXTURE_HOST}.nfs.rpc.calls", f"{FIXTURE_HOST}.nfsd.io.read_bytes"]
        if writeboost:
            sentinels.append(f"{FIXTURE_HOST}.writeboost.wb_sample.read_hit_ratio")
        if "nfsmount" in collectors:
            v3 = mount_component(str(root / "nfsmounts/mnt/nfsv3"))
            sentinels += [f"{FIXTURE_HOST}.nfsmount.{v3}.write_rtt_ms", f"{FIXTURE_HOST}.fs.{v3}.responsive",
                          f"{FIXTURE_HOST}.nfsd.pool.packets_arrived"]
        if "netstat" in collectors:
            sentinels += [f"{FIXTURE_HOST}.netstat.tcp.RetransSegs", f"{FIXTURE_HOST}.softnet.cpu1.processed",
                          f"{FIXTURE_HOST}.pressure.io.full.total"]
        wait_for(cache, sentinels, agents)
        settle(cache)
        yield Stack(cache, web, agents, {"main": MAIN_HOST, "fixture": FIXTURE_HOST}, writeboost)
    finally:
        for a in agents:
            a.stop()
        nfs.stop()
        web.stop()
        cache.stop()
        tls.close()
