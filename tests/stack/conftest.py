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
- agent ``taghost`` streams this machine again as ``format: tags`` sends it
  (``servers.dc1.group.key;host=taghost;instance=...``); carbon indexes the tagged
  series in graphite-web's tag database;
- synthetic ``ghost-*`` hosts written straight into Carbon (tests/stack/ghosts.py),
  in both formats, with and without a prefix, give each alert rule a case that
  must fire and one (``ghost-ok``) that must not.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

from carbon_client.naming import mount_component
from tests.carbon_server import CarbonCache, carbon_cache_command
from tests.conftest import ROOT, require
from tests.stack.fixture_tree import (
    NETSTACK, PROCESS_GROUPS, MovingCounters, cgroup_tree, copy_netstack, install_dmsetup,
)
from tests.stack.ghosts import PREFIXES, ghost_lines, send_lines  # noqa: F401  (send_lines: for the tests)
from tests.stack.graphite_web import GraphiteWeb, graphite_python
from tests.tls_server import TlsServer

MAIN_HOST = "stackhost"
FIXTURE_HOST = "nfs-fixture"
TAG_HOST = "taghost"  # sends `format: tags` under TAG_PREFIX
TAG_PREFIX = "servers.dc1"


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


# -- the session's stack ---------------------------------------------------------------


@dataclass
class Stack:
    cache: CarbonCache
    web: GraphiteWeb
    agents: list[AgentProcess]
    hosts: dict[str, str] = field(default_factory=dict)  # role -> host component
    writeboost: bool = False


def wait_tagged(web: GraphiteWeb, queries: list[str], agents: list[AgentProcess], timeout: float = 30) -> None:
    """Until each seriesByTag query returns a series with 2 points: tagged series are found
    through graphite-web's tag database, which carbon fills as it creates them."""
    deadline = time.monotonic() + timeout
    missing = list(queries)
    while time.monotonic() < deadline:
        missing = [q for q in missing
                   if not any(sum(v is not None for v, _ in s["datapoints"]) >= 2 for s in web.render(q, "-1min"))]
        if not missing:
            return
        time.sleep(0.3)
    logs = "\n".join(a.output() for a in agents)
    raise RuntimeError(f"nothing for {missing} after {timeout}s; agents said:\n{logs}")


# The agents' health group at every tick (it goes every 10 s by default), as the dashboards are
# proven at a 1 s interval.
EVERY_TICK = "intervals: {agent: 1s}\n"


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
    web = GraphiteWeb(root / "web", [cache.whisper_dir], [f"127.0.0.1:{cache.query_port}"])
    cache.graphite_url = web.url  # carbon indexes tagged series in graphite-web's tag database
    proc_root = root / "proc"
    nfs = MovingCounters(proc_root)
    writeboost = collector_missing("writeboost") is None
    collectors = [c for c in ("nfs", "nfsd", "writeboost", "nfsmount", "fs", "cgroup", *NETSTACK)
                  if collector_missing(c) is None]
    copy_netstack(proc_root)
    fixture_config = root / "fixture.yaml"
    fixture_config.write_text("softnet_per_cpu: true\n" + EVERY_TICK)
    env = dict(os.environ)
    if writeboost:
        install_dmsetup(root / "bin", root / "dmsetup.calls")
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    sys_root = root / "sys"
    sys_root.mkdir()
    if "cgroup" in collectors:
        cgroup_tree(sys_root)
    carbon = f"--carbon=127.0.0.1:{cache.port}"
    tls = TlsServer(root, 200)
    pidfile = root / "agent.pid"
    processes = collector_missing("process") is None
    # Probes of the stack's own services: graphite-web (http), carbon-cache (tcp), a TLS server;
    # process groups: the agent itself, the agents, carbon-cache, and one that finds nothing.
    main_config = root / "main.yaml"
    main_config.write_text(
        EVERY_TICK + "probes:\n"
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
    # This machine again, as `format: tags` sends it, under a two-level prefix.
    tags_config = root / "tags.yaml"
    tags_config.write_text("format: tags\n" + EVERY_TICK)
    agents.append(AgentProcess(["--interval=1", carbon, f"--hostname={TAG_HOST}", f"--prefix={TAG_PREFIX}",
                                f"--config={tags_config}"], root / "agent-tags.log"))
    try:
        cache.start()
        web.start()
        now = int(time.time())
        send_lines(cache.port, [line for fmt in ("plain", "tags") for prefix in PREFIXES
                                for line in ghost_lines(now, fmt, prefix)])
        nfs.start()
        for a in agents:
            a.start()
        pidfile.write_text(f"{agents[0].proc.pid}\n")
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
        wait_tagged(web, [f"seriesByTag('name={TAG_PREFIX}.carbon_client.sent', 'host={TAG_HOST}')",
                          f"seriesByTag('name={TAG_PREFIX}.disk.busy_percent', 'instance=total')",
                          "seriesByTag('name=disk.busy_percent', 'host=ghost-busy')",
                          f"seriesByTag('name={TAG_PREFIX}.disk.busy_percent', 'host=ghost-busy')"], agents)
        settle(cache)
        yield Stack(cache, web, agents, {"main": MAIN_HOST, "fixture": FIXTURE_HOST, "tags": TAG_HOST}, writeboost)
    finally:
        for a in agents:
            a.stop()
        nfs.stop()
        web.stop()
        cache.stop()
        tls.close()
