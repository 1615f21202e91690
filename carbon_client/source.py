"""Where collectors read from: the /proc and /sys roots and a command runner.

Collectors never build absolute paths; tests point the roots at fixture trees
and put a stand-in command first on PATH.
"""

from __future__ import annotations

import os
import select
import subprocess
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


def run_command(argv: list[str] | tuple[str, ...], timeout: float) -> CommandResult:
    """Run argv (never through a shell) with a hard timeout."""
    try:
        proc = subprocess.run(
            list(argv), timeout=timeout, capture_output=True, text=True, check=False,
            stdin=subprocess.DEVNULL, errors="replace",
        )
    except subprocess.TimeoutExpired:
        raise CommandError(f"{argv[0]}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise CommandError(f"{argv[0]}: {exc.strerror or exc}") from None
    return CommandResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


Runner = Callable[[list, float], CommandResult]


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

    def new_cycle(self) -> None:
        """Forget what :meth:`parsed` read: the next call reads the file again."""
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

    def read_proc(self, rel: str) -> str:
        """The whole file, read to EOF (procfs sizes are 0 in stat, never trusted).

        On a real procfs the file stays open and is re-read from offset 0 each
        time: seq_file regenerates it, and the open/fstat/close a fresh open
        costs are most of the price of reading a small /proc file.
        """
        if self._procfs is None:
            self._procfs = self._is_procfs()
        if not self._procfs:
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
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        for fd, _ in self._watches.values():
            os.close(fd)
        self._watches.clear()

    def proc_exists(self, rel: str) -> bool:
        return os.path.exists(os.path.join(self.proc_root, rel))

    def proc_listdir(self, rel: str = "") -> list[str]:
        """The names in a directory under proc_root (``""``: its top level, pids included)."""
        return os.listdir(os.path.join(self.proc_root, rel))

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

    def read_sys(self, rel: str) -> Optional[str]:
        """A sysfs attribute stripped, or None when it does not exist or cannot be read."""
        try:
            with open(os.path.join(self.sys_root, rel), "rb") as f:
                return f.read().decode("utf-8", "surrogateescape").strip()
        except OSError:
            return None

    def sys_exists(self, rel: str) -> bool:
        return os.path.exists(os.path.join(self.sys_root, rel))

    def sys_listdir(self, rel: str) -> Optional[list[str]]:
        try:
            return os.listdir(os.path.join(self.sys_root, rel))
        except OSError:
            return None

    def run(self, argv: list[str], timeout: Optional[float] = None) -> CommandResult:
        return self.runner(argv, self.command_timeout if timeout is None else timeout)
