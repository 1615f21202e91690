"""The .deb (`make deb`): its contents, then the package at work under a real systemd.

The package is installed into the cached Debian tree booted with its own
systemd in systemd-nspawn (one container for the whole module, the checks in
order): install, enable and start with readiness (Type=notify), the hardening
in force, reload, a restart after a crash, no restart after a bad config, the
watchdog, a stop that flushes or spools every line, removal and purge. The
agent in the container streams to a receiver on the host's loopback, which the
container shares.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import time

import pytest
import yaml

from tests.conftest import EXAMPLE_CONFIG, ROOT, require_command
from tests.deploy.fixtures import require_root
from tests.deploy.nspawn import Machine
from tests.line_server import LineServer

UNIT = "carbon-client.service"
AGENT = "/opt/carbon-client/bin/carbon-client"
CONFIG = "/etc/carbon-client/carbon-client.yaml"
HOST = "debhost"
# The package's own paths; every other path it lists is a directory it shares.
OWN = ("/opt/carbon-client", "/lib/systemd/system/carbon-client.service", "/etc/carbon-client",
       "/usr/share/doc/carbon-client")
SHARED_DIRS = {"/.", "/opt", "/lib", "/lib/systemd", "/lib/systemd/system", "/etc", "/usr", "/usr/share",
               "/usr/share/doc"}
# A collector plugin installed beside the package (Debian's python3 reads
# /usr/local/lib/python3.X/dist-packages) whose loading waits until GATE exists:
# the agent loads its collectors before it says READY=1, so the test holds readiness back.
GATE = "/run/carbon-client-gate"
PLUGIN = "gate_plugin"
PLUGIN_MODULE = f"""\
\"\"\"A test plugin: loading it waits until {GATE} exists.\"\"\"
import os
import time

from carbon_client.metrics import Collector, Unavailable

while not os.path.exists({GATE!r}):
    time.sleep(0.05)


class Gate(Collector):
    name = group = "gate"

    def probe(self):
        raise Unavailable("a test plugin that reads nothing")
"""
PLUGIN_ENTRY_POINTS = f"[carbon_client.collectors]\ngate = {PLUGIN}:Gate\n"
# An exec collector the agent runs inside its sandbox: 1 where a write succeeds.
PROBE = "/usr/local/bin/sandbox-probe"
SANDBOX_PROBE = textwrap.dedent("""\
    #!/usr/bin/python3
    import os
    def writes(path):
        try:
            with open(path, "w") as f:
                f.write("x")
            os.unlink(path)
            return 1
        except OSError:
            return 0
    for key, path in (("etc", "/etc/probe"), ("opt", "/opt/carbon-client/probe"), ("var_lib", "/var/lib/probe"),
                      ("root_home", "/root/probe"), ("state", "/var/lib/carbon-client/probe")):
        print(key, writes(path))
    caps = [l for l in open("/proc/self/status") if l.startswith("CapEff:")][0].split()[1]
    print("cap_eff", int(caps, 16))
    print("dynamic_uid", int(61184 <= os.getuid() <= 65519))
""")
FILESYSTEM_NOISE = re.compile(r"^/(var/lib/dpkg|var/log|var/cache/debconf|var/lib/systemd|run|tmp|var/tmp)(/|$)")


def listing(machine: Machine) -> set[str]:
    """Every path of the container's root filesystem."""
    out = machine.run("find", "/", "-xdev", timeout=300).stdout
    return {p for p in out.splitlines() if not FILESYSTEM_NOISE.match(p)}


def config(port: int, **more) -> str:
    text = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    text.update(carbon=[f"127.0.0.1:{port}"], interval=1, hostname=HOST, flush_timeout=3, backoff_max=1,
                exec=[{"name": "sandbox", "command": [PROBE]}])
    text.update(more)
    return yaml.safe_dump(text)


def timestamps(lines: list[str], path: str) -> list[int]:
    return [int(line.split()[2]) for line in lines if line.split()[0] == path]


# -- the package, without installing it --------------------------------------------------------


def deb_contents(deb) -> dict[str, str]:
    """path -> mode string, from dpkg-deb --contents."""
    out = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    return {line.split()[5].lstrip(".").rstrip("/") or "/.": line.split()[0] for line in out.splitlines()}


def test_the_package_holds_the_agent_the_unit_and_the_config(deb, tmp_path):
    contents = deb_contents(deb)
    assert contents[AGENT] == "-rwxr-xr-x"
    assert "/lib/systemd/system/carbon-client.service" in contents
    assert "/opt/carbon-client/lib/carbon_client/cli.py" in contents
    assert [p for p in contents if p.startswith("/opt/carbon-client/lib/psutil/") and p.endswith(".so")]
    assert not [p for p in contents if p.startswith("/usr/bin")], "graphite-carbon has /usr/bin/carbon-client"
    assert not [p for p in contents if not p.startswith(OWN) and p not in SHARED_DIRS]
    subprocess.run(["dpkg-deb", "--raw-extract", str(deb), str(tmp_path)], check=True)
    assert (tmp_path / "lib/systemd/system/carbon-client.service").read_text() == \
        (ROOT / "deploy/systemd/carbon-client.service").read_text()
    assert (tmp_path / CONFIG.lstrip("/")).read_bytes() == EXAMPLE_CONFIG.read_bytes()
    assert (tmp_path / "DEBIAN/conffiles").read_text() == f"{CONFIG}\n"
    assert (tmp_path / AGENT.lstrip("/")).read_text().startswith("#!/usr/bin/python3 -I\n")
    control = (tmp_path / "DEBIAN/control").read_text()
    assert re.search(r"^Depends: python3 \(>= 3\.\d+\), python3 \(<< 3\.\d+\)$", control, re.M)
    for name in ("postinst", "prerm", "postrm"):
        assert (tmp_path / "DEBIAN" / name).read_text() == (ROOT / "deploy/debian" / name).read_text()
    # The wheel's metadata records no path of the build machine.
    assert not list(tmp_path.glob("opt/carbon-client/lib/*.dist-info/direct_url.json"))


# -- the package at work -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def machine(deploy_rootfs, deb, tmp_path_factory):
    require_root("booting a container with systemd-nspawn")
    require_command("systemd-nspawn", "systemd-container")
    require_command("nsenter", "util-linux")
    m = Machine(deploy_rootfs.path, f"cc-deb-{os.getpid()}", tmp_path_factory.mktemp("nspawn") / "console.log",
                binds={deb.parent: "/mnt/deb"})
    m.boot()
    yield m
    m.poweroff()


@pytest.fixture(scope="module")
def recorder():
    server = LineServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def before(machine):
    """The container's files before the package came."""
    return listing(machine)


def install(machine: Machine, deb) -> None:
    machine.run("dpkg", "--install", f"/mnt/deb/{deb.name}")


def test_install_adds_only_the_package_files(machine, deb, before):
    install(machine, deb)
    listed = set(machine.run("dpkg-query", "--listfiles", "carbon-client").stdout.split())
    assert {p for p in listed if not p.startswith(OWN)} <= SHARED_DIRS
    added = listing(machine) - before
    # Merged /usr: /lib is /usr/lib, where dpkg really puts the unit.
    assert {p.replace("/usr/lib/", "/lib/", 1) for p in added} <= listed, sorted(added)
    conffiles = machine.run("dpkg-query", "--showformat=${Conffiles}", "--show", "carbon-client").stdout
    assert CONFIG in conffiles
    assert machine.systemctl("is-enabled", UNIT, check=False).stdout.strip() == "disabled", "not enabled by itself"
    assert machine.run(AGENT, "--version").stdout.strip() == "carbon-client " + deb.name.split("_")[1]
    assert machine.run(AGENT, "check-config", CONFIG).returncode == 0, "the example config is valid"


def site_packages(machine: Machine) -> str:
    """Where Debian's python3 finds packages installed by hand (/usr/local/lib/python3.X/dist-packages)."""
    return machine.run("/usr/bin/python3", "-c", "import site; print(site.getsitepackages()[0])").stdout.strip()


def test_enabled_and_ready_only_after_ready_1(machine, recorder):
    """Type=notify: the unit is activating until the agent says READY=1, which it says once its collectors are
    loaded; a plugin that waits for the test holds that back as long as the test wants."""
    site = site_packages(machine)
    assert site.startswith("/usr/local/"), site
    machine.path(f"{site}/{PLUGIN}.py").parent.mkdir(parents=True, exist_ok=True)
    machine.path(f"{site}/{PLUGIN}.py").write_text(PLUGIN_MODULE)
    machine.path(f"{site}/{PLUGIN}-0.dist-info").mkdir()
    machine.path(f"{site}/{PLUGIN}-0.dist-info/METADATA").write_text(f"Metadata-Version: 2.1\nName: {PLUGIN}\n"
                                                                    "Version: 0\n")
    machine.path(f"{site}/{PLUGIN}-0.dist-info/entry_points.txt").write_text(PLUGIN_ENTRY_POINTS)
    machine.path(PROBE).write_text(SANDBOX_PROBE)
    machine.path(PROBE).chmod(0o755)
    machine.path(CONFIG).write_text(config(recorder.port))
    machine.systemctl("enable", UNIT)
    assert machine.path("/etc/systemd/system/multi-user.target.wants/carbon-client.service").is_symlink()
    machine.systemctl("start", "--no-block", UNIT)
    # Held at the gate: however long it waits, the unit is not active.
    machine.wait_unit(UNIT, timeout=30, ActiveState="activating", SubState="start")
    assert machine.show(UNIT, "MainPID")["MainPID"] != "0", "the agent runs"
    time.sleep(3)
    assert machine.show(UNIT, "ActiveState", "SubState") == {"ActiveState": "activating", "SubState": "start"}
    assert not [line for line in recorder.lines() if line.startswith(f"{HOST}.")]
    machine.path(GATE).write_text("")
    machine.wait_unit(UNIT, ActiveState="active", SubState="running")
    journal = machine.journal(UNIT)
    # The agent's last word before READY=1 comes before systemd's "Started".
    assert 0 <= journal.find("carbon-client 0.1.0: tcp every 1s") < journal.index("Started carbon-client.service")
    got = recorder.wait_for(lambda ls: timestamps(ls, f"{HOST}.load.1m"), timeout=30)
    assert timestamps(got, f"{HOST}.load.1m"), f"no line reached the host:\n{machine.journal(UNIT)}"


def test_the_sandbox_is_in_force(machine, recorder):
    """The agent's own children (an exec collector) write only to the state directory."""
    keys = ("etc", "opt", "var_lib", "root_home", "state", "cap_eff", "dynamic_uid")
    got = recorder.wait_for(lambda ls: all(timestamps(ls, f"{HOST}.sandbox.{k}") for k in keys), timeout=30)
    values = {}
    for line in got:
        path, value, _ = line.split()
        if path.startswith(f"{HOST}.sandbox."):
            values[path.rsplit(".", 1)[1]] = float(value)
    assert values == {"etc": 0, "opt": 0, "var_lib": 0, "root_home": 0, "state": 1, "cap_eff": 0,
                      "dynamic_uid": 1}, (values, machine.journal(UNIT)[-2000:])
    assert not machine.path("/etc/probe").exists()


def test_reload_applies_a_new_config_without_a_restart(machine, recorder):
    pid = machine.show(UNIT, "MainPID")["MainPID"]
    machine.path(CONFIG).write_text(config(recorder.port, hostname="debhost-reloaded"))
    machine.systemctl("reload", UNIT)
    got = recorder.wait_for(lambda ls: timestamps(ls, "debhost-reloaded.load.1m"), timeout=30)
    assert timestamps(got, "debhost-reloaded.load.1m"), machine.journal(UNIT)[-2000:]
    assert "reload: applied hostname" in machine.journal(UNIT)
    assert machine.show(UNIT, "MainPID", "ActiveState") == {"MainPID": pid, "ActiveState": "active"}
    machine.path(CONFIG).write_text(config(recorder.port))
    machine.systemctl("reload", UNIT)


def test_restarted_after_being_killed(machine, recorder):
    before = machine.show(UNIT, "MainPID", "NRestarts")
    machine.systemctl("kill", "--kill-whom=main", "--signal=SIGKILL", UNIT)
    after = machine.wait_unit(UNIT, ActiveState="active", NRestarts=str(int(before["NRestarts"]) + 1))
    assert after["MainPID"] != before["MainPID"]
    since = int(time.time())
    got = recorder.wait_for(lambda ls: [t for t in timestamps(ls, f"{HOST}.load.1m") if t > since], timeout=30)
    assert [t for t in timestamps(got, f"{HOST}.load.1m") if t > since], "streaming again after the restart"


def test_the_watchdog_kills_a_stopped_agent(machine):
    dropin = machine.path("/etc/systemd/system/carbon-client.service.d/watchdog.conf")
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text("[Service]\nWatchdogSec=3s\nTimeoutAbortSec=5s\nLimitCORE=0\n")
    try:
        machine.systemctl("daemon-reload")
        machine.systemctl("restart", UNIT)
        before = machine.show(UNIT, "MainPID", "NRestarts")
        machine.systemctl("kill", "--kill-whom=main", "--signal=SIGSTOP", UNIT)
        after = machine.wait_unit(UNIT, timeout=90, ActiveState="active",
                                  NRestarts=str(int(before["NRestarts"]) + 1))
        assert after["MainPID"] != before["MainPID"]
        assert "Watchdog timeout" in machine.journal(UNIT)
    finally:
        dropin.unlink()
        machine.systemctl("daemon-reload")
        machine.systemctl("restart", UNIT)


def test_no_restart_after_a_bad_config(machine, recorder):
    machine.path(CONFIG).write_text("interval: soon\n")
    assert machine.systemctl("restart", UNIT, check=False).returncode != 0
    state = machine.show(UNIT, "ActiveState", "ExecMainStatus", "NRestarts")
    assert state["ActiveState"] == "failed" and state["ExecMainStatus"] == "2", state
    assert "interval" in machine.journal(UNIT).split("Starting carbon-client.service")[-1]
    time.sleep(8)  # past RestartSec=5s
    assert machine.show(UNIT, "ActiveState", "NRestarts") == \
        {"ActiveState": "failed", "NRestarts": state["NRestarts"]}
    machine.path(CONFIG).write_text(config(recorder.port))
    machine.systemctl("reset-failed", UNIT)
    machine.systemctl("start", UNIT)


def test_a_stop_flushes_every_line(machine, recorder):
    machine.systemctl("stop", UNIT)
    assert machine.show(UNIT, "ActiveState", "Result") == {"ActiveState": "inactive", "Result": "success"}
    assert "stopped; every line sent" in machine.journal_after(UNIT, "Stopping carbon-client.service",
                                                               "stopped; every line sent")


def test_a_stop_spools_what_carbon_did_not_take_and_the_next_start_sends_it(machine, recorder):
    recorder.stop()
    try:
        down = int(time.time())
        machine.systemctl("start", UNIT)
        time.sleep(4)  # a few ticks with Carbon away
        machine.systemctl("stop", UNIT)
        up = int(time.time())
        last = machine.journal_after(UNIT, "Starting carbon", "unsent and lost")
        said = re.search(r"stopped: \d+ lines sent, (\d+) dropped.*, (\d+) spooled for the next start, "
                         r"(\d+) unsent and lost", last)
        assert said, last
        dropped, spooled, lost = (int(n) for n in said.groups())
        assert spooled > 0 and dropped == lost == 0, said.group(0)
        spool = machine.run("find", "/var/lib/private/carbon-client", "-type", "f", "-size", "+0").stdout.split()
        assert spool, "the spool is in the state directory"
    finally:
        recorder.start()
    machine.systemctl("start", UNIT)
    got = recorder.wait_for(lambda ls: len([t for t in timestamps(ls, f"{HOST}.load.1m") if down <= t <= up]) >= 2,
                            timeout=60)
    assert len([t for t in timestamps(got, f"{HOST}.load.1m") if down <= t <= up]) >= 2, \
        machine.journal(UNIT)[-2000:]


def test_remove_keeps_config_and_spool_and_purge_leaves_nothing(machine, recorder, before):
    recorder.stop()  # what the agent holds at removal goes to the spool
    try:
        time.sleep(2)
        machine.run("dpkg", "--remove", "carbon-client")
    finally:
        recorder.start()
    assert machine.show(UNIT, "ActiveState")["ActiveState"] == "inactive"
    assert not machine.path("/opt/carbon-client").exists()
    assert not machine.path("/lib/systemd/system/carbon-client.service").exists()
    assert not machine.path("/etc/systemd/system/multi-user.target.wants/carbon-client.service").is_symlink()
    assert machine.path(CONFIG).exists(), "removal keeps the conffile"
    spool = machine.run("find", "/var/lib/carbon-client/", "-type", "f", "-size", "+0").stdout.split()
    assert spool, "removal keeps the spool"
    machine.run("dpkg", "--purge", "carbon-client")
    assert not machine.path("/etc/carbon-client").exists()
    assert not machine.path("/var/lib/private/carbon-client").exists()
    site = site_packages(machine)  # the test's own files
    for path in (f"{site}/{PLUGIN}.py", f"{site}/{PLUGIN}-0.dist-info/METADATA",
                 f"{site}/{PLUGIN}-0.dist-info/entry_points.txt", PROBE, GATE):
        machine.path(path).unlink()
    machine.path(f"{site}/{PLUGIN}-0.dist-info").rmdir()
    for path in (site, site.rsplit("/", 1)[0]):
        if path not in before:
            machine.path(path).rmdir()
    machine.path("/etc/systemd/system/carbon-client.service.d").rmdir()
    # systemd's home of every DynamicUser= state directory, not the package's
    left = listing(machine) - before - {"/var/lib/private"}
    assert not left, sorted(left)
