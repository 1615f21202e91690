"""Reading a config file: bounded, strict YAML, ``${VAR}`` expansion, then the keys' validators.

Limits, so a hostile or broken file costs little and says what is wrong:
at most ``MAX_BYTES`` of UTF-8; at most ``MAX_VALUES`` values once YAML
aliases are expanded (an alias counts as everything it stands for, so an
alias bomb is refused while it is read, before anything is built); at most
``MAX_DEPTH`` levels of nesting; a key at most once per mapping. A file with
no settings at all (empty, or only comments) is refused: it is how a file
looks in the middle of being rewritten, and a reload must never fall back to
the defaults because of it. ``{}`` says "all defaults" on purpose.
"""

from __future__ import annotations

import os
import re
import stat
from importlib import resources
from typing import Any, Mapping, Optional

import yaml

from carbon_client.config.errors import ConfigError, item, member, quote
from carbon_client.config.keys import VALIDATORS
from carbon_client.config.schema import key_check

MAX_BYTES = 1 << 20
MAX_VALUES = 50_000
MAX_DEPTH = 32

DEFAULT_PATH = "/etc/carbon-client/carbon-client.yaml"
# Names the config file when --config is not given; set and empty: no file.
PATH_VARIABLE = "CARBON_CLIENT_CONFIG"
EXAMPLE = "carbon-client.yaml"


def example_text() -> str:
    """The commented example config shipped in the package."""
    return resources.files(__package__).joinpath(EXAMPLE).read_text(encoding="utf-8")


def find_config(given: Optional[str], env: Mapping[str, str], default: str = DEFAULT_PATH) -> Optional[str]:
    """The file to read: ``--config``, else $CARBON_CLIENT_CONFIG, else ``default`` if it exists."""
    if given is not None:
        return given
    if PATH_VARIABLE in env:
        return env[PATH_VARIABLE] or None
    return default if os.path.lexists(default) else None


def load_file(path: str, env: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """The validated keys of a YAML config file; ``env`` (default os.environ) for ``${VAR}``."""
    env = os.environ if env is None else env
    data = parse(read_text(path), path)
    if data is None:
        raise ConfigError(path, "no settings: the file is empty or holds only comments "
                                "(write {} to run on the defaults)")
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a mapping of keys to values, got {type(data).__name__}")
    out = {}
    try:
        for name, raw in data.items():
            key = member("", name)
            check = key_check(name, key, VALIDATORS)
            value = expand(raw, key, env)
            try:
                out[name] = check(value, key)
            except ConfigError as exc:
                if value is raw:
                    raise
                raise ConfigError(exc.key, f"{exc.message} (expanded from {quote(raw)})") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.key}", exc.message) from None
    return out


# -- the file ----------------------------------------------------------------------------


def read_text(path: str) -> str:
    """The file's text: a regular file of at most MAX_BYTES in UTF-8 (a BOM is dropped)."""
    if not path:
        raise ConfigError("''", "an empty file name")
    try:
        # O_NONBLOCK: a FIFO named as the config must not hang the agent in open().
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError(path, exc.strerror or str(exc)) from None
    except ValueError:  # a NUL in the path
        raise ConfigError(path, "not a valid path") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigError(path, "not a regular file")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(MAX_BYTES + 1)
        except OSError as exc:
            raise ConfigError(path, exc.strerror or str(exc)) from None
    if len(data) > MAX_BYTES:
        raise ConfigError(path, f"larger than {MAX_BYTES >> 20} MiB; a config file is a few kilobytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ConfigError(path, f"not UTF-8: byte {data[exc.start]:#04x} at line {line}, column {column} "
                                "(save the file as UTF-8)") from None
    return text.removeprefix("\ufeff")


class _Refused(yaml.MarkedYAMLError):
    """A limit of this loader, at a key path."""

    def __init__(self, key: str, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.key = key


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts what aliases expand to, bounds nesting and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.values = 0
        self.sizes: dict[str, int] = {}  # anchor -> how many values it stands for
        self.path: list[Any] = []  # keys and indices down to the node being read
        self.depth = 0

    def where(self) -> str:
        key = ""
        for part in self.path:
            key = item(key, part) if isinstance(part, int) else member(key, part)
        return key

    def compose_node(self, parent: Any, index: Any) -> Any:
        part = index if isinstance(index, int) else index.value if isinstance(index, yaml.ScalarNode) else None
        if part is not None:
            self.path.append(part)
        self.depth += 1
        try:
            return self._compose(parent, index)
        finally:
            self.depth -= 1
            if part is not None:
                self.path.pop()

    def _compose(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            size = self.sizes.get(event.anchor)
            if size is None and event.anchor in self.anchors:
                raise _Refused(self.where(), f"alias *{event.anchor} inside its own anchor", event.start_mark)
            self._count(size or 0, event.start_mark)  # an undefined alias: PyYAML says so
            return super().compose_node(parent, index)
        if self.depth > MAX_DEPTH:
            raise _Refused(self.where(), f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        before = self.values
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.sizes[anchor] = self.values - before
        return node

    def _count(self, n: int, mark: Any) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise _Refused(self.where(), f"more than {MAX_VALUES} values once aliases are expanded "
                                         "(each *alias counts as all it stands for)", mark)

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], Any] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            ident = (key_node.tag, key_node.value)
            if ident in seen:
                raise _Refused(member(self.where(), key_node.value),
                               f"set twice (first at line {seen[ident].line + 1}); keep one",
                               key_node.start_mark)
            seen[ident] = key_node.start_mark
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # int() of 5000 digits, a date that is not one
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {quote(node.value) if isinstance(node, yaml.ScalarNode) else 'this'}: "
                            f"{quote(str(exc))}", node.start_mark) from None


def parse(text: str, path: str) -> Any:
    loader = None
    try:
        loader = _Loader(text)  # the reader checks every character here
        return loader.get_single_data()
    except _Refused as exc:
        at = f"{path}: {exc.key}" if exc.key else path
        raise ConfigError(at, f"{exc.problem} (line {exc.problem_mark.line + 1}, "
                              f"column {exc.problem_mark.column + 1})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = ", ".join(m for m in (exc.context, exc.problem) if m)
        raise ConfigError(path, f"not valid YAML{at}: {what}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(path, f"not valid YAML at line {line}: character {quote(chr(exc.character))} "
                                "is not allowed") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"not valid YAML: {quote(str(exc))}") from None
    except (ValueError, OverflowError) as exc:  # what a constructor raised outside construct_object
        raise ConfigError(path, f"not valid YAML: {quote(str(exc))}") from None
    finally:
        if loader is not None:
            loader.dispose()


# -- ${VAR} ---------------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$(?:(\$)|\{([^}]*)\}|(\{))")
_VARIABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL | re.ASCII)


def expand(value: Any, key: str, env: Mapping[str, str]) -> Any:
    """``value`` with ``${VAR}`` and ``${VAR:-default}`` replaced in every string; ``$$`` is ``$``.

    Returns ``value`` itself when nothing changed. An unset variable without a
    default is an error naming the key and the variable.
    """
    if isinstance(value, str):
        return expand_string(value, key, env) if "$" in value else value
    if isinstance(value, dict):
        new = {k: expand(v, member(key, k), env) for k, v in value.items()}
        return value if all(new[k] is value[k] for k in value) else new
    if isinstance(value, list):
        items = [expand(v, item(key, i), env) for i, v in enumerate(value)]
        return value if all(a is b for a, b in zip(items, value)) else items
    return value


def expand_string(s: str, key: str, env: Mapping[str, str]) -> str:
    def substitute(m: re.Match) -> str:
        if m.group(1):
            return "$"
        if m.group(3):
            raise ConfigError(key, f"{quote(s)}: '${{' without a closing '}}' (write $$ for a $)")
        ref = _VARIABLE.fullmatch(m.group(2))
        if ref is None or "$" in (ref.group(2) or ""):
            raise ConfigError(key, f"{quote(s)}: {quote(m.group(0))} is not ${{NAME}} or ${{NAME:-default}}")
        var, default = ref.group(1), ref.group(2)
        value = env.get(var)
        if default is not None and not value:
            return default
        if value is None:
            raise ConfigError(key, f"environment variable {var} is not set and {quote(m.group(0))} "
                                   f"gives no default (${{{var}:-default}})")
        return value

    return _REFERENCE.sub(substitute, s)
