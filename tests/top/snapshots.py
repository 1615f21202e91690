"""Two snapshots of the fixture /proc and a fake clock, for `carbon-client top` and the live view.

The first snapshot is tests/fixtures/procfs (plus a vmstat, which the capture
lacks); the second adds known amounts to chosen counters. The clock moves
only by what the scheduler asks to wait, and the first wait swaps in the
second snapshot, so every rate is known and every row can be written out by
hand with dstat's rules (see test_format.py for how numbers are printed).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from carbon_client.collectors.basic import PAGE_SIZE
from carbon_client.top.command import main
from tests.conftest import FIXTURES

HEADER = (
    "--total-cpu-usage-- -dsk/total- -net/total- ---paging-- ---system--\n"
    "usr sys idl wai stl| read  writ| recv  send|  in   out | int   csw \n"
)

VMSTAT = "pgpgin 1000\npgpgout 2000\npswpin 300\npswpout 400\npgfault 5000\npgmajfault 60\n"

# (file, line name, token position of the name, {token index: delta})
BUMPS = [
    # cpu: user nice system idle iowait irq softirq steal = 60 10 40 800 50 10 20 10 (sum 1000)
    ("stat", "cpu", 0, {1: 60, 2: 10, 3: 40, 4: 800, 5: 50, 6: 10, 7: 20, 8: 10}),
    ("stat", "intr", 0, {1: 1500}),
    ("stat", "ctxt", 0, {1: 12345}),
    # diskstats: token 5 = sectors read, 9 = sectors written
    ("diskstats", "sda", 2, {5: 2048, 9: 3}),  # 1 MiB read, 1536 B written
    ("diskstats", "vda", 2, {9: 1}),  # 512 B written
    ("diskstats", "ram0", 2, {5: 2}),  # 1024 B read: a whole device, in dstat's total
    ("diskstats", "sda1", 2, {5: 100000}),  # partition: not in total
    ("diskstats", "nvme0n1p1", 2, {5: 1000}),  # partition (dstat 0.7.4 would count it)
    ("diskstats", "dm-0", 2, {9: 100000}),  # device-mapper: not in total
    # net/dev: token 1 = rx bytes, 9 = tx bytes
    ("net/dev", "eth0", 0, {1: 1000000, 9: 500}),
    ("net/dev", "docker0", 0, {1: 2000}),  # a bridge
    ("net/dev", "vethf345468", 0, {9: 12}),
    ("net/dev", "lo", 0, {1: 5000000, 9: 5000000}),  # never in a total
    ("vmstat", "pswpin", 0, {1: 10}),
    # NFS client v3 ops: 2 null, 3 getattr, 8 read, 9 write, 19 readdirplus, 21 fsinfo, 23 commit
    ("net/rpc/nfs", "proc3", 0, {2: 7, 3: 100, 8: 30, 9: 20, 19: 5, 21: 2, 23: 1}),
    ("net/rpc/nfs", "proc4", 0, {3: 3}),  # v4 read
    # NFS server: v3 read (8), v4 compound (3), v4ops read (opnum 25) and putfh (22)
    ("net/rpc/nfsd", "proc3", 0, {8: 8}),
    ("net/rpc/nfsd", "proc4", 0, {3: 40}),
    ("net/rpc/nfsd", "proc4ops", 0, {2 + 25: 2, 2 + 22: 50}),
]

FILES = ("stat", "loadavg", "meminfo", "diskstats", "net/dev", "net/rpc/nfs", "net/rpc/nfsd")


def bump(text: str, name: str, pos: int, deltas: dict[int, int]) -> str:
    """Add ``deltas`` (token index -> amount) to the line whose token ``pos`` is ``name``.

    Tokens are runs of characters other than whitespace and ':' (so ``eth0:`` is
    ``eth0``); the rest of the line keeps its layout.
    """
    out, hit = [], False
    for line in text.splitlines():
        spans = [m.span() for m in re.finditer(r"[^\s:]+", line)]
        if len(spans) > pos and line[slice(*spans[pos])] == name:
            hit = True
            for i in sorted(deltas, reverse=True):
                a, b = spans[i]
                line = line[:a] + str(int(line[a:b]) + deltas[i]) + line[b:]
        out.append(line)
    assert hit, f"no {name} line"
    return "\n".join(out) + "\n"


class Snapshots:
    """A proc root holding snapshot 1; ``advance()`` writes snapshot 2 over it."""

    def __init__(self, tmp: Path) -> None:
        self.proc = tmp / "proc"
        self.sys = tmp / "sys"
        self.sys.mkdir()
        self.first: dict[str, str] = {}
        for rel in FILES:
            (self.proc / rel).parent.mkdir(parents=True, exist_ok=True)
            self.first[rel] = (FIXTURES / "procfs" / rel).read_text()
        self.first["vmstat"] = VMSTAT
        self.second = dict(self.first)
        for rel, name, pos, deltas in BUMPS:
            self.second[rel] = bump(self.second[rel], name, pos, deltas)
        self.write(self.first)
        self.advanced = False

    def write(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            (self.proc / rel).write_text(text)

    def advance(self) -> None:
        if not self.advanced:
            self.write(self.second)
            self.advanced = True


class Clock:
    """The agent's monotonic clock and the scheduler's wall clock in one, at ``t``.

    Only ``wait`` (the scheduler's) moves it, and the first wait brings in
    snapshot 2.
    """

    def __init__(self, snaps: Snapshots, t: float = 1000.0) -> None:
        self.t = t
        self.snaps = snaps
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.t

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.t += seconds
        self.snaps.advance()
        return False


def top(snaps: Snapshots, *args: str, tty=False, termsize=None, clock=None) -> tuple[int, str, str, Clock]:
    """``carbon-client top`` on the snapshots; returns the status, stdout, stderr and the clock."""
    out, err = io.StringIO(), io.StringIO()
    clock = clock or Clock(snaps)
    argv = ["--proc-root", str(snaps.proc), "--sys-root", str(snaps.sys), *args]
    rc = main(argv, out, err, monotonic=clock, wall=clock, wait=clock.wait, tty=tty, termsize=termsize)
    return rc, out.getvalue(), err.getvalue(), clock


def swap_in() -> str:
    """10 pages swapped in over 1 s, as the paging block prints it."""
    return {4096: "  40k", 16384: " 160k", 65536: " 640k"}[PAGE_SIZE]
