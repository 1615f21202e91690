"""include / exclude globs on the path below the host, globally and per group; check-config
says when one can never match."""

from __future__ import annotations

import subprocess
import sys

import pytest

from carbon_client.agent import Agent
from carbon_client.config import ConfigError, build, validate
from tests.conftest import FIXTURES, ROOT


def sent(**over) -> set[str]:
    values = {"proc_root": str(FIXTURES / "procfs"), "sys_root": str(FIXTURES), "hostname": "h",
              "collectors": ["load", "disk", "net"], "disks": ["*"], **over}
    now = [100.0]
    agent = Agent(build(validate(values)), health=False, monotonic=lambda: now[0])
    agent.cycle(100)
    now[0] += 10
    return {line.split()[0][2:] for line in agent.cycle(110).data.decode().splitlines()}


def test_nothing_filtered_by_default():
    every = sent()
    assert {"load.1m", "net.docker0.rx_bytes", "disk.sda.discards", "disk.total.reads"} <= every


def test_exclude_globs_span_levels():
    got = sent(exclude=["net.veth*", "disk.*.discard*"])
    assert not [p for p in got if p.startswith("net.veth") or ".discard" in p]
    assert "net.docker0.rx_bytes" in got and "disk.sda.reads" in got


def test_include_keeps_only_what_matches_then_exclude_applies():
    got = sent(include=["load.*", "net.eth0.*"], exclude=["*.tx_*"])
    assert got == {"load.1m", "load.5m", "load.15m", *(f"net.eth0.{k}" for k in (
        "rx_bytes", "rx_packets", "rx_errors", "rx_drop"))}


def test_per_group_filters_touch_only_that_group():
    got = sent(filters={"net": {"include": ["net.total.*"]}, "disk": {"exclude": ["disk.sd*"]}})
    assert {p.split(".")[1] for p in got if p.startswith("net.")} == {"total"}
    assert not [p for p in got if p.startswith("disk.sd")]
    assert "load.1m" in got and "disk.vda.reads" in got


def test_a_filter_for_an_unknown_group_is_refused():
    with pytest.raises(ConfigError, match=r"filters\.nett: 'nett' is not a group"):
        build(validate({"filters": {"nett": {"exclude": ["x"]}}}))


def test_check_config_says_when_a_glob_can_never_match(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text('exclude: ["net.veth*", "nte.eth0.*", "load.2m"]\n'
                 'filters: {disk: {include: ["disk.sd*"]}}\n'
                 'exec: [{name: myjob, command: ["true"]}]\n'
                 'include: ["myjob.*", "carbon_client.*.timeouts", "probe.*"]\n')
    r = subprocess.run([sys.executable, "-m", "carbon_client", "check-config", str(f)], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    notes = [line for line in r.stdout.splitlines() if "matches no metric" in line]
    # no probe is configured: probe.* cannot match either
    assert [n.split(": note: ")[1].split(" matches")[0] for n in notes] == [
        "include[2] 'probe.*'", "exclude[1] 'nte.eth0.*'", "exclude[2] 'load.2m'"]


@pytest.mark.parametrize("fields,notes", [
    ("default", ["include[0] 'netstat.tcpext.TCPSackRecovery'"]),  # not among the default fields
    ("all", []),
    ('["default", "TcpExt.TCPSack*"]', []),
])
def test_netstat_fields_beyond_the_default_may_match(tmp_path, fields, notes):
    f = tmp_path / "c.yaml"
    f.write_text(f'netstat_fields: {fields}\ninclude: ["netstat.tcpext.TCPSackRecovery", "netstat.tcp.InSegs"]\n')
    r = subprocess.run([sys.executable, "-m", "carbon_client", "check-config", str(f)], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    got = [n.split(": note: ")[1].split(" matches")[0] for n in r.stdout.splitlines() if "matches no metric" in n]
    assert got == notes
