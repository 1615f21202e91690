"""Where collectors read from: the /proc and /sys roots and a command runner.

Collectors never build absolute paths; tests point the roots at fixture trees
and put a stand-in command first on PATH.
"""

from __future__ import annotations

import os
import select
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional


class CommandError(OSError):
    """A command that could not run, timed out or exited non-zero."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


# What a command may print: more is an error, and the command is killed.
MAX_OUTPUT = 1 << 20


def run_command(argv: list[str] | tuple[str, ...], timeout: float, max_output: int = MAX_OUTPUT) -> CommandResult:
    """Run argv (never through a shell) with a hard timeout and a cap on its output.

    The command runs in a session of its own: on a timeout or too much
    output the whole process group is killed, so no grandchild is left behind.
    """
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise CommandError(f"{argv[0]}: {exc.strerror or exc}") from None
    out, err = bytearray(), bytearray()
    problem = None
    try:
        problem = _drain(proc, {proc.stdout: out, proc.stderr: err}, time.monotonic() + timeout, max_output)
        if problem is None:
            proc.wait(timeout)  # the pipes closed: it is exiting
    except subprocess.TimeoutExpired:
        problem = "did not exit"
    finally:
        if problem is not None:
            _kill_group(proc)
        proc.stdout.close()
        proc.stderr.close()
    if problem is not None:
        raise CommandError(f"{argv[0]}: {problem.format(timeout=timeout, max_output=max_output)}")
    return CommandResult(tuple(argv), proc.returncode, out.decode("utf-8", "replace"),
                         err.decode("utf-8", "replace"))


def _drain(proc: subprocess.Popen, bufs: dict, deadline: float, max_output: int) -> Optional[str]:
    """Read the command's pipes to their end; what went wrong, or None."""
    with selectors.DefaultSelector() as sel:
        for f in bufs:
            sel.register(f, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            ready = sel.select(left) if left > 0 else []
            if not ready:
                return "no answer within {timeout:g} s"
            for key, _ in ready:
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buf = bufs[key.fileobj]
                buf += chunk
                if len(buf) > max_output:
                    return "more than {max_output} bytes of output"
    return None


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the command and everything it started (its session), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass  # already gone
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


Runner = Callable[[list, float], CommandResult]

# Per-process files kept open at most (Source.read_kept): far below the 1024 descriptors a
# service gets by default, whatever else the agent has open (probes, exec pipes, the spool).
KEPT_MOST = 256


@dataclass(slots=True)
class Source:
    """Roots and runner for one agent; the only way collectors touch the host."""

    proc_root: str = "/proc"
    sys_root: str = "/sys"
    runner: Runner = run_command
    command_timeout: float = 5.0
    _memo: dict = field(default_factory=dict, repr=False)
    _fds: dict = field(default_factory=dict, repr=False)
    _procfs: Optional[bool] = field(default=None, repr=False)
    _watches: dict = field(default_factory=dict, repr=False)
    _kept: dict = field(default_factory=dict, repr=False)
    # _kept is shared with the worker threads (processes and kernel read off the host cycle):
    # a read takes its files out under the lock and puts them back after, so close() never
    # closes a file in use; once closed, a read still under way closes what it opened.
    _kept_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _closed: bool = field(default=False, repr=False)

    def new_cycle(self) -> None:
        """Forget what :meth:`parsed` read and :meth:`proc_listdir` listed: the next call reads
        again."""
        self._memo.clear()

    def parsed(self, rel: str, parser: Callable[[str], Any]) -> Any:
        """``parser(read_proc(rel))``, read once per cycle however many collectors ask.

        (/proc/stat feeds cpu and system, meminfo feeds memory and swap.)
        """
        key = (rel, parser)
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = parser(self.read_proc(rel))
            return value

    def proc_path(self, rel: str) -> str:
        return os.path.join(self.proc_root, rel)

    def sys_path(self, rel: str) -> str:
        return os.path.join(self.sys_root, rel)

    def _is_procfs(self) -> bool:
        """Whether proc_root is a mounted procfs (not a fixture tree)."""
        root = os.path.realpath(self.proc_root)
        try:
            with open("/proc/self/mounts", "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    parts = line.split()
                    if len(parts) > 2 and parts[1] == root and parts[2] == "proc":
                        return True
        except OSError:
            pass
        return False

    def read_proc(self, rel: str, keep_open: bool = True) -> str:
        """The whole file, read to EOF (procfs sizes are 0 in stat, never trusted).

        On a real procfs the file stays open and is re-read from offset 0 each
        time: seq_file regenerates it, and the open/fstat/close a fresh open
        costs are most of the price of reading a small /proc file.
        ``keep_open=False`` for a file of another filesystem mounted under
        /proc (the nfsd filesystem at /proc/fs/nfsd), which an open file
        would keep from being unmounted.
        """
        if self._procfs is None:
            self._procfs = self._is_procfs()
        if not self._procfs or not keep_open:
            with open(os.path.join(self.proc_root, rel), "rb") as f:
                return f.read().decode("utf-8", "surrogateescape")
        fd = self._fds.get(rel)
        if fd is None:
            fd = self._fds[rel] = os.open(os.path.join(self.proc_root, rel), os.O_RDONLY | os.O_CLOEXEC)
        try:
            # pread from 0 restarts the seq_file; no lseek needed.
            chunks = []
            at = 0
            while True:
                b = os.pread(fd, 131072, at)
                if not b:
                    break
                chunks.append(b)
                at += len(b)
        except OSError:
            del self._fds[rel]
            os.close(fd)
            raise
        if not chunks:
            # An entry removed under an open fd (module unloaded) reads empty: reopen.
            del self._fds[rel]
            os.close(fd)
            with open(os.path.join(self.proc_root, rel), "rb") as f:
                return f.read().decode("utf-8", "surrogateescape")
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return data.decode("utf-8", "surrogateescape")

    def proc_changed(self, rel: str) -> bool:
        """Whether a pollable /proc file (``self/mounts``) changed since the last call.

        The kernel flags a mount table change with POLLPRI on an open
        /proc/self/mounts (proc(5)); polling also re-arms it. Outside a real
        procfs, and on the first call, the answer is always True.
        """
        if self._procfs is None:
            self._procfs = self._is_procfs()
        if not self._procfs:
            return True
        w = self._watches.get(rel)
        if w is None:
            fd = os.open(os.path.join(self.proc_root, rel), os.O_RDONLY | os.O_CLOEXEC)
            poller = select.poll()
            poller.register(fd, select.POLLPRI | select.POLLERR)
            self._watches[rel] = (fd, poller)
            poller.poll(0)
            return True
        return bool(w[1].poll(0))

    def close(self) -> None:
        # Copies: a collector on a worker thread (fs and its mount table) may add one meanwhile.
        for fd in list(self._fds.values()):
            os.close(fd)
        self._fds.clear()
        for fd, _ in list(self._watches.values()):
            os.close(fd)
        self._watches.clear()
        with self._kept_lock:
            self._closed = True
            kept, self._kept = self._kept, {}
        for files in kept.values():
            for fd in files.values():
                os.close(fd)

    def proc_exists(self, rel: str) -> bool:
        return os.path.exists(os.path.join(self.proc_root, rel))

    def proc_listdir(self, rel: str = "") -> tuple[str, ...]:
        """The names in a directory under proc_root (``""``: its top level, pids included),
        listed once per cycle however many collectors ask (kernel and processes: /proc)."""
        key = ("listdir", rel)
        try:
            return self._memo[key]
        except KeyError:
            names = self._memo[key] = tuple(os.listdir(os.path.join(self.proc_root, rel)))
            return names

    def read_each(self, rels: Iterable[str], limit: int = 4096) -> Iterator[tuple[str, str]]:
        """(rel, text) of each file under proc_root that can be read, at most ``limit`` bytes
        in one read, opened and closed each time: for per-process files (``<pid>/stat``),
        which come and go. A file that vanished (its process exited) is skipped."""
        root = os.path.join(self.proc_root, "")
        flags = os.O_RDONLY | os.O_CLOEXEC
        for rel in rels:
            try:
                fd = os.open(root + rel, flags)
            except OSError:
                continue
            try:
                data = os.read(fd, limit)
            except OSError:  # ESRCH: the process exited between open and read
                continue
            finally:
                os.close(fd)
            yield rel, data.decode("utf-8", "surrogateescape")

    def read_kept(self, name: str, rels: Iterable[str], limit: int = 4096) -> list[tuple[str, str]]:
        """(rel, text) of each file that can be read, as :meth:`read_each`, but on a real
        procfs the files stay open (the first :data:`KEPT_MOST` of them, under ``name``) and
        are read again with pread: one system call a file instead of three, about half the
        cost (docs/BENCHMARKS.md, processes). A kept file whose process exited reads ESRCH,
        even after a new process took its pid: it is closed, and the path opened anew. The
        files of ``name`` not asked for this time are closed."""
        if self._procfs is None:
            self._procfs = self._is_procfs()
        if not self._procfs:
            return list(self.read_each(rels, limit))
        with self._kept_lock:
            old = self._kept.pop(name, {})
        new: dict[str, int] = {}
        out = []
        root = os.path.join(self.proc_root, "")
        try:
            for rel in rels:
                if rel in new:
                    continue
                data, fd = b"", old.pop(rel, None)
                if fd is not None:
                    try:
                        data = os.pread(fd, limit, 0)
                    except OSError:  # ESRCH: its process is gone
                        pass
                    if not data:
                        os.close(fd)
                        fd = None
                if fd is None:
                    try:
                        fd = os.open(root + rel, os.O_RDONLY | os.O_CLOEXEC)
                    except OSError:
                        continue
                    try:
                        data = os.read(fd, limit)
                    except OSError:  # ESRCH: the process exited between open and read
                        data = b""
                    if not data or len(new) >= KEPT_MOST:
                        os.close(fd)
                        fd = None
                if fd is not None:
                    new[rel] = fd
                if data:
                    out.append((rel, data.decode("utf-8", "surrogateescape")))
        finally:
            for fd in old.values():
                os.close(fd)
            with self._kept_lock:
                if not self._closed:
                    self._kept[name], new = new, {}
            for fd in new.values():
                os.close(fd)
        return out

    def read_sys(self, rel: str) -> Optional[str]:
        """A sysfs attribute stripped, or None when it does not exist or cannot be read.

        os.open/os.read rather than open(): no buffered file object for a read
        of a few bytes, about 5 us less a file (docs/BENCHMARKS.md, cgroup).
        """
        try:
            fd = os.open(os.path.join(self.sys_root, rel), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            chunks = []
            while True:
                b = os.read(fd, 65536)
                if not b:
                    break
                chunks.append(b)
        except OSError:
            return None
        finally:
            os.close(fd)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return data.decode("utf-8", "surrogateescape").strip()

    def sys_exists(self, rel: str) -> bool:
        return os.path.exists(os.path.join(self.sys_root, rel))

    def sys_listdir(self, rel: str) -> Optional[list[str]]:
        try:
            return os.listdir(os.path.join(self.sys_root, rel))
        except OSError:
            return None

    def run(self, argv: list[str], timeout: Optional[float] = None) -> CommandResult:
        return self.runner(argv, self.command_timeout if timeout is None else timeout)
