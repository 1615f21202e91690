"""Configuration keys: defaults, file keys, flags over file, errors with the key path."""

from __future__ import annotations

import pytest

from carbon_client.config import Config, ConfigError, Destination, VALIDATORS, build, load_file, shadowed, show
from tests.conftest import EXAMPLE_CONFIG


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


def test_the_example_config_is_valid_and_complete():
    values = load_file(str(EXAMPLE_CONFIG))
    assert build(values).carbon == (Destination("localhost", 2003),)
    # every option documented in the example (commented out or not)
    text = EXAMPLE_CONFIG.read_text()
    undocumented = [k for k in VALIDATORS if f"{k}:" not in text]
    assert not undocumented, undocumented


def test_the_example_sets_the_defaults():
    """What the example sets uncommented is what the agent does without it."""
    values = load_file(str(EXAMPLE_CONFIG))
    default = Config()
    differs = {k: v for k, v in values.items() if getattr(default, k) != v}
    assert not differs, differs


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
    ("interval: abc\n", "interval", "expected a whole number of seconds"),
    ("interval: 0\n", "interval", "from 1s to 1d"),
    ("interval: 2.5\n", "interval", "not a whole number"),
    ("interval: 1500ms\n", "interval", "not a whole number"),
    ("interval: true\n", "interval", "got bool"),
    ("interval: .inf\n", "interval", "not a finite number"),
    ("interval: .nan\n", "interval", "not a finite number"),
    ("interval: 1e400\n", "interval", "not a finite number"),
    ("buffer_lines: .nan\n", "buffer_lines", "not a finite number"),
    ("buffer_lines: 1e300\n", "buffer_lines", "from 100 to 100000000"),
    ("spool_max_bytes: 65535\n", "spool_max_bytes", "from 65536"),
    ("spool_max_bytes: -.inf\n", "spool_max_bytes", "not a finite number"),
    ("write_timeout: .nan\n", "write_timeout", "not a finite number"),
    ("connect_timeout: 1h\n", "connect_timeout", "from 100ms to 10m"),
    ("resend_window: .inf\n", "resend_window", "not a finite number"),
    ("flush_timeout: -1s\n", "flush_timeout", "expected a duration"),
    ("hostname: \"web\\t01\"\n", "hostname", "control characters"),
    ("hostname: \"web\\n01\"\n", "hostname", "line breaks"),
    ("prefix: \"a\\tb\"\n", "prefix", "control characters"),
    ("prefix: " + "a" * 256 + "\n", "prefix", "longer than 255"),
    ("disks: ['sd a']\n", "disks[0]", "whitespace"),
    ("hostname: 123\n", "hostname", "put it in quotes"),
    ("spool_dir: \"/var/\\x00spool\"\n", "spool_dir", "control characters"),
    ("nics: [eth0, \"eth\\n1\"]\n", "nics[1]", "line breaks"),
    ("carbon: ['bad host:2003']\n", "carbon[0]", "whitespace"),
    ("log_level: verbose\n", "log_level", "not one of DEBUG, INFO, WARNING, ERROR"),
    ("carbon: [ok:2003, 'bad:99999']\n", "carbon[1]", "port must be 1-65535"),
    ("carbon: [a:2003, b:2003, A:2003]\n", "carbon", "'A:2003' is listed twice"),
    ("counters: rates\n", "counters", "not one of rate, raw, both"),
    ("layout: fancy\n", "layout", "default, legacy"),
    ("collectors: [cpu, gpu]\n", "collectors[1]", "unknown collector 'gpu'"),
    ("disks: []\n", "disks", "at least one"),
    ("disks: [sda, 7]\n", "disks[1]", "expected a string"),
    ("proc_root: /does/not/exist\n", "proc_root", "not a directory"),
    ("cpu_per_core: maybe\n", "cpu_per_core", "true or false"),
    ("backoff_max: -1\n", "backoff_max", "from 10ms to 1d"),
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


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing\n", "---\n", "~\n", "null\n"],
                         ids=["empty", "blank", "comments", "document-start", "tilde", "null"])
def test_a_file_with_no_settings_is_refused(tmp_path, text):
    """An empty file is what a file looks like while it is rewritten: never silently the defaults."""
    f = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_file(f)
    assert e.value.key == f
    assert "no settings" in e.value.message and "{}" in e.value.message


def test_an_empty_mapping_is_all_defaults(tmp_path):
    assert load_file(write(tmp_path, "{}\n")) == {}
    assert build(load_file(write(tmp_path, "# all defaults\n{}\n"))) == build()


def test_durations_in_the_file_and_in_flags(tmp_path):
    f = write(tmp_path, "interval: 1m\nbackoff_min: 500ms\nbackoff_max: 1m30s\nflush_timeout: 0\n"
                        "resend_window: 2m\ncommand_timeout: 2.5\n")
    c = build(load_file(f))
    assert (c.interval, c.backoff_min, c.backoff_max, c.flush_timeout, c.resend_window, c.command_timeout) == \
        (60, 0.5, 90, 0, 120, 2.5)
    assert build(None, {"interval": "1h"}).interval == 3600
    with pytest.raises(ConfigError) as e:
        build(None, {"interval": "1500ms"})
    assert e.value.key == "--interval"


def test_spool_max_bytes_from_64_kib():
    assert build(None, {"spool_max_bytes": 64 << 10}).spool_max_bytes == 65536


def test_cross_key_errors_name_where_the_value_came_from(tmp_path):
    f = write(tmp_path, "backoff_min: 10\nbackoff_max: 5\n")
    with pytest.raises(ConfigError) as e:
        build(load_file(f), None, f)
    assert e.value.key == f"{f}: backoff_min"
    assert "must not exceed backoff_max" in e.value.message
    with pytest.raises(ConfigError) as e:
        build(None, {"backoff_min": "2m"})
    assert e.value.key == "--backoff-min"


def test_shadowed_names_flags_that_override_a_different_file_value(tmp_path):
    f = write(tmp_path, "interval: 30\nhostname: h\ncarbon: [a:2003, b:2003]\nshow: true\n")
    values = load_file(f)
    got = shadowed(values, {"interval": "5", "hostname": "h", "carbon": ["c:2003"], "show": False, "nics": None})
    assert [(k, show(new), show(old)) for k, new, old in got] == [
        ("interval", "5", "30"), ("carbon", "[c:2003]", "[a:2003, b:2003]"), ("show", "false", "true"),
    ]


def test_config_is_immutable():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().interval = 5  # type: ignore[misc]
