"""deploy/systemd: the unit's contract, systemd's own verdicts on it, and `make install-service`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE_CONFIG, ROOT, require_command
from tests.line_server import LineServer

SYSTEMD = ROOT / "deploy" / "systemd"
UNIT = SYSTEMD / "carbon-client.service"
DROPIN = SYSTEMD / "carbon-client.service.d" / "writeboost.conf"
PROCESSES_DROPIN = SYSTEMD / "carbon-client.service.d" / "processes.conf"
INSTALLED_BIN = "/opt/carbon-client/bin/carbon-client"
MAX_EXPOSURE = 2.5


def directives(path: Path) -> dict[str, list[str]]:
    """Section.Key -> values in order (systemd allows repeating a key)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return out


def one(d: dict, key: str) -> str:
    (value,) = d[key]
    return value


def test_unit_contract():
    d = directives(UNIT)
    assert one(d, "Service.Type") == "notify"
    assert re.fullmatch(r"\d+s", one(d, "Service.WatchdogSec"))
    assert one(d, "Service.Restart") == "on-failure"
    assert one(d, "Service.RestartPreventExitStatus") == "2", "exit 2 is a config error"
    reload = reload_argv(one(d, "Service.ExecReload"))
    assert reload[0] != "/bin/kill", "procps' /bin/kill is missing on minimal systems"
    assert "$MAINPID" in " ".join(reload) and "HUP" in " ".join(reload)
    exec_start = one(d, "Service.ExecStart").split()
    assert exec_start[:2] == [INSTALLED_BIN, "run"]
    assert exec_start[exec_start.index("--config") + 1] == "/etc/carbon-client/carbon-client.yaml"
    state = one(d, "Service.StateDirectory")
    assert exec_start[exec_start.index("--spool-dir") + 1] == f"/var/lib/{state}", "spool in the state dir"
    assert one(d, "Install.WantedBy") == "multi-user.target"


def test_unit_hardening():
    d = directives(UNIT)
    assert one(d, "Service.DynamicUser") == "yes"
    assert one(d, "Service.CapabilityBoundingSet") == "", "no capabilities at all"
    assert one(d, "Service.NoNewPrivileges") == "yes"
    assert one(d, "Service.ProtectSystem") == "strict"
    assert one(d, "Service.ProtectHome") == "yes"
    assert one(d, "Service.PrivateDevices") == "yes"
    assert one(d, "Service.MemoryDenyWriteExecute") == "yes"
    assert set(one(d, "Service.RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert "@system-service" in d["Service.SystemCallFilter"]
    # ProcSubset=pid would hide /proc/net, /proc/diskstats...; PrivateNetwork the host's NICs.
    assert "Service.ProcSubset" not in d
    assert d.get("Service.PrivateNetwork", ["no"]) == ["no"]


def test_writeboost_dropin_grants_only_what_dmsetup_needs():
    d = directives(DROPIN)
    caps = set(one(d, "Service.CapabilityBoundingSet").split())
    assert caps == {"CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"}
    assert set(one(d, "Service.AmbientCapabilities").split()) == caps, "dmsetup (a child) inherits them"
    assert one(d, "Service.DeviceAllow") == "/dev/mapper/control rw"
    assert one(d, "Service.PrivateDevices") == "no"
    assert one(d, "Service.PrivateUsers") == "no", "CAP_SYS_ADMIN must count in the host's user namespace"
    # Not part of the default install.
    unit_dir_dropins = sorted(p for p in (SYSTEMD / "carbon-client.service.d").iterdir())
    assert unit_dir_dropins == sorted([DROPIN, PROCESSES_DROPIN])


def test_processes_dropin_grants_only_what_reading_other_processes_needs():
    d = directives(PROCESSES_DROPIN)
    assert one(d, "Service.ProtectProc") == "default", "every process visible in /proc"
    assert one(d, "Service.PrivateUsers") == "no", "CAP_SYS_PTRACE must count in the host's user namespace"
    assert one(d, "Service.CapabilityBoundingSet") == "CAP_SYS_PTRACE"
    assert one(d, "Service.AmbientCapabilities") == "CAP_SYS_PTRACE"
    assert set(d) == {"Service.ProtectProc", "Service.PrivateUsers", "Service.CapabilityBoundingSet",
                      "Service.AmbientCapabilities"}


def staged_unit(tmp_path: Path, dropin: bool, *more: Path) -> Path:
    """The unit with ExecStart pointing at an agent that exists here (systemd-analyze checks it),
    with the writeboost drop-in when ``dropin``, and the drop-ins ``more``."""
    exe = shutil.which("carbon-client", path=os.path.dirname(sys.executable)) or shutil.which("carbon-client")
    assert exe, "the carbon-client console script is installed in the test environment"
    tmp_path.mkdir(parents=True, exist_ok=True)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED_BIN, exe))
    for d in ([DROPIN] if dropin else []) + list(more):
        (tmp_path / "carbon-client.service.d").mkdir(exist_ok=True)
        shutil.copy(d, tmp_path / "carbon-client.service.d" / d.name)
    return unit


@pytest.mark.parametrize("dropin,more", [(False, ()), (True, ()), (False, (PROCESSES_DROPIN,)),
                                         (True, (PROCESSES_DROPIN,))],
                         ids=["default", "writeboost", "processes", "both"])
def test_systemd_analyze_verify(tmp_path, dropin, more):
    tool = require_command("systemd-analyze", "systemd")
    unit = staged_unit(tmp_path, dropin, *more)
    res = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (res.stdout + res.stderr).splitlines() if "carbon-client" in line]
    assert res.returncode == 0 and not complaints, res.stdout + res.stderr


def exposure(tool: str, unit: Path) -> tuple[float, str]:
    res = subprocess.run([tool, "security", "--offline=true", str(unit)], capture_output=True, text=True,
                         timeout=60)
    m = re.search(r"Overall exposure level for carbon-client\.service: (\d+(?:\.\d+)?)", res.stdout)
    assert m, res.stdout + res.stderr
    return float(m.group(1)), res.stdout


def test_security_exposure(tmp_path):
    tool = require_command("systemd-analyze", "systemd")
    score, report = exposure(tool, staged_unit(tmp_path, dropin=False))
    assert score <= MAX_EXPOSURE, report
    # The drop-in is read (same directory layout as /etc/systemd/system) and costs what it says.
    with_dropin, report = exposure(tool, staged_unit(tmp_path / "wb", dropin=True))
    assert score < with_dropin <= MAX_EXPOSURE, report
    assert re.search(r"✗ CapabilityBoundingSet=~CAP_SYS_ADMIN", report)
    with_processes, report = exposure(tool, staged_unit(tmp_path / "procs", False, PROCESSES_DROPIN))
    assert score < with_processes <= MAX_EXPOSURE, report
    assert re.search(r"✗ CapabilityBoundingSet=~CAP_SYS_PTRACE", report)


@pytest.fixture
def staged_root(tmp_path):
    """A DESTDIR whose /opt/carbon-client venv already exists (stub python and pip: no network)."""
    bindir = tmp_path / "opt" / "carbon-client" / "bin"
    bindir.mkdir(parents=True)
    for name in ("python", "pip"):
        (bindir / name).write_text("#!/bin/sh\nexit 0\n")
        (bindir / name).chmod(0o755)
    return tmp_path


def make_install(root: Path, *args: str) -> subprocess.CompletedProcess:
    make = require_command("make", "make")
    return subprocess.run([make, "-s", "install-service", f"DESTDIR={root}", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_make_install_service(staged_root):
    res = make_install(staged_root)
    assert res.returncode == 0, res.stdout + res.stderr
    unit = staged_root / "etc/systemd/system/carbon-client.service"
    assert unit.read_text() == UNIT.read_text()
    config = staged_root / "etc/carbon-client/carbon-client.yaml"
    assert config.read_text() == EXAMPLE_CONFIG.read_text()
    assert not (staged_root / "etc/systemd/system/carbon-client.service.d").exists(), "drop-in is opt-in"
    # An existing config is the operator's: never overwritten.
    config.write_text("interval: 30\n")
    res = make_install(staged_root, "WRITEBOOST=1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert config.read_text() == "interval: 30\n"
    dropin = staged_root / "etc/systemd/system/carbon-client.service.d/writeboost.conf"
    assert dropin.read_text() == DROPIN.read_text()
    assert not (dropin.parent / "processes.conf").exists()
    res = make_install(staged_root, "PROCESSES=1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (dropin.parent / "processes.conf").read_text() == PROCESSES_DROPIN.read_text()


def reload_argv(line: str) -> list[str]:
    """An Exec*= line as the argv systemd runs: words split like a shell, ``$$`` a plain ``$``."""
    return [w.replace("$$", "$") for w in shlex.split(line)]


def seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+)(s|min)?", value)
    assert m, value
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


class NotifySocket:
    """The socket systemd gives a Type=notify service ($NOTIFY_SOCKET)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.seen: list[str] = []

    def wait(self, message: str, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while message not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {message} within {timeout}s; got {self.seen}"
            self.sock.settimeout(left)
            try:
                self.seen += self.sock.recv(4096).decode().splitlines()
            except socket.timeout:
                continue
        return self.seen


def test_the_agent_runs_as_the_unit_starts_it(tmp_path):
    """ExecStart's flags, READY=1, ExecReload's SIGHUP and a clean stop, with the real agent."""
    d = directives(UNIT)
    argv = one(d, "Service.ExecStart").split()
    server = LineServer().start()
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    config.update(carbon=[f"127.0.0.1:{server.port}"], interval=1)
    (tmp_path / "carbon-client.yaml").write_text(yaml.safe_dump(config))
    args = argv[1:]
    args[args.index("--config") + 1] = str(tmp_path / "carbon-client.yaml")
    args[args.index("--spool-dir") + 1] = str(tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    notify = NotifySocket(tmp_path / "notify")
    env = dict(os.environ, NOTIFY_SOCKET=str(notify.path),
               WATCHDOG_USEC=str(int(seconds(one(d, "Service.WatchdogSec")) * 1e6)))
    proc = subprocess.Popen([sys.executable, "-m", "carbon_client", *args], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        notify.wait("READY=1", 30)
        assert server.wait_lines(10), "the agent streams to the configured Carbon"
        # ExecReload= as systemd runs it: $MAINPID in its environment.
        subprocess.run(reload_argv(one(d, "Service.ExecReload")), check=True, timeout=10,
                       env=dict(os.environ, MAINPID=str(proc.pid)))
        notify.wait("RELOADING=1", 10)
        notify.seen.clear()
        notify.wait("READY=1", 10)
        proc.send_signal(signal.SIGTERM)
        notify.wait("STOPPING=1", 10)
        assert proc.wait(seconds(one(d, "Service.TimeoutStopSec"))) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        out = proc.communicate()[0].decode(errors="replace")
        server.stop()
    assert "Traceback" not in out, out
