"""Paths: the default layout's levels, postfix, host name methods, Graphite 1.1 tags,
and one path per value when instance names clash once sanitized."""

from __future__ import annotations

import socket

import pytest

from carbon_client.agent import Agent
from carbon_client.config import ConfigError, build, validate
from carbon_client.naming import (
    MAX_COMPONENT, DefaultLayout, TagsLayout, components, not_aggregate, sanitize, tag_value,
)
from tests.conftest import FIXTURES


def test_default_layout_levels_with_prefix_and_postfix():
    layout = DefaultLayout("web01", "dc1.rack 2", "agent")
    assert layout.path("net", "flannel.1", "rx_bytes") == ("dc1.rack_2.web01.agent.net.flannel_1.rx_bytes", 1.0)
    assert layout.path("load", None, "1m")[0] == "dc1.rack_2.web01.agent.load.1m"
    assert layout.path("myjob", None, "queue.depth x")[0] == "dc1.rack_2.web01.agent.myjob.queue.depth_x"


def test_a_reversed_fqdn_is_several_levels_an_fqdn_one():
    assert DefaultLayout("com.example.web01", host_levels=True).path("load", None, "1m")[0] == \
        "com.example.web01.load.1m"
    assert DefaultLayout("web01.example.com").path("load", None, "1m")[0] == "web01_example_com.load.1m"


def test_hostname_methods(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "web01.example.com")
    monkeypatch.setattr(socket, "getfqdn", lambda name="": "web01.example.com")
    assert build(validate({})).hostname == "web01"
    assert build(validate({"hostname_method": "fqdn"})).hostname == "web01.example.com"
    assert build(validate({"hostname_method": "fqdn_reversed"})).hostname == "com.example.web01"
    assert build(validate({"hostname_method": "fqdn_reversed", "hostname": "x"})).hostname == "x"


def test_tags_name_group_and_key_and_tag_host_and_instance():
    layout = TagsLayout("web01.example.com", "dc1", "agent")
    assert layout.path("net", "eth0", "rx_bytes")[0] == "dc1.net.rx_bytes.agent;host=web01.example.com;instance=eth0"
    assert layout.path("load", None, "1m")[0] == "dc1.load.1m.agent;host=web01.example.com"


@pytest.mark.parametrize("raw,value", [
    ("eth0", "eth0"), ("flannel.1", "flannel.1"), ("a;b=c", "a_b_c"), ("~tilde", "_tilde"), ("sp ace", "sp_ace"),
    ("é", "_"), ("", "_"),
])
def test_tag_values_follow_graphite_tag_rules(raw, value):
    assert tag_value(raw) == value


def test_tags_format_end_to_end_and_not_with_the_legacy_layout():
    values = {"proc_root": str(FIXTURES / "procfs"), "sys_root": str(FIXTURES), "hostname": "h",
              "collectors": ["load", "net"], "format": "tags"}
    now = [100.0]
    agent = Agent(build(validate(values)), health=False, monotonic=lambda: now[0])
    agent.cycle(100)
    now[0] += 10
    lines = agent.cycle(110).data.decode().splitlines()
    assert "load.1m;host=h 0.02 110" in lines
    assert any(line.startswith("net.rx_bytes;host=h;instance=eth0 ") for line in lines)
    assert any(line.startswith("net.rx_bytes;host=h;instance=total ") for line in lines)
    with pytest.raises(ConfigError, match="tags and the legacy layout"):
        build(validate({"format": "tags", "layout": "legacy"}))


def test_clashing_names_get_a_stable_suffix_whatever_their_order():
    names = ["eth.0", "eth_0", "eth:1", "eth;1", "lo"]
    got = components(names, reserved=("total",))
    assert got == components(list(reversed(names)), reserved=("total",))
    assert got["eth_0"] == "eth_0" and got["lo"] == "lo"
    assert got["eth.0"].startswith("eth_0_") and len(got["eth.0"]) == len("eth_0_") + 6
    assert len(set(got.values())) == len(names)
    assert components(["x.1"]) == {"x.1": "x_1"}  # alone, a sanitized name keeps its form


def test_a_device_named_like_the_aggregate_keeps_out_of_its_way():
    assert not_aggregate("total", "total") == "total_device"
    assert not_aggregate("eth0", "total") == "eth0"


def test_a_component_too_long_for_whisper_is_cut_and_keeps_its_own_name():
    """carbon-cache drops a metric with a level over 255 bytes (a file name), without a word."""
    base = "var/lib/kubelet/pods/" + "0b5c" * 60
    a, b = components([base + "/volumes/a", base + "/volumes/b"]).values()
    assert len(a) == len(b) == MAX_COMPONENT and a != b
    assert a.startswith("var_lib_kubelet_pods_0b5c") and a[-9] == "_"
    assert sanitize(base + "/volumes/a") == a  # the same name, the same component, every time
    assert sanitize("x" * MAX_COMPONENT) == "x" * MAX_COMPONENT  # up to the limit, untouched
    path = DefaultLayout("h").path("myjob", None, "q" * 300 + ".depth")[0]
    assert [len(level) for level in path.split(".")] == [1, 5, MAX_COMPONENT, 5]
