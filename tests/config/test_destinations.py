"""Destinations: parsed once in the config; hosts the resolver and sockets can take."""

from __future__ import annotations

import pytest

from carbon_client.config import ConfigError, Destination, build, parse_destination


@pytest.mark.parametrize("text,expected", [
    ("carbon", Destination("carbon", 2003)),
    ("carbon:2004", Destination("carbon", 2004)),
    ("[::1]:2003", Destination("::1", 2003)),
    ("[fe80::1]", Destination("fe80::1", 2003)),
    ("[fe80::1%eth0]:2004", Destination("fe80::1%eth0", 2004)),
    ("::1", Destination("::1", 2003)),
    ("10.0.0.1:2013", Destination("10.0.0.1", 2013)),
    ("graphite.example.com.:2003", Destination("graphite.example.com.", 2003)),
    ("carbon_relay-1:2003", Destination("carbon_relay-1", 2003)),
    ("  carbon:2003 ", Destination("carbon", 2003)),
], ids=["host", "host-port", "v6-port", "v6", "v6-zone", "bare-v6", "v4", "fqdn-dot", "underscore", "spaces"])
def test_parse_destination(text, expected):
    assert parse_destination(text) == expected


@pytest.mark.parametrize("text", [
    "", "host:0", "host:70000", "host:http", "[::1", "a b:1", ":2003", "host:\u0663",  # Arabic-Indic 3
    "h\x00st:2003", "caf\u00e9.example:2003", "a..b:2003", "-a:2003", "a" * 64 + ".example:2003",
    ("a." * 130) + "b:2003", "[::1]x", "host:2003:1",
], ids=["empty", "port0", "port-big", "port-name", "v6-open", "space", "no-host", "unicode-digit",
        "nul", "non-ascii", "empty-label", "dash-label", "long-label", "long-name", "v6-junk", "colons"])
def test_parse_destination_rejects(text):
    with pytest.raises(ValueError):
        parse_destination(text)


def test_str_is_what_parse_reads():
    for d in (Destination("carbon", 2003), Destination("::1", 2004)):
        assert parse_destination(str(d)) == d


def test_udp_destinations_must_resolve_at_load_time():
    with pytest.raises(ConfigError) as e:
        build(None, {"protocol": "udp", "carbon": ["127.0.0.1:2003", "no-such-host.invalid:2003"]})
    assert e.value.key == "--carbon"
    assert "'no-such-host.invalid:2003' does not resolve" in e.value.message
    assert build(None, {"protocol": "udp", "carbon": ["127.0.0.1:2003"]}).protocol == "udp"
    # tcp resolves when it connects (and again after every reconnect): a name may come later
    assert build(None, {"carbon": ["no-such-host.invalid:2003"]}).carbon[0].host == "no-such-host.invalid"


def test_udp_resolution_names_the_file_key(tmp_path):
    from carbon_client.config import load_file

    f = tmp_path / "c.yaml"
    f.write_text("protocol: udp\ncarbon: [127.0.0.1:2003, no-such-host.invalid:2003]\n")
    with pytest.raises(ConfigError) as e:
        build(load_file(str(f)), None, str(f))
    assert e.value.key == f"{f}: carbon[1]"
