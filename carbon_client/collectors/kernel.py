"""Kernel facts and tasks: `host.kernel.*` and `host.processes.*`."""

from __future__ import annotations

import logging
from typing import Callable, Optional, TypeVar

from carbon_client.logonce import BadLines
from carbon_client.metrics import Collector, Raw, Unavailable, derived, gauge
from carbon_client.parsers import ParseError
from carbon_client.parsers.cpu_list import parse_cpu_list
from carbon_client.parsers.loadavg import parse_loadavg
from carbon_client.parsers.pid_state import parse_pid_state
from carbon_client.parsers.stat import parse_stat
from carbon_client.parsers.sysctl import parse_file_nr, parse_sysctl_int
from carbon_client.parsers.uptime import parse_uptime

log = logging.getLogger("carbon_client.collectors")

T = TypeVar("T")


class Kernel(Collector):
    name = group = "kernel"
    blocking = True  # lists /proc: 2.5 ms with 2000 processes (docs/BENCHMARKS.md)
    description = (
        "Kernel facts: online CPUs (/sys/devices/system/cpu/online, else the cpuN lines of "
        "/proc/stat), uptime (/proc/uptime), file handles (/proc/sys/fs/file-nr), entropy "
        "(/proc/sys/kernel/random/entropy_avail: a constant 256 since 5.18), processes (the "
        "pid directories of /proc) and threads (every task the kernel has, kernel threads "
        "included: the total of /proc/loadavg). A file that is missing leaves its key out."
    )
    source_path = "uptime"
    fields = ("cpus", "uptime", "file_handles_allocated", "file_handles_max", "entropy_avail", "processes",
              "threads")
    metrics = (
        gauge("cpus", "", "CPUs online"),
        gauge("uptime", "s", "time since boot"),
        gauge("file_handles_allocated", "", "file handles allocated (file-nr's allocated - free; free is 0 since 2.6)"),
        gauge("file_handles_max", "", "the limit of file handles (fs.file-max)"),
        derived("file_handles_used_percent", "%", "file_handles_allocated / file_handles_max * 100",
                lambda file_handles_allocated, file_handles_max:
                file_handles_allocated * 100.0 / file_handles_max if file_handles_max else None),
        gauge("entropy_avail", "bits", "entropy in the input pool"),
        gauge("processes", "", "processes (thread groups) now"),
        gauge("threads", "", "tasks now: every thread, kernel threads included"),
    )

    def _cpus(self) -> Optional[int]:
        online = self.source.read_sys("devices/system/cpu/online")
        if online is not None:
            return len(parse_cpu_list(online))
        for _, text in self.source.read_each(("stat",), 1 << 20):  # one cpuN line per CPU: 20 KiB at 128
            return len(parse_stat(text).cpus)
        return None

    def read(self) -> Raw:
        # Kept open from one read to the next (one pread each), apart from the host cycle's own
        # loadavg, so the group can run on a worker thread.
        texts = dict(self.source.read_kept("kernel", _FILES))

        def parsed(rel: str, parse: Callable[[str], T]) -> Optional[T]:
            text = texts.get(rel)
            return None if text is None else parse(text)

        files = parsed("sys/fs/file-nr", parse_file_nr)
        uptime = parsed("uptime", parse_uptime)
        loadavg = parsed("loadavg", parse_loadavg)
        return {None: (
            self._cpus(),
            None if uptime is None else uptime.seconds,
            None if files is None else files.allocated - files.free,
            None if files is None else files.max,
            parsed("sys/kernel/random/entropy_avail", parse_sysctl_int),
            sum(1 for n in self.source.proc_listdir() if n.isdigit()),
            None if loadavg is None else loadavg.total,
        )}


_FILES = ("sys/fs/file-nr", "uptime", "loadavg", "sys/kernel/random/entropy_avail")


# fs/proc/array.c task_state_array, by letter: x is dead before 3.14, K (wakekill) and W
# (waking, paging before 2.6) are gone from recent kernels.
STATE_KEYS = {
    "R": "running", "S": "sleeping", "D": "disk_sleep", "T": "stopped", "t": "tracing_stop",
    "Z": "zombie", "X": "dead", "x": "dead", "I": "idle", "P": "parked",
}
STATES = ("running", "sleeping", "disk_sleep", "stopped", "tracing_stop", "zombie", "dead", "idle", "parked",
          "other")
_STATE_HELP = {
    "running": "processes running or runnable (R)",
    "sleeping": "processes sleeping, interruptible (S)",
    "disk_sleep": "processes waiting uninterruptibly, usually for I/O (D)",
    "stopped": "processes stopped by a signal (T)",
    "tracing_stop": "processes stopped by a debugger (t)",
    "zombie": "processes exited and not yet reaped by their parent (Z)",
    "dead": "processes being torn down (X)",
    "idle": "idle kernel threads (I, 4.14+)",
    "parked": "parked kernel threads (P)",
    "other": "processes in another state (K wakekill, W waking on old kernels)",
}


class Processes(Collector):
    name = group = "processes"
    blocking = True  # a read per process: 30 ms with 2000 (docs/BENCHMARKS.md)
    description = (
        "Processes by state and their threads, from /proc/<pid>/stat of every process (one "
        "read each, the files of the first 256 kept open from one read to the next; a process "
        "that exits meanwhile is skipped). The state is the process's "
        "(its main thread's), as ps shows it; `threads` sums every process's thread count. "
        "The pass costs about 15 us a process (30 ms with 2000: docs/BENCHMARKS.md); give the "
        "group a longer interval on such hosts (`intervals: {processes: 1m}`)."
    )
    fields = (*STATES, "threads")
    metrics = (*(gauge(s, "", _STATE_HELP[s]) for s in STATES),
               gauge("threads", "", "threads of every process"))

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self._errors = BadLines(log, "/proc/<pid>/stat", self)

    def probe(self) -> None:
        if not any(n.isdigit() for n in self.source.proc_listdir()):
            raise Unavailable(f"{self.source.proc_path('')} has no process directories")

    def read(self) -> Raw:
        letters = dict.fromkeys("RSDI", 0)
        threads = 0
        errors = self._errors
        stats = [n + "/stat" for n in self.source.proc_listdir() if n.isdigit()]
        for _, text in self.source.read_kept("pid stat", stats):
            try:
                state, count = parse_pid_state(text)
            except ParseError as err:
                errors(err)
                continue
            try:
                letters[state] += 1
            except KeyError:
                letters[state] = 1
            threads += count
        errors.end()
        counts = dict.fromkeys(STATES, 0)
        for letter, c in letters.items():
            counts[STATE_KEYS.get(letter, "other")] += c
        return {None: (*(counts[s] for s in STATES), threads)}
