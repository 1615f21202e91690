"""Process groups from the config (`process_groups`): count, CPU, memory, I/O, files, threads.

Members are found every cycle: by the process name, a regex on the command
line or the effective user (one pass over every process, reading each
attribute the selectors need once), or by a pidfile or a systemd unit's
cgroups (only those processes). psutil reads each member inside one
``oneshot()`` (stat and status read once), under the proc root given to the
agent (``psutil.PROCFS_PATH``, a module global: one proc root per process).
psutil's Process objects are kept while their PID is listed, so a process's
start time is read once.

CPU seconds and I/O bytes are summed into one counter per group that only
ever grows: each member adds what it used since the last cycle, and a new
member what it used since it started when that was after the last cycle
(earlier: it only sets its baseline, since its past is not the group's). A
member that exits stops adding, so the sum never goes backwards and the
rate is the group's use over the interval, whatever the churn; what a
member used between the last cycle and its exit is not seen. The state kept
per process is forgotten when it exits.

Unreadable fields (other users' /proc/<pid>/io and fd need root or
CAP_SYS_PTRACE) are left out of the sums, and logged once per group; a group
none of whose members could be read sends none of them.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import time
from typing import Callable, Optional

import psutil

from carbon_client.cgroupfs import Hierarchies, find_hierarchies, unit_dirs
from carbon_client.config.procs import SELECTORS
from carbon_client.logonce import LogOnce
from carbon_client.metrics import Collector, Raw, Unavailable, counter, gauge
from carbon_client.parsers import ParseError
from carbon_client.parsers.cgroup import parse_procs
from carbon_client.parsers.pidfile import parse_pidfile

log = logging.getLogger("carbon_client.collectors")

# A new member's whole use counts when it started after the last cycle; that is
# decided on the wall clock, so only while it kept pace with the monotonic one.
CLOCK_SLACK = 1.0
_ACC = 3  # cpu_seconds, read_bytes, write_bytes


class _Group:
    """One configured group: how it finds its members, and its growing sums."""

    __slots__ = ("name", "how", "value", "acc", "pids", "rx", "uid")

    def __init__(self, spec) -> None:
        self.name = spec.name
        self.how, self.value = next((k, getattr(spec, k)) for k in SELECTORS if getattr(spec, k) is not None)
        self.acc: list = [None] * _ACC
        self.pids: set[int] = set()  # pidfile and unit: this cycle's
        self.uid: Optional[int] = None  # user: resolved every cycle
        self.rx = re.compile(self.value) if self.how == "cmdline" else None

    def matches(self, name: Optional[str], cmdline: Optional[str], euid: Optional[int]) -> bool:
        if self.how == "process":
            return name == self.value
        if self.how == "cmdline":
            return self.rx.search(cmdline) is not None
        return euid is not None and euid == self.uid


def _allowed(get: Callable[[], object]):
    """``get()``, or None when the process is not ours to read (AccessDenied)."""
    try:
        return get()
    except psutil.AccessDenied:
        return None


def measure(p: psutil.Process) -> tuple:
    """(cpu seconds, read bytes, write bytes, rss, fds, threads) of one process, inside its
    oneshot(); None where access is denied."""
    t = _allowed(p.cpu_times)
    io = _allowed(p.io_counters)
    mem = _allowed(p.memory_info)
    return (
        None if t is None else t.user + t.system,
        None if io is None else io.read_bytes,
        None if io is None else io.write_bytes,
        None if mem is None else mem.rss,
        _allowed(p.num_fds),
        _allowed(p.num_threads),
    )


class Process(Collector):
    name = group = "process"
    blocking = True
    description = (
        "Process groups defined in `process_groups`, each found by one of: `process` (the "
        "process name), `cmdline` (a regex searched in the command line, arguments joined by "
        "spaces), `user` (the effective user, name or uid), `pidfile` (the process whose id "
        "it holds), `unit` (the processes in a systemd unit's cgroups, read under the sys "
        "root). A group with no process sends `count` 0 and nothing else. CPU and I/O are "
        "the members' own use, summed so that a member exiting never makes the rate dip or "
        "jump; rss_bytes counts shared pages once per member. read_bytes, write_bytes and fds "
        "need root (or CAP_SYS_PTRACE) for other users' processes: without, those processes "
        "are left out of them (and the agent logs it once)."
    )
    instances = "the group's `name`"
    fields = ("count", "cpu_seconds", "rss_bytes", "read_bytes", "write_bytes", "fds", "threads")
    counters = frozenset(("cpu_seconds", "read_bytes", "write_bytes"))
    metrics = (
        gauge("count", "", "processes in the group"),
        counter("cpu_percent", "%", "CPU time of the members (user + system), percent of one core",
                field="cpu_seconds", scale=100.0, total=False),
        gauge("rss_bytes", "B", "resident memory of the members, summed"),
        counter("read_bytes", "B/s", "bytes the members made the block layer read (/proc/<pid>/io read_bytes)"),
        counter("write_bytes", "B/s", "bytes the members sent to the block layer (/proc/<pid>/io write_bytes)"),
        gauge("fds", "", "open file descriptors of the members"),
        gauge("threads", "", "threads of the members"),
    )

    def __init__(self, source, options=None, *, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(source, options)
        self.groups = [_Group(spec) for spec in getattr(options, "process_groups", None) or ()]
        self.clock = clock
        self.monotonic = monotonic
        self.hierarchies: Optional[Hierarchies] = None
        self._procs: dict[int, psutil.Process] = {}
        self._last: dict[psutil.Process, tuple] = {}  # member -> (cpu, read, write) at the last cycle
        self._last_time: Optional[tuple[float, float]] = None  # (wall, monotonic) of the last cycle
        self._said = LogOnce(log)
        self._seen: dict[int, psutil.Process] = {}  # this cycle's processes, by pid
        self._problems: list = []  # what this cycle logged, kept logged while it lasts

    def probe(self) -> None:
        if not self.groups:
            raise Unavailable("no process_groups configured")
        if not os.path.isdir(self.source.proc_path(".")):
            raise Unavailable(f"{self.source.proc_root} is not a directory")

    # -- members --------------------------------------------------------------------

    def _uid(self, user: str) -> Optional[int]:
        if user.isdigit():
            return int(user)
        try:
            return pwd.getpwnam(user).pw_uid
        except KeyError:
            return None

    def _pidfile_pids(self, g: _Group) -> set[int]:
        try:
            with open(g.value, "rb") as f:
                pid = parse_pidfile(f.read(64).decode("ascii", "replace"))
        except (OSError, ParseError) as exc:
            self._say(g, f"process group {g.name}: pidfile {g.value}: {getattr(exc, 'strerror', None) or exc}")
            return set()
        return {pid}

    def _unit_pids(self, g: _Group) -> set[int]:
        if self.hierarchies is None:
            self.hierarchies = find_hierarchies(self.source)
        dirs = unit_dirs(self.source, self.hierarchies, g.value) if self.hierarchies else None
        if dirs is None:
            self._say(g, f"process group {g.name}: unit {g.value} has no cgroup under "
                         f"{self.source.sys_path('fs/cgroup')} (not running?)")
            return set()
        pids: set[int] = set()
        for d in dirs:
            text = self.source.read_sys(f"{d}/cgroup.procs")
            if text:
                try:
                    pids.update(parse_procs(text))
                except ParseError as exc:
                    self._say(g, f"process group {g.name}: {d}/cgroup.procs: {exc}")
        return pids

    def _say(self, g: _Group, message: str) -> None:
        self._said.complain(("find", g.name), message, logging.INFO)
        self._problems.append(("find", g.name))

    def _process(self, pid: int) -> Optional[psutil.Process]:
        p = self._procs.get(pid)
        if p is None:
            try:
                p = psutil.Process(pid)
            except psutil.NoSuchProcess:
                return None
        self._seen[pid] = p
        return p

    # -- one cycle -----------------------------------------------------------------

    def read(self) -> Raw:
        psutil.PROCFS_PATH = self.source.proc_root
        self._seen = {}
        self._problems = []
        wall, mono = self.clock(), self.monotonic()
        by_pid = [g for g in self.groups if g.how in ("pidfile", "unit")]
        scanned = [g for g in self.groups if g.how not in ("pidfile", "unit")]
        for g in by_pid:
            g.pids = self._pidfile_pids(g) if g.how == "pidfile" else self._unit_pids(g)
        for g in scanned:
            if g.how == "user":
                g.uid = self._uid(g.value)
                if g.uid is None:
                    self._say(g, f"process group {g.name}: no user {g.value!r}")
        # Each attribute the selectors need is read once per process, without oneshot()
        # (which costs more than it saves for one read); members are measured inside one.
        need = {g.how for g in scanned}
        candidates = set().union(*(g.pids for g in by_pid)) if by_pid else set()
        if scanned:
            candidates.update(psutil.pids())
        members: dict[psutil.Process, tuple] = {}
        member_of: dict[psutil.Process, list[_Group]] = {}
        for pid in sorted(candidates):
            p = self._process(pid)
            if p is None:
                continue
            try:
                groups = [g for g in by_pid if pid in g.pids]
                if scanned:
                    name = p.name() if "process" in need else None
                    cmdline = " ".join(p.cmdline()) if "cmdline" in need else None
                    euid = p.uids().effective if "user" in need else None
                    groups += [g for g in scanned if g.matches(name, cmdline, euid)]
                if not groups:
                    continue
                with p.oneshot():
                    values = measure(p)
            except psutil.NoSuchProcess:  # exited (or a zombie) since it was listed
                continue
            except psutil.AccessDenied:  # hidden (hidepid): nothing to match on
                continue
            members[p] = values
            member_of[p] = groups
        self._procs = self._seen
        out = self._sums(members, member_of, wall, mono)
        self._said.keep_only(self._problems)
        return out

    def _sums(self, members: dict, member_of: dict, wall: float, mono: float) -> Raw:
        last, self._last = self._last, {}
        since = None
        if self._last_time is not None:
            w0, m0 = self._last_time
            if abs((wall - w0) - (mono - m0)) <= CLOCK_SLACK:
                since = w0
        self._last_time = (wall, mono)
        # per group: count, rss, fds, threads, whether some member's io or fds were unreadable
        per_group: dict[str, list] = {g.name: [0, None, None, None, False] for g in self.groups}
        for p, v in members.items():
            cur = v[:_ACC]
            self._last[p] = cur
            before = last.get(p)
            if before is None and since is not None and _started_after(p, since):
                before = (0, 0, 0)
            for g in member_of[p]:
                s = per_group[g.name]
                s[0] += 1
                s[1] = _add(s[1], v[3])
                s[2] = _add(s[2], v[4])
                s[3] = _add(s[3], v[5])
                if v[1] is None or v[4] is None:
                    s[4] = True
                for i in range(_ACC):
                    c = cur[i]
                    if c is None:
                        continue
                    b = before[i] if before is not None else None
                    # A counter below its last value: a PID reused by a process psutil still
                    # takes for the old one. It only sets a new baseline.
                    g.acc[i] = (g.acc[i] or 0) + (c - b if b is not None and c >= b else 0)
        out: dict[Optional[str], tuple] = {}
        for g in self.groups:
            count, rss, fds, threads, partial = per_group[g.name]
            if partial:
                self._said.complain(("partial", g.name), (
                    f"process group {g.name}: some members' /proc/<pid>/io or fd cannot be read (other "
                    "users' processes need root or CAP_SYS_PTRACE): read_bytes, write_bytes and fds "
                    "leave them out"))
                self._problems.append(("partial", g.name))
            if count == 0:
                out[g.name] = (0, None, None, None, None, None, None)
                continue
            cpu, rb, wb = g.acc
            out[g.name] = (count, cpu, rss, rb, wb, fds, threads)
        return out


def _add(total, v):
    if v is None:
        return total
    return v if total is None else total + v


def _started_after(p: psutil.Process, wall: float) -> bool:
    try:
        return p.create_time() > wall
    except psutil.Error:
        return False
