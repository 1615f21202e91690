"""Configuration: defaults, file keys, flags over file, errors with the key path."""

from __future__ import annotations

import pytest

from carbon_client.config import Config, ConfigError, VALIDATORS, build, load_file
from carbon_client.config import Destination


def write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return str(p)


def test_defaults_work_without_a_file():
    c = build()
    assert c.carbon == (Destination("localhost", 2003),)
    assert c.interval == 10
    assert c.hostname and "." not in c.hostname
    assert c.collectors is None and c.disks is None and c.nics is None
    assert c.counters == "rate" and c.layout == "default"


def test_the_example_config_is_valid_and_complete(tmp_path):
    values = load_file("deploy/carbon-client.yaml")
    assert build(values).carbon == (Destination("localhost", 2003),)
    # every option documented in the example (commented out or not)
    text = open("deploy/carbon-client.yaml").read()
    undocumented = [k for k in VALIDATORS if f"{k}:" not in text]
    assert not undocumented, undocumented


def test_flags_win_over_the_file(tmp_path):
    f = write(tmp_path, "interval: 30\nhostname: fromfile\ndisks: [sda, 'nvme*']\n")
    c = build(load_file(f), {"interval": "5", "disks": None})
    assert c.interval == 5
    assert c.hostname == "fromfile"
    assert c.disks == ("sda", "nvme*")


def test_lists_accept_yaml_lists_and_comma_strings(tmp_path):
    f = write(tmp_path, "carbon: [a:1, 'b:2']\nnics: 'eth*, bond0'\n")
    c = build(load_file(f))
    assert c.carbon == (Destination("a", 1), Destination("b", 2))
    assert c.nics == ("eth*", "bond0")


@pytest.mark.parametrize("text,key,fragment", [
    ("intervall: 5\n", "intervall", "did you mean 'interval'"),
    ("interval: abc\n", "interval", "expected an integer"),
    ("interval: 0\n", "interval", "from 1 to 86400"),
    ("interval: 2.5\n", "interval", "integer"),
    ("interval: true\n", "interval", "got bool"),
    ("carbon: [ok:2003, 'bad:99999']\n", "carbon[1]", "port must be 1-65535"),
    ("counters: rates\n", "counters", "not one of rate, raw, both"),
    ("layout: fancy\n", "layout", "default, legacy"),
    ("collectors: [cpu, gpu]\n", "collectors[1]", "unknown collector 'gpu'"),
    ("disks: []\n", "disks", "at least one"),
    ("disks: [sda, 7]\n", "disks[1]", "expected a string"),
    ("proc_root: /does/not/exist\n", "proc_root", "not a directory"),
    ("cpu_per_core: maybe\n", "cpu_per_core", "true or false"),
    ("backoff_max: -1\n", "backoff_max", "from 0.01"),
], ids=lambda v: v if isinstance(v, str) and "\n" not in v else None)
def test_bad_values_name_the_key_path(tmp_path, text, key, fragment):
    f = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        build(load_file(f))
    assert e.value.key == f"{f}: {key}"
    assert fragment in e.value.message


@pytest.mark.parametrize("text,fragment", [
    ("- a\n- b\n", "expected a mapping"),
    ("interval: [\n", "not valid YAML at line"),
    ("1: x\n", "keys must be strings"),
])
def test_bad_files(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as e:
        load_file(write(tmp_path, text))
    assert fragment in str(e.value)


def test_bad_flag_names_the_flag():
    with pytest.raises(ConfigError) as e:
        build(None, {"proc_root": "/nope"})
    assert e.value.key == "--proc-root"


def test_empty_file_is_all_defaults(tmp_path):
    assert load_file(write(tmp_path, "")) == {}
    assert build(load_file(write(tmp_path, "# nothing\n"))) == build()


def test_config_is_immutable():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().interval = 5  # type: ignore[misc]
