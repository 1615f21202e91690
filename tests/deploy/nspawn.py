"""A Debian tree booted with its own systemd in systemd-nspawn, for the .deb tests.

The cached tree is the lower layer of an overlay whose upper layer is a tmpfs
(``--volatile=overlay``): whatever the tests do in the container is gone when
it stops, and the cache stays as debootstrap left it. The container shares the
host's network (so its agent reaches a receiver on the host's 127.0.0.1) and
has its own PID namespace and /tmp. Commands run inside it through ``nsenter``
into the namespaces of its init; files are reached from the host through
/proc/<init>/root.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Optional

from tests.reap import stop_process

# What a command in the container sees of the environment: nothing of the host's.
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
       "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0", "DEBIAN_FRONTEND": "noninteractive"}
# systemd-nspawn keeps its runtime state here; on a host whose /run is not a
# systemd-managed tmpfs it needs a tmpfs of its own.
NSPAWN_RUN = Path("/run/systemd/nspawn")


def ensure_nspawn_run() -> None:
    NSPAWN_RUN.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mountpoint", "-q", str(NSPAWN_RUN)]).returncode != 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(NSPAWN_RUN)], check=True)


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


class Machine:
    def __init__(self, tree: Path, name: str, log: Path, binds: Optional[dict[Path, str]] = None) -> None:
        self.tree = tree
        self.name = name
        self.log_path = log
        self.binds = binds or {}
        self.proc: Optional[subprocess.Popen] = None
        self.init = 0

    # -- life cycle ------------------------------------------------------------------

    def boot(self, timeout: float = 180) -> "Machine":
        ensure_nspawn_run()
        argv = ["systemd-nspawn", "-D", str(self.tree), "--volatile=overlay", "--boot", "--register=no",
                "--keep-unit", "--console=passive", "-M", self.name]
        argv += [f"--bind-ro={src}:{dst}" for src, dst in self.binds.items()]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.init:
            self._check_alive()
            assert time.monotonic() < deadline, f"no init in the container after {timeout}s:\n{self.console()}"
            for pid in children(self.proc.pid):
                if os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid"):
                    self.init = pid
            time.sleep(0.1)
        while True:
            self._check_alive()
            state = self.run("systemctl", "is-system-running", "--wait", check=False, timeout=timeout).stdout.strip()
            if state in ("running", "degraded"):
                break
            assert time.monotonic() < deadline, f"system {state!r} after {timeout}s:\n{self.console()}"
            time.sleep(0.5)
        return self

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"systemd-nspawn exited {self.proc.returncode}:\n{self.console()}")

    def poweroff(self, timeout: float = 60) -> None:
        """A clean shutdown of the container's systemd; killed if it does not end in time."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.run("systemctl", "poweroff", "--no-block", check=False, timeout=30)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                stop_process(self.proc, grace=30, group=False)  # nspawn alone: a clean halt of the container
        self.proc = None
        self.log.close()

    def console(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    # -- inside ------------------------------------------------------------------------

    def run(self, *argv: str, check: bool = True, timeout: float = 120,
            input: Optional[str] = None) -> subprocess.CompletedProcess:
        res = subprocess.run(["nsenter", "-t", str(self.init), "-a", *argv], env=ENV, input=input,
                             capture_output=True, text=True, timeout=timeout)
        if check:
            assert res.returncode == 0, f"{' '.join(argv)} exited {res.returncode}:\n{res.stdout}{res.stderr}"
        return res

    def path(self, inside: str) -> Path:
        """A path of the container, seen from the host."""
        return Path(f"/proc/{self.init}/root") / inside.lstrip("/")

    # -- systemd -----------------------------------------------------------------------

    def systemctl(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        return self.run("systemctl", "--no-pager", *args, check=check, timeout=timeout)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.systemctl("show", unit, *(f"--property={p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_unit(self, unit: str, timeout: float = 60, **want: str) -> dict[str, str]:
        """Until every property has the wanted value (``ActiveState="active"``...); the last values,
        with MainPID and NRestarts."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.show(unit, *want, "MainPID", "NRestarts")
            if all(got.get(k) == v for k, v in want.items()):
                return got
            assert time.monotonic() < deadline, f"{unit}: wanted {want}, still {got} after {timeout}s:\n" \
                                                f"{self.journal(unit)[-3000:]}"
            time.sleep(0.2)

    def journal(self, unit: str, since: str = "") -> str:
        argv = ["journalctl", "--no-pager", "-o", "cat", "-u", unit]
        if since:
            argv += ["--since", since]
        return self.run(*argv, check=False).stdout

    def journal_after(self, unit: str, mark: str, text: str, timeout: float = 15) -> str:
        """The unit's journal after the last ``mark``, once it holds ``text`` or ``timeout`` has
        passed: journald reads a service's output on its own time, after systemd's own lines."""
        deadline = time.monotonic() + timeout
        while True:
            part = self.journal(unit).rsplit(mark, 1)[-1]
            if text in part or time.monotonic() > deadline:
                return part
            time.sleep(0.5)
