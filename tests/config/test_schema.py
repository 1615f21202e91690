"""Lists of mappings declared on dataclasses: the helpers the coming keys (probes, exec, process groups) use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pytest

from carbon_client.config import ConfigError, load_file
from carbon_client.config.schema import check_mapping, record, required_of, setting
from carbon_client.config.values import choice, duration, each, name, optional, text


@dataclass(frozen=True)
class Probe:
    """What a future ``probes:`` item could look like (not a key of the agent)."""

    name: str = setting(check=name)
    url: str = setting(check=text)
    timeout: float = setting(5.0, duration(0.1, 600))
    method: str = setting("GET", choice(("GET", "HEAD")))
    every: Optional[float] = setting(None, optional(duration(1, 3600)))


def no_head_with_long_timeout(p: Probe, key: str) -> None:
    if p.method == "HEAD" and p.timeout > 60:
        raise ConfigError(f"{key}.timeout", "a HEAD probe times out within 1m")


probes = each(record(Probe, no_head_with_long_timeout), at_least=1)


def test_a_list_of_mappings_becomes_records():
    got = probes([{"name": "web", "url": "http://a/"}, {"name": "db", "url": "tcp://b:5432", "timeout": "1m30s"}],
                 "probes")
    assert got == (Probe("web", "http://a/"), Probe("db", "tcp://b:5432", timeout=90))
    assert required_of(Probe) == ["name", "url"]


@pytest.mark.parametrize("value,key,fragment", [
    ([{"name": "a", "url": "u"}, {"name": "b", "url": "u"}, {"name": "c", "url": "u", "timeout": "soon"}],
     "probes[2].timeout", "expected a duration from 100ms to 10m"),
    ([{"name": "a", "url": "u", "timout": 5}], "probes[0].timout", "did you mean 'timeout'"),
    ([{"name": "a"}], "probes[0].url", "is required"),
    ([{"name": "a", "url": "u", "method": "HEAD", "timeout": "5m"}], "probes[0].timeout", "within 1m"),
    (["http://a/"], "probes[0]", "expected a mapping of keys to values, got str"),
    ([{"name": "a b", "url": "u"}], "probes[0].name", "whitespace"),
    ([{1: "x", "name": "a", "url": "u"}], "probes[0].1", "keys must be strings"),
    ([{"name": "a", "url": "u", "bad\nkey": 1}], "probes[0].'bad\\nkey'", "unknown key"),
    ([], "probes", "at least one"),
    ({"name": "a"}, "probes", "expected a list"),
], ids=["nested-duration", "misspelled", "required", "together", "not-a-mapping", "name", "int-key",
        "newline-key", "empty", "not-a-list"])
def test_errors_name_the_nested_key_path(value, key, fragment):
    with pytest.raises(ConfigError) as e:
        probes(value, "probes")
    assert e.value.key == key
    assert fragment in e.value.message


def test_from_a_file_the_path_and_the_file_are_named(tmp_path, monkeypatch):
    """The same helpers under a key the loader knows (wired in for this test only)."""
    from carbon_client.config import keys

    monkeypatch.setitem(keys.VALIDATORS, "probes", probes)
    f = tmp_path / "c.yaml"
    f.write_text("probes:\n  - {name: a, url: 'http://${HOST:-localhost}/'}\n  - name: b\n    url: u\n"
                 "    timeout: 0s\n")
    with pytest.raises(ConfigError) as e:
        load_file(str(f), env={})
    assert e.value.key == f"{f}: probes[1].timeout"
    f.write_text("probes:\n  - {name: a, url: 'http://${HOST:-localhost}/'}\n")
    assert load_file(str(f), env={"HOST": "web"}) == {"probes": (Probe("a", "http://web/"),)}


def test_check_mapping_with_flag_names():
    with pytest.raises(ConfigError) as e:
        check_mapping({"proc_root": 5}, "", {"proc_root": text}, shown=lambda k: "--" + k.replace("_", "-"))
    assert e.value.key == "--proc-root"


def test_setting_needs_a_check():
    with pytest.raises(TypeError):
        setting(5)
