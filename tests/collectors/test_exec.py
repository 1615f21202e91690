"""Exec collectors: real scripts that print good lines, garbage, 100 MB, nothing, and hang."""

from __future__ import annotations

import logging
import os
import subprocess
import time

import pytest

from carbon_client.agent import Agent
from carbon_client.collectors.exec import Exec
from carbon_client.config import ConfigError, build, validate
from carbon_client.lines import Renderer
from carbon_client.metrics import Unavailable
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from carbon_client.source import CommandError, Source, run_command
from tests.conftest import FIXTURES


def script(tmp_path, body: str, name="job.sh") -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def collector(tmp_path, body, timeout=5.0, **extra):
    config = build(None, {"exec": [{"name": "myjob", "command": [script(tmp_path, body)], "timeout": timeout,
                                    **extra}]})
    return Exec(Source(), config, config.exec[0])


def lines(c, ts=60):
    sample = Sampler(c).update(c.read(), 0.0)
    out = []
    Renderer(DefaultLayout("h")).render(sample, ts, out)
    return "".join(out)


def test_plaintext_and_key_value_lines_go_under_the_exec_name(tmp_path):
    c = collector(tmp_path, 'echo "queue.depth 17 1700000000"\necho "workers 3"\n'
                            'echo "weird:name.ok.v2 -1.5e3"\necho "queue.depth 18"\n')
    c.probe()
    assert lines(c) == ("h.myjob.queue.depth 18 60\n"  # the last value of a path; the tick stamps it
                        "h.myjob.workers 3 60\n"
                        "h.myjob.weird_name.ok.v2 -1500.0 60\n")


def test_garbage_lines_are_skipped_counted_and_logged_once(tmp_path, caplog):
    c = collector(tmp_path, 'echo "ok 1"\necho "this is not a metric line"\necho "x nan"\necho "y 2 soon"\n')
    with caplog.at_level(logging.WARNING):
        assert lines(c) == "h.myjob.ok 1 60\n"
        lines(c)
    assert c.bad_lines == 6
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 3 and all("exec myjob: skipping malformed line" in m for m in msgs)


def test_a_command_printing_nothing_sends_nothing(tmp_path):
    assert lines(collector(tmp_path, "exit 0\n")) == ""


def test_a_failing_command_is_an_error_naming_its_exit_and_message(tmp_path):
    c = collector(tmp_path, 'echo "queue 1"\necho "no queue server" >&2\nexit 3\n')
    with pytest.raises(CommandError, match="exited 3: no queue server"):
        c.read()


def test_a_flood_is_cut_killed_and_an_error(tmp_path):
    c = collector(tmp_path, "yes 'a.b 1' | head -c 100000000\n")
    t0 = time.monotonic()
    with pytest.raises(CommandError, match="more than 1048576 bytes of output"):
        c.read()
    assert time.monotonic() - t0 < 5


def test_a_hung_command_is_killed_with_its_children(tmp_path):
    marker = f"carbon-client-test-{os.getpid()}-{time.monotonic_ns()}"
    c = collector(tmp_path, f"sleep 300 &\nexec -a {marker} sleep 300\n", timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(CommandError, match="no answer within 0.5 s"):
        c.read()
    assert time.monotonic() - t0 < 5
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    assert left == ""  # the script and its background sleep are both gone


def test_run_command_never_uses_a_shell():
    res = run_command(["echo", "$HOME; rm -rf /"], 5)
    assert res.stdout == "$HOME; rm -rf /\n" and res.returncode == 0


def test_a_missing_command_disables_the_collector(tmp_path):
    config = build(None, {"exec": [{"name": "gone", "command": [str(tmp_path / "nope")]}]})
    with pytest.raises(Unavailable, match="not an executable file"):
        Exec(Source(), config, config.exec[0]).probe()


@pytest.mark.parametrize("name,message", [
    ("load", "built-in group"), ("carbon_client", "built-in group"), ("probe", "built-in group"),
    ("my job", "whitespace"), ("a.b", "letters, digits"),
])
def test_an_exec_name_must_be_a_path_component_and_not_a_built_in_group(name, message):
    with pytest.raises(ConfigError, match=r"exec\[0\]\.name: .*" + message):
        build(validate({"exec": [{"name": name, "command": ["true"]}]}))


def test_exec_names_are_unique():
    with pytest.raises(ConfigError, match=r"exec\[1\]\.name: 'a' is used twice"):
        build(validate({"exec": [{"name": "a", "command": ["true"]}, {"name": "a", "command": ["true"]}]}))


def test_a_hung_or_noisy_script_costs_its_own_collector_only(tmp_path):
    """Two exec collectors, one hanging, one flooding, beside load: every tick has load."""
    values = {"proc_root": str(FIXTURES / "procfs"), "sys_root": str(FIXTURES), "hostname": "h",
              "collectors": "load", "interval": 1, "command_timeout": 0.5,
              "exec": [{"name": "hang", "command": [script(tmp_path, "sleep 30\n", "h.sh")]},
                       {"name": "noisy", "command": [script(tmp_path, "yes 'a 1'\n", "n.sh")]},
                       {"name": "good", "command": [script(tmp_path, "echo 'v 7'\n", "g.sh")]}]}
    sent = []
    sender = type("S", (), {"put": lambda self, d, n: sent.append(d.decode()), "health": lambda self: (0,) * 8})()
    a = Agent(build(None, values), sender=sender)
    for ts in range(100, 104):
        t0 = time.monotonic()
        assert f"h.load.1m 0.02 {ts}" in a.cycle(ts).data.decode()
        assert time.monotonic() - t0 < 0.3
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while any(s.busy for s in a.slots) and time.monotonic() < deadline:
        time.sleep(0.05)
    text = "".join(sent)
    assert [line.split()[2] for line in text.splitlines() if line.startswith("h.good.v ")] == [
        "100", "101", "102", "103"]
    assert "h.hang." not in text and "h.noisy." not in text
    by = {s.collector.name: s for s in a.slots}
    assert by["noisy"].errors >= 1 and by["hang"].errors >= 1
    a.close()
