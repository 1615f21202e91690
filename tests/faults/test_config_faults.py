"""Bad configurations at the process boundary: what `carbon-client` does with them, for real.

At start: exit 2, the file, the key and the reason on stderr, no traceback,
bounded time and memory. On SIGHUP: the reload is refused with a log line and
the agent goes on with the configuration it had, on the same connection.
"""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carbon_client.config.loader import MAX_BYTES
from tests.line_server import LineServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLI = [sys.executable, "-m", "carbon_client"]
AGENT = ["--no-show", "--interval", "1", "--proc-root", str(FIXTURES / "procfs"), "--sys-root", str(FIXTURES),
         "--collectors", "load,memory"]
MEMORY_LIMIT = 1 << 30  # address space: a bomb that expands fails fast instead of swapping


def alias_bomb(key: str, levels: int) -> str:
    return f"{key}:\n" + "- &0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
        f"- &{i} [{','.join([f'*{i - 1}'] * 9)}]\n" for i in range(1, levels))


# (id, file content, key path after "FILE: " or None for the file itself, fragment of the reason)
BAD = [
    ("inf", "interval: .inf\n", "interval", "not a finite number"),
    ("nan-interval", "interval: .nan\n", "interval", "not a finite number"),
    ("nan-timeout", "write_timeout: .nan\n", "write_timeout", "not a finite number"),
    ("nan-buffer", "buffer_lines: .NaN\n", "buffer_lines", "not a finite number"),
    ("huge-int", "buffer_lines: 1" + "0" * 400 + "\n", "buffer_lines", "expected an integer from 100"),
    ("5000-digits", "spool_max_bytes: 1" + "0" * 5000 + "\n", None, "cannot read"),
    ("not-utf8", b"hostname: caf\xe9\n", None, "not UTF-8: byte 0xe9 at line 1"),
    ("udp-unresolvable", "protocol: udp\ncarbon: ['no-such-host.invalid:2003']\n", "carbon[0]", "does not resolve"),
    ("empty", "", None, "no settings"),
    ("comments-only", "# carbon: [graphite:2003]\n", None, "no settings"),
    ("bomb-8-levels", alias_bomb("hostname", 8), "hostname[", "aliases are expanded"),
    ("bomb-9-levels", alias_bomb("carbon", 9), "carbon[", "aliases are expanded"),
    ("too-large", "#" * (MAX_BYTES + 1) + "\n", None, "larger than 1 MiB"),
    ("nested", "carbon: " + "[" * 5000 + "]" * 5000 + "\n", "carbon[0]", "nested deeper"),
    ("hostname-newline", 'hostname: "web\\n01 1 1"\n', "hostname", "line breaks"),
    ("prefix-tab", 'prefix: "a\\tb"\n', "prefix", "control characters"),
    ("spool-too-small", "spool_max_bytes: 65535\n", "spool_max_bytes", "from 65536"),
    ("interval-fraction", "interval: 1500ms\n", "interval", "not a whole number"),
    ("unset-variable", "hostname: ${CARBON_CLIENT_TEST_UNSET}\n", "hostname", "CARBON_CLIENT_TEST_UNSET is not set"),
    ("duplicate", "hostname: a\nhostname: b\n", "hostname", "set twice"),
    ("nested-key-path", "carbon: [a:2003, 'b:99999']\n", "carbon[1]", "port must be 1-65535"),
]


def write(path: Path, content) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_to_exit(args) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, errors="replace", timeout=60,
                          preexec_fn=limited)


@pytest.mark.parametrize("content,key,fragment", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
@pytest.mark.parametrize("command", ["run", "check-config"])
def test_a_bad_config_at_start_exits_2_with_the_key_and_the_reason(tmp_path, command, content, key, fragment):
    cfg = write(tmp_path / "agent.yaml", content)
    args = ["run", "--config", str(cfg), *AGENT] if command == "run" else ["check-config", str(cfg)]
    r = run_to_exit(args)
    err = r.stderr
    assert r.returncode == 2, err[-3000:]
    assert "Traceback" not in err
    where = f"{cfg}: {key}" if key else f"{cfg}:"
    assert where in err and fragment in err, err
    assert len(err) < 600 and err.count("\n") == 1, "one short line"


# Runs argv[2:] under an address-space limit of argv[1] bytes; prints its peak resident size
# (KiB) and its exit status. A small process in between: the peak of a child forked from
# pytest itself counts pytest's resident pages (ru_maxrss carries them over fork and exec).
MEASURED = """\
import resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
status = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, status)
"""


@pytest.mark.parametrize("levels", [8, 9, 12])
def test_alias_bombs_cost_little(tmp_path, levels):
    cfg = write(tmp_path / "bomb.yaml", alias_bomb("hostname", levels))
    assert cfg.stat().st_size < 500
    proc = subprocess.run([sys.executable, "-c", MEASURED, str(MEMORY_LIMIT), *CLI, "check-config", str(cfg)],
                          capture_output=True, text=True, errors="replace", timeout=60)
    err = proc.stderr
    maxrss, returncode = (int(x) for x in proc.stdout.split())
    assert returncode == 2, err[-3000:]
    assert "aliases are expanded" in err and len(err) < 600
    assert maxrss < 100 * 1024, f"{maxrss // 1024} MiB to refuse a {cfg.stat().st_size}-byte file"


def test_a_config_that_cannot_be_read_exits_2(tmp_path):
    """/proc/self/mem opens as a regular file and fails to read (EIO), whoever runs the test."""
    cfg = tmp_path / "agent.yaml"
    cfg.symlink_to("/proc/self/mem")
    r = run_to_exit(["run", "--config", str(cfg), *AGENT])
    assert r.returncode == 2, r.stderr[-3000:]
    assert f"{cfg}: Input/output error" in r.stderr and "Traceback" not in r.stderr


# -- SIGHUP -------------------------------------------------------------------------------


class Agent:
    """`carbon-client run` with its stderr in a file, read as it grows."""

    def __init__(self, tmp_path: Path, *args: str, env=None) -> None:
        self.err_path = tmp_path / "agent.err"
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(CLI + ["run", *AGENT, *args], stdout=subprocess.DEVNULL, stderr=err,
                                         env=env)

    def log(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_log(self, fragment: str, count: int = 1, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            if text.count(fragment) >= count:
                return text
            assert self.proc.poll() is None, f"the agent died:\n{text[-3000:]}"
            assert time.monotonic() < deadline, f"no {fragment!r} x{count} within {timeout}s:\n{text[-3000:]}"
            time.sleep(0.05)

    def hup(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        return self.log()


def stamps(srv: LineServer, host: str) -> list[int]:
    return sorted({int(x.split()[2]) for x in srv.lines() if x.startswith(host + ".")})


def test_sighup_refuses_every_bad_config_and_keeps_running(tmp_path):
    srv = LineServer().start()
    cfg = tmp_path / "agent.yaml"
    good = f"carbon: ['127.0.0.1:{srv.port}']\nhostname: keep\ninterval: 30\n"
    write(cfg, good)
    agent = Agent(tmp_path, "--config", str(cfg))
    try:
        log = agent.wait_log(f"--interval given on the command line overrides interval: 30 in {cfg}")
        assert srv.wait_for(lambda g: len(stamps(srv, "keep")) >= 2, timeout=20)
        refusals = 0
        unreadable = [("missing", None, None, "No such file or directory"),
                      ("unreadable", "/proc/self/mem", None, "Input/output error")]
        for name, content, key, fragment in BAD + unreadable:
            cfg.unlink(missing_ok=True)
            if name == "unreadable":
                cfg.symlink_to(content)
            elif content is not None:
                write(cfg, content)
            agent.hup()
            refusals += 1
            log = agent.wait_log("reload refused, keeping the running configuration", refusals)
            line = [x for x in log.splitlines() if "reload refused" in x][-1]
            where = f"{cfg}: {key}" if key else f"{cfg}:"
            assert where in line and fragment in line, (name, line)
            assert len(line) < 700, (name, len(line))
        assert log.count("SIGHUP received") == refusals
        # still the first configuration: same host name, same connection, every second
        before = len(stamps(srv, "keep"))
        assert srv.wait_for(lambda g: len(stamps(srv, "keep")) >= before + 2, timeout=20)
        # a good file again is applied, and the shadowing flag is named again
        cfg.unlink()
        write(cfg, good.replace("hostname: keep", "hostname: after"))
        agent.hup()
        log = agent.wait_log("reload: applied")
        assert f"reload: --interval given on the command line overrides interval: 30 in {cfg}" in log
        assert srv.wait_for(lambda g: len(stamps(srv, "after")) >= 2, timeout=20)
    finally:
        log = agent.stop()
        srv.stop()
    assert agent.proc.returncode == 0, log[-3000:]
    assert "Traceback" not in log
    assert srv.connections == 1, "a refused reload never touched the sender"
    assert not [x for x in srv.lines() if not x.startswith(("keep.", "after."))], "another host name was sent"
    keep, after = stamps(srv, "keep"), stamps(srv, "after")
    assert keep == list(range(keep[0], keep[-1] + 1)), "a tick was lost to a refused reload"
    assert after[0] == keep[-1] + 1


def test_sighup_gives_the_health_group_the_interval_the_new_file_names(tmp_path):
    srv = LineServer().start()
    cfg = tmp_path / "agent.yaml"
    base = f"carbon: ['127.0.0.1:{srv.port}']\nhostname: h\n"
    write(cfg, base)
    agent = Agent(tmp_path, "--config", str(cfg))

    def health() -> list[int]:
        return sorted(int(x.split()[2]) for x in srv.lines() if x.startswith("h.carbon_client.buffered "))

    try:
        assert srv.wait_for(lambda g: health(), timeout=20)  # every 10 s at a 1 s interval
        write(cfg, base + "intervals: {agent: 2s}\n")
        agent.hup()
        agent.wait_log("reload: applied")
        applied = max(stamps(srv, "h")) + 1  # the first tick that can be the new agent's
        assert srv.wait_for(lambda g: len([t for t in health() if t > applied]) >= 3, timeout=20)
    finally:
        log = agent.stop()
        srv.stop()
    assert agent.proc.returncode == 0, log[-3000:]
    before, after = [t for t in health() if t < applied], [t for t in health() if t > applied]
    assert before and all(t % 10 == 0 for t in before)
    assert all(t % 2 == 0 for t in after) and all(b - a == 2 for a, b in zip(after, after[1:]))


def test_sighup_with_udp_refuses_a_name_that_does_not_resolve(tmp_path):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(20)
    port = rx.getsockname()[1]
    cfg = write(tmp_path / "agent.yaml", f"protocol: udp\ncarbon: ['127.0.0.1:{port}']\nhostname: u\n")
    agent = Agent(tmp_path, "--config", str(cfg))
    try:
        assert rx.recv(65536).startswith(b"u.")
        write(cfg, "protocol: udp\ncarbon: ['no-such-host.invalid:2003']\nhostname: u\n")
        agent.hup()
        log = agent.wait_log("reload refused")
        assert f"{cfg}: carbon[0]: 'no-such-host.invalid:2003' does not resolve" in log
        deadline = time.monotonic() + 20
        got = set()
        while len(got) < 2 and time.monotonic() < deadline:  # datagrams of two more ticks
            got |= {int(line.split()[2]) for line in rx.recv(65536).decode().splitlines()}
        assert len(got) >= 2
    finally:
        log = agent.stop()
        rx.close()
    assert agent.proc.returncode == 0 and "Traceback" not in log


def test_an_empty_file_at_reload_never_means_the_defaults(tmp_path):
    """The file mid-rewrite (truncated, then written): refused, then the written one applied."""
    srv = LineServer().start()
    cfg = write(tmp_path / "agent.yaml", f"carbon: ['127.0.0.1:{srv.port}']\nhostname: one\n")
    agent = Agent(tmp_path, "--config", str(cfg))
    try:
        assert srv.wait_for(lambda g: stamps(srv, "one"), timeout=20)
        cfg.write_text("")
        agent.hup()
        agent.wait_log("no settings")
        cfg.write_text(f"carbon: ['127.0.0.1:{srv.port}']\nhostname: two\n")
        agent.hup()
        agent.wait_log("reload: applied")
        assert srv.wait_for(lambda g: stamps(srv, "two"), timeout=20)
    finally:
        log = agent.stop()
        srv.stop()
    assert "localhost:2003" not in log
    assert srv.connections == 1
