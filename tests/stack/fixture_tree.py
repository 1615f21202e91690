"""The stack's fixture trees: a /proc with captured NFS files whose counters move, the
network stack captures, a stand-in dmsetup replaying writeboost status, process groups
and captured cgroup v2 trees (see conftest.py for how the agents read them)."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

from tests.conftest import FIXTURES

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
