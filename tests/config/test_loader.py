"""Reading a file: limits (size, aliases, depth), UTF-8, strict YAML, ${VAR}, the default path."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from carbon_client.config import ConfigError, build, example_text, find_config, load_file
from carbon_client.config.errors import QUOTE_MAX
from carbon_client.config.loader import DEFAULT_PATH, MAX_BYTES, MAX_DEPTH, MAX_VALUES, PATH_VARIABLE
from tests.conftest import EXAMPLE_CONFIG


def write(tmp_path, data, name="c.yaml"):
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(p)


def alias_bomb(key: str, levels: int, width: int = 9) -> str:
    """The billion-laughs shape under one key: each level lists the previous one ``width`` times."""
    lines = [f"{key}:", f"- &0 [{','.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"- &{i} [{','.join([f'*{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def refused(path, env=None) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        load_file(path, env={} if env is None else env)
    assert len(str(e.value)) < 400 + len(path), "an error message stays short"
    assert "\n" not in str(e.value)
    return e.value


# -- limits --------------------------------------------------------------------------


@pytest.mark.parametrize("key,levels", [("hostname", 6), ("carbon", 7), ("nics", 9), ("colectors", 9)])
def test_alias_bombs_are_refused_while_read(tmp_path, key, levels):
    text = alias_bomb(key, levels)
    assert len(text) < 400  # the adversary's files were 334 and 374 bytes
    tracemalloc.start()
    try:
        err = refused(write(tmp_path, text))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"more than {MAX_VALUES} values once aliases are expanded" in err.message
    assert err.key.split(": ")[1].startswith(f"{key}[")
    assert peak < 20 << 20, f"reading a {len(text)}-byte file took {peak >> 20} MiB"


def test_aliases_within_the_bound_still_work(tmp_path):
    f = write(tmp_path, "disks: &d [sda, sdb]\nnics: [eth0]\nwriteboost: *d\n")
    assert load_file(f)["writeboost"] == ("sda", "sdb")


def test_merge_key_bombs_are_refused(tmp_path):
    """PyYAML copies merged pairs into the mapping: nine merges a level grow it ninefold."""
    text = "a0: &0 {x: 1}\n" + "".join(f"a{i}: &{i} {{<<: [{','.join([f'*{i - 1}'] * 9)}]}}\n" for i in range(1, 9))
    assert len(text) < 400
    assert "aliases are expanded" in refused(write(tmp_path, text)).message


def test_merge_keys_within_the_bound_work(tmp_path, monkeypatch):
    from carbon_client.config import keys

    monkeypatch.setitem(keys.VALIDATORS, "base", lambda v, k: v)
    monkeypatch.setitem(keys.VALIDATORS, "probe", lambda v, k: v)
    f = write(tmp_path, "base: &b {interval: 30}\nprobe: {<<: *b, hostname: h}\n")
    assert load_file(f)["probe"] == {"interval": 30, "hostname": "h"}


def test_a_recursive_alias_is_refused(tmp_path):
    err = refused(write(tmp_path, "disks: &a [sda, *a]\n"))
    assert "inside its own anchor" in err.message and err.key.endswith(": disks[1]")


def test_nesting_is_bounded(tmp_path):
    err = refused(write(tmp_path, "disks: " + "[" * 10_000 + "]" * 10_000 + "\n"))
    assert f"nested deeper than {MAX_DEPTH} levels" in err.message
    err = refused(write(tmp_path, "? " + "[" * 10_000 + "]" * 10_000 + "\n: 1\n"))
    assert "nested deeper" in err.message


def test_size_is_capped(tmp_path):
    f = write(tmp_path, "# " + "x" * MAX_BYTES + "\ninterval: 10\n")
    assert "larger than 1 MiB" in refused(f).message
    assert load_file(write(tmp_path, "# " + "x" * (MAX_BYTES - 100) + "\ninterval: 10\n")) == {"interval": 10}


def test_many_values_are_refused_not_built(tmp_path):
    f = write(tmp_path, "disks: [" + ",".join(["a"] * (MAX_VALUES + 10)) + "]\n")
    assert "more than" in refused(f).message


@pytest.mark.parametrize("text,fragment", [
    ("interval: 1" + "0" * 5000 + "\n", "cannot read"),
    ("hostname: !!timestamp 2024-13-45\n", "cannot read"),
    ("hostname: !!python/object:os.system x\n", "could not determine a constructor"),
    ("hostname: !!binary 'AAAA'\n", "expected a string, got bytes"),
    ("? [a, b]\n: 1\n", "unhashable"),
    ("a: 1\n---\nb: 2\n", "expected a single document"),
    ("interval: *nowhere\n", "found undefined alias"),
    ("interval: 10\ninterval: 20\n", "set twice (first at line 1)"),
    ("interval: [\n", "not valid YAML at line"),
    ("interval:\t10\n", "not valid YAML"),
], ids=["5000-digits", "bad-date", "python-tag", "binary", "unhashable", "two-documents",
        "undefined-alias", "duplicate", "unclosed", "tab"])
def test_yaml_it_cannot_read_is_a_config_error(tmp_path, text, fragment):
    assert fragment in refused(write(tmp_path, text)).message


def test_a_key_set_twice_names_the_key(tmp_path):
    f = write(tmp_path, "hostname: a\ninterval: 10\nhostname: b\n")
    err = refused(f)
    assert err.key == f"{f}: hostname"
    assert "line 3" in err.message


def test_non_utf8_says_where(tmp_path):
    f = write(tmp_path, b"interval: 10\nhostname: caf\xe9\n")
    err = refused(f)
    assert err.key == f and err.message.startswith("not UTF-8: byte 0xe9 at line 2, column 14")


def test_a_bom_and_control_characters(tmp_path):
    assert load_file(write(tmp_path, "\ufeffinterval: 10\n")) == {"interval": 10}
    err = refused(write(tmp_path, "hostname: a\x01b\n"))
    assert "not valid YAML at line 1" in err.message and "'\\x01'" in err.message


@pytest.mark.parametrize("make,fragment", [
    (lambda d: str(d / "missing.yaml"), "No such file or directory"),
    (lambda d: str(d), "not a regular file"),
    (lambda d: (os.mkfifo(d / "fifo"), str(d / "fifo"))[1], "not a regular file"),
    (lambda d: "/dev/zero", "not a regular file"),
    (lambda d: str(d / "a\x00b"), "not a valid path"),
    (lambda d: "/proc/self/mem", "Input/output error"),  # opens as a regular file, fails to read
    (lambda d: "", "an empty file name"),
], ids=["missing", "directory", "fifo", "device", "nul", "read-error", "empty-name"])
def test_files_that_are_not_config_files(tmp_path, make, fragment):
    assert fragment in refused(make(tmp_path)).message


def test_unreadable(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file (tests/faults/test_config_faults.py covers a read error)")
    f = write(tmp_path, "interval: 10\n")
    os.chmod(f, 0)
    assert "Permission denied" in refused(f).message


def test_long_values_are_cut_in_messages(tmp_path):
    err = refused(write(tmp_path, f"hostname: {'x' * 100_000}\n"))
    assert len(err.message) < 2 * QUOTE_MAX + 40
    err = refused(write(tmp_path, f"{'k' * 100_000}: 1\n"))
    assert len(err.key) < len(str(tmp_path)) + 240


# -- ${VAR} -----------------------------------------------------------------------------


def test_variables_are_expanded_before_validation(tmp_path):
    f = write(tmp_path, "hostname: ${HOST}\ncarbon: ['${CARBON:-graphite}:2003', 'b:${PORT:-2004}']\n"
                        "interval: ${INTERVAL:-1m}\nprefix: 'cost$$center.${DC}'\nnics: ${NICS:-eth0,eth1}\n")
    env = {"HOST": "web01", "DC": "dc1", "PORT": ""}
    c = build(load_file(f, env=env))
    assert c.hostname == "web01"
    assert [str(d) for d in c.carbon] == ["graphite:2003", "b:2004"]  # empty counts as unset for :-
    assert c.interval == 60
    assert c.prefix == "cost$center.dc1"
    assert c.nics == ("eth0", "eth1")


@pytest.mark.parametrize("text,env,key,fragment", [
    ("hostname: ${HOST}\n", {}, "hostname", "environment variable HOST is not set"),
    ("carbon: [a:2003, '${C}']\n", {}, "carbon[1]", "environment variable C is not set"),
    ("hostname: ${HOST\n", {}, "hostname", "without a closing"),
    ("hostname: ${1X}\n", {}, "hostname", "is not ${NAME}"),
    ("hostname: ${A:-${B}}\n", {}, "hostname", "is not ${NAME}"),
    ("nics: ${N}\n", {"N": "eth 0"}, "nics", "whitespace"),
    ("hostname: ${H}\n", {"H": "web\n01"}, "hostname", "line breaks"),
    ("interval: ${IV}\n", {"IV": "soon"}, "interval", "(expanded from '${IV}')"),
], ids=["unset", "unset-in-list", "unclosed", "bad-name", "nested", "value-with-space", "value-with-newline",
        "says-what-it-expanded"])
def test_variable_errors_name_the_key_and_the_variable(tmp_path, text, env, key, fragment):
    f = write(tmp_path, text)
    err = refused(f, env)
    assert err.key == f"{f}: {key}"
    assert fragment in err.message


def test_unknown_keys_are_reported_before_variables(tmp_path):
    assert "did you mean 'hostname'" in refused(write(tmp_path, "hostnme: ${NOPE}\n")).message


def test_a_dollar_alone_is_kept(tmp_path):
    f = write(tmp_path, "prefix: a$b\ninterval: 10\n")
    assert load_file(f, env={}) == {"prefix": "a$b", "interval": 10}


# -- where the file is --------------------------------------------------------------------


def test_find_config(tmp_path):
    default = tmp_path / "etc.yaml"
    assert find_config("given.yaml", {PATH_VARIABLE: "env.yaml"}, str(default)) == "given.yaml"
    assert find_config(None, {PATH_VARIABLE: "env.yaml"}, str(default)) == "env.yaml"
    assert find_config(None, {PATH_VARIABLE: ""}, str(default)) is None  # set and empty: no file
    assert find_config(None, {}, str(default)) is None
    default.write_text("interval: 10\n")
    assert find_config(None, {}, str(default)) == str(default)
    default.unlink()
    default.symlink_to(tmp_path / "gone.yaml")  # a dangling link is named, and its error said
    assert find_config(None, {}, str(default)) == str(default)
    assert DEFAULT_PATH == "/etc/carbon-client/carbon-client.yaml"


def test_the_example_is_the_package_data():
    assert example_text() == EXAMPLE_CONFIG.read_text()
    assert "${" in example_text() and "1m30s" in example_text()
