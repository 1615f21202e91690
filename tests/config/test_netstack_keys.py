"""The keys of the pressure .. processes groups: netstat_fields and softnet_per_cpu."""

from __future__ import annotations

import pytest

from carbon_client.config import Config, ConfigError, build, load_file


def write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return str(p)


def test_defaults():
    assert Config().netstat_fields == ("default",) and Config().softnet_per_cpu is False


@pytest.mark.parametrize("text, expected", [
    ("netstat_fields: default\n", ("default",)),
    ("netstat_fields: all\n", ("all",)),
    ("netstat_fields: [default, 'TcpExt.TCP*Retrans*', tcp.InSegs]\n", ("default", "TcpExt.TCP*Retrans*", "tcp.InSegs")),
    ("netstat_fields: 'Udp.*, Udp6.*'\n", ("Udp.*", "Udp6.*")),
])
def test_netstat_fields(tmp_path, text, expected):
    assert build(load_file(write(tmp_path, text))).netstat_fields == expected


@pytest.mark.parametrize("text, key, fragment", [
    ("netstat_fields: []\n", "netstat_fields", "at least one"),
    ("netstat_fields: everything\n", "netstat_fields", "expected default, all or a Table.Field glob"),
    ("netstat_fields: [default, Tcp]\n", "netstat_fields[1]", "Table.Field"),
    ("netstat_fields: [Tcp.]\n", "netstat_fields[0]", "Table.Field"),
    ("netstat_fields: [.InSegs]\n", "netstat_fields[0]", "Table.Field"),
    ("netstat_fields: [Tcp.In.Segs]\n", "netstat_fields[0]", "Table.Field"),
    ("netstat_fields: ['Tcp. InSegs']\n", "netstat_fields[0]", "whitespace"),
    ("netstat_fields: 5\n", "netstat_fields", "expected a list"),
    ("softnet_per_cpu: sometimes\n", "softnet_per_cpu", "true or false"),
])
def test_bad_values_name_the_key_path(tmp_path, text, key, fragment):
    f = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        build(load_file(f))
    assert e.value.key == f"{f}: {key}"
    assert fragment in e.value.message
