"""Process groups: psutil on a fake /proc built from captured /proc/<pid> files, and on real processes.

The fake /proc holds the captured stat, status, io and cmdline of five
processes (two from a Fedora 5.5.7 desktop, three from a 6.18 VM: kthreadd,
bash, sleep) and the VM's /proc/stat (btime). psutil also reads statm and
fd/, which were not captured: statm is written with the resident pages of
the captured stat (field 24, the same counter) and fd/ gets a few entries.
Between reads the test raises utime/stime (stat fields 14/15, 100 ticks a
second) and the io counters by hand; expected values are worked out in the
comments.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from carbon_client.collectors.process import Process
from carbon_client.config import build
from carbon_client.config.procs import process_groups
from carbon_client.metrics import Unavailable
from carbon_client.sampling import Sampler
from carbon_client.source import Source
from tests.conftest import FIXTURES, ROOT

W2 = FIXTURES / "wave2"
CAPTURED = {
    1309: W2 / "procfs-pcp-procpid-5.5.7/proc/1309",  # systemd --user, uid 1000, 1 thread
    214983: W2 / "procfs-pcp-procpid-5.5.7/proc/214983",  # gnome-terminal-server, uid 1000, 4 threads
    2: W2 / "procfs-live-vm618/proc/2",  # kthreadd, root, empty cmdline
    8683: W2 / "procfs-live-vm618/proc/8683",  # bash capture_live.sh, root
    8750: W2 / "procfs-live-vm618/proc/8750",  # sleep 300, root
}
FDS = {1309: 5, 214983: 20, 2: 0, 8683: 4, 8750: 3}
PAGE = os.sysconf("SC_PAGE_SIZE")
BTIME = 1796052473  # procfs-live-vm618/proc/stat
GROUPS = [
    {"name": "desktop", "user": "1000"},
    {"name": "shell", "cmdline": r"capture_live\.sh"},
    {"name": "sleeper", "process": "sleep"},
    {"name": "term", "process": "gnome-terminal-server"},  # comm is cut to 15: psutil reads cmdline
    {"name": "nothing", "process": "no-such-process"},
]


@pytest.fixture(autouse=True)
def real_proc():
    yield
    psutil.PROCFS_PATH = "/proc"


class FakeProc:
    """A proc root (and sys root) in tmp_path; counters raised by hand between reads."""

    def __init__(self, tmp: Path) -> None:
        self.proc = tmp / "proc"
        self.sys = tmp / "sys"
        self.proc.mkdir()
        self.sys.mkdir()
        shutil.copyfile(W2 / "procfs-live-vm618/proc/stat", self.proc / "stat")
        for pid in CAPTURED:
            self.add(pid)

    def add(self, pid: int, like: int | None = None, starttime: int | None = None) -> None:
        src = CAPTURED[like or pid]
        d = self.proc / str(pid)
        d.mkdir()
        for f in ("stat", "status", "io", "cmdline"):
            shutil.copyfile(src / f, d / f)
        if like is not None:
            self._stat(pid, {0: str(pid)}, starttime)
        rss_pages = self.stat_field(pid, 24)
        (d / "statm").write_text(f"1000 {rss_pages} 100 10 0 500 0\n")
        (d / "fd").mkdir()
        for i in range(FDS[like or pid]):
            (d / "fd" / str(i)).write_text("")

    def remove(self, pid: int) -> None:
        shutil.rmtree(self.proc / str(pid))

    def stat_field(self, pid: int, n: int) -> int:
        """Field n (1-based, proc(5)) of the pid's stat; 2 is (comm), 3 on follow it."""
        text = (self.proc / str(pid) / "stat").read_text()
        return int(text[text.rindex(")") + 2:].split()[n - 3])

    def _stat(self, pid: int, fields: dict, starttime: int | None = None) -> None:
        p = self.proc / str(pid) / "stat"
        text = p.read_text()
        head, rest = text[:text.rindex(")") + 1], text[text.rindex(")") + 2:].split(" ")
        if 0 in fields:
            head = fields.pop(0) + head[head.index(" "):]
        for n, v in fields.items():
            rest[n - 3] = str(v)
        if starttime is not None:
            rest[22 - 3] = str(starttime)
        p.write_text(head + " " + " ".join(rest))

    def cpu(self, pid: int, utime: int = 0, stime: int = 0) -> None:
        """Add ticks (1/100 s) to utime and stime."""
        self._stat(pid, {14: self.stat_field(pid, 14) + utime, 15: self.stat_field(pid, 15) + stime})

    def io(self, pid: int, read: int = 0, write: int = 0) -> None:
        p = self.proc / str(pid) / "io"
        lines = []
        for line in p.read_text().splitlines():
            key, value = line.split(": ")
            add = read if key == "read_bytes" else write if key == "write_bytes" else 0
            lines.append(f"{key}: {int(value) + add}")
        p.write_text("\n".join(lines) + "\n")

    def collector(self, groups, clock=None) -> Process:
        """The collector; ``clock``: the wall time of each read, 2 s apart on the monotonic clock."""
        config = build({"process_groups": process_groups(groups, "process_groups")},
                       {"proc_root": str(self.proc), "sys_root": str(self.sys)})
        kw = {}
        if clock:
            walls, monos = iter(clock), iter(100.0 + 2 * i for i in range(len(clock)))
            kw = {"clock": lambda: next(walls), "monotonic": lambda: next(monos)}
        c = Process(Source(str(self.proc), str(self.sys)), config, **kw)
        c.probe()
        return c


@pytest.fixture
def fake(tmp_path) -> FakeProc:
    return FakeProc(tmp_path)


def values(sample, instance) -> dict:
    schema = sample.schemas[instance]
    return {m.key: v for m, v in zip(schema.metrics, sample.values[instance]) if v is not None}


def test_members_rates_and_sums(fake):
    c = fake.collector(GROUPS)
    s = Sampler(c)
    s.update(c.read(), 100.0)
    fake.cpu(1309, utime=100)  # +1.0 s
    fake.io(1309, read=409600)
    fake.cpu(214983, stime=50)  # +0.5 s
    fake.io(214983, write=8192)
    fake.cpu(8683, utime=20)  # +0.2 s
    fake.io(8683, write=4096)
    out = s.update(c.read(), 102.0)
    # desktop: uid 1000 = systemd --user and gnome-terminal-server
    assert values(out, "desktop") == {
        "count": 2,
        "cpu_percent": pytest.approx((1.0 + 0.5) / 2 * 100),  # 75 %
        "rss_bytes": (1256 + 42743) * PAGE,  # stat field 24 of each capture
        "read_bytes": 409600 / 2,
        "write_bytes": 8192 / 2,
        "fds": 5 + 20,
        "threads": 1 + 4,  # status Threads:
    }
    assert values(out, "shell") == {
        "count": 1, "cpu_percent": pytest.approx(10.0), "rss_bytes": 796 * PAGE,
        "read_bytes": 0, "write_bytes": 2048.0, "fds": 4, "threads": 1,
    }
    assert values(out, "sleeper")["count"] == 1 and values(out, "sleeper")["cpu_percent"] == 0
    assert values(out, "term")["count"] == 1
    assert values(out, "nothing") == {"count": 0}  # and nothing else


def test_a_member_exiting_makes_no_dip(fake):
    """The group's counter sums members' own deltas: one exits, the other's use is the rate."""
    c = fake.collector(GROUPS[:1])
    s = Sampler(c)
    s.update(c.read(), 100.0)
    fake.cpu(1309, utime=100)
    fake.cpu(214983, utime=300)
    first = values(s.update(c.read(), 102.0), "desktop")
    assert first["cpu_percent"] == pytest.approx((1.0 + 3.0) / 2 * 100)
    fake.remove(214983)  # 1543 s of CPU leave the group's sum...
    fake.cpu(1309, utime=100)
    v = values(s.update(c.read(), 104.0), "desktop")
    # ...and the rate is systemd's 1 s over 2 s, not negative, not missing
    assert v["count"] == 1 and v["cpu_percent"] == pytest.approx(50.0)
    assert v["read_bytes"] == 0


def test_pidfile_and_unit(fake, tmp_path):
    pidfile = tmp_path / "agent.pid"
    pidfile.write_text("8683\n")
    cg = fake.sys / "fs/cgroup"
    (cg / "system.slice/cron.service/jobs").mkdir(parents=True)
    (cg / "cgroup.controllers").write_text("cpu memory pids\n")
    (cg / "system.slice/cron.service/cgroup.procs").write_text("8683\n")
    (cg / "system.slice/cron.service/jobs/cgroup.procs").write_text("8750\n")  # Delegate=: a child cgroup
    groups = [{"name": "agent", "pidfile": str(pidfile)}, {"name": "cron", "unit": "cron"},
              {"name": "gone", "pidfile": str(tmp_path / "missing.pid")}, {"name": "nounit", "unit": "x.service"}]
    c = fake.collector(groups)
    s = Sampler(c)
    s.update(c.read(), 100.0)
    fake.cpu(8683, utime=20)
    fake.cpu(8750, stime=10)
    out = s.update(c.read(), 102.0)
    assert values(out, "agent")["cpu_percent"] == pytest.approx(10.0)
    cron = values(out, "cron")
    assert cron["count"] == 2 and cron["cpu_percent"] == pytest.approx((0.2 + 0.1) / 2 * 100)
    assert values(out, "gone") == {"count": 0} and values(out, "nounit") == {"count": 0}


def test_a_new_member_counts_from_its_start(fake):
    """Started after the last read: all its CPU is the group's. Older: only its baseline."""
    wall0 = BTIME + 2300  # after every captured start (the latest, sleep's, is 2265.40 s after boot)
    c = fake.collector([{"name": "sleeper", "process": "sleep"}], clock=[wall0, wall0 + 2, wall0 + 4])
    s = Sampler(c)
    s.update(c.read(), 100.0)
    fake.add(9000, like=8750, starttime=(2300 + 1) * 100)  # started 1 s after the first read
    fake.cpu(9000, utime=30, stime=20)  # 0.5 s since it started
    fake.add(9001, like=8750, starttime=2000 * 100)  # started long before: first seen now
    fake.cpu(9001, utime=500)
    v = values(s.update(c.read(), 102.0), "sleeper")
    assert v["count"] == 3 and v["cpu_percent"] == pytest.approx(0.5 / 2 * 100)
    fake.cpu(9001, utime=100)
    v = values(s.update(c.read(), 104.0), "sleeper")
    assert v["cpu_percent"] == pytest.approx(1.0 / 2 * 100)


def test_a_clock_step_does_not_count_old_processes_as_new(fake):
    wall0 = BTIME + 2300
    # the wall clock jumps back an hour between the reads: start times say nothing then
    c = fake.collector([{"name": "sleeper", "process": "sleep"}], clock=[wall0, wall0 - 3600])
    s = Sampler(c)
    s.update(c.read(), 100.0)
    fake.add(9000, like=8750, starttime=(2300 + 1) * 100)
    fake.cpu(9000, utime=30)
    assert values(s.update(c.read(), 102.0), "sleeper")["cpu_percent"] == 0


def test_processes_churning_are_forgotten(fake):
    c = fake.collector([{"name": "sleeper", "process": "sleep"}])
    for k in range(40):
        fake.add(10000 + k, like=8750, starttime=226540 + k)
        if k:
            fake.remove(10000 + k - 1)
        raw = c.read()
        assert raw["sleeper"][0] == 2  # 8750 and this cycle's newcomer
    # psutil objects and per-process counters of this cycle's processes only
    assert len(c._last) == 2
    assert len(c._procs) == len(CAPTURED) + 1


def test_disabled_without_groups(tmp_path):
    c = Process(Source(str(tmp_path), str(tmp_path)), build(None, {}))
    with pytest.raises(Unavailable, match="no process_groups"):
        c.probe()


def test_pid_reuse_with_lower_counters_sets_a_new_baseline(fake):
    c = fake.collector([{"name": "shell", "cmdline": "capture_live"}])
    s = Sampler(c)
    s.update(c.read(), 100.0)
    # same pid, a process psutil still takes for the old one, with less CPU
    fake._stat(8683, {15: 0})
    fake.cpu(8683, utime=0)
    assert values(s.update(c.read(), 102.0), "shell")["cpu_percent"] == 0


# -- real processes ----------------------------------------------------------------------


def test_real_processes_come_and_go():
    token = f"carbon-client-test-{os.getpid()}-{time.monotonic_ns()}"
    cmd = [sys.executable, "-c", "import sys, time; time.sleep(60)", token]
    procs = [subprocess.Popen(cmd) for _ in range(3)]
    try:
        config = build({"process_groups": process_groups([{"name": "t", "cmdline": token}], "process_groups")})
        c = Process(Source(), config)
        s = Sampler(c)
        deadline = time.monotonic() + 10
        while c.read()["t"][0] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        s.update(c.read(), time.monotonic())
        procs[0].kill()
        procs[0].wait()
        time.sleep(0.05)
        v = values(s.update(c.read(), time.monotonic()), "t")
        assert v["count"] == 2
        assert v["cpu_percent"] >= 0 and v["threads"] == 2 and v["rss_bytes"] > 1 << 20
        assert v["fds"] >= 6  # stdin, stdout, stderr each
    finally:
        for p in procs:
            p.kill()
            p.wait()


UNREADABLE = """
import json, logging, os, sys
sys.path.insert(0, {root!r})
from carbon_client.collectors.process import Process
from carbon_client.config import build
from carbon_client.config.procs import process_groups
from carbon_client.source import Source
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="LOG %(message)s")
if os.geteuid() == 0:  # as root, become nobody (the interpreter may live where nobody cannot run it)
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
config = build({{"process_groups": process_groups([{{"name": "init", "pidfile": {pidfile!r}}}], "process_groups")}})
c = Process(Source(), config)
c.read()
print(json.dumps(c.read()["init"]))
"""


def test_other_users_io_and_fds_are_left_out(tmp_path):
    """Not root: PID 1's /proc/1/io and fd/ cannot be read; the group counts it, sends what it can."""
    d = Path(tempfile.mkdtemp())
    try:
        d.chmod(0o755)
        (d / "init.pid").write_text("1\n")
        (d / "init.pid").chmod(0o644)
        out = subprocess.run([sys.executable, "-c", UNREADABLE.format(root=str(ROOT), pidfile=str(d / "init.pid"))],
                             capture_output=True, text=True, timeout=60, cwd="/")
    finally:
        shutil.rmtree(d)
    assert out.returncode == 0, out.stderr
    logs = [line for line in out.stdout.splitlines() if line.startswith("LOG ")]
    count, cpu, rss, read, write, fds, threads = json.loads(out.stdout.splitlines()[-1])
    assert count == 1 and cpu is not None and rss is not None and threads >= 1
    assert read is None and write is None and fds is None
    assert len(logs) == 1 and "process group init: some members' /proc/<pid>/io or fd cannot be read" in logs[0]


def test_logged_once_while_it_lasts(fake, tmp_path, caplog):
    c = fake.collector([{"name": "gone", "pidfile": str(tmp_path / "none.pid")}])
    with caplog.at_level(logging.INFO, "carbon_client.collectors"):
        for _ in range(3):
            c.read()
    assert [r.getMessage() for r in caplog.records] == [
        f"process group gone: pidfile {tmp_path / 'none.pid'}: No such file or directory"]
