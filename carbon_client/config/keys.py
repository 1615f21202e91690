"""Configuration: one YAML key per option, validated with the key's path.

Precedence: built-in defaults, then the YAML file, then command-line flags.
Every error names the key path, the bad value and what is allowed, and the
CLI exits 2 with it (never a traceback for a user's mistake).
"""

from __future__ import annotations

import difflib
import os
import socket
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Optional

import yaml

from carbon_client.config.destinations import Destination, parse_destination

COUNTERS = ("rate", "raw", "both")
LAYOUTS = ("default", "legacy")
PROTOCOLS = ("tcp", "udp")
MODES = ("failover", "all")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def short_hostname() -> str:
    return socket.gethostname().split(".")[0] or "localhost"


@dataclass(frozen=True)
class Config:
    carbon: tuple[Destination, ...] = (Destination("localhost", 2003),)
    interval: int = 10
    hostname: str = field(default_factory=short_hostname)
    prefix: str = ""
    proc_root: str = "/proc"
    sys_root: str = "/sys"
    collectors: Optional[tuple[str, ...]] = None
    disks: Optional[tuple[str, ...]] = None
    nics: Optional[tuple[str, ...]] = None
    writeboost: Optional[tuple[str, ...]] = None
    cpu_per_core: bool = False
    counters: str = "rate"
    layout: str = "default"
    protocol: str = "tcp"
    mode: str = "failover"
    buffer_lines: int = 200_000
    backoff_min: float = 0.5
    backoff_max: float = 60.0
    connect_timeout: float = 5.0
    write_timeout: float = 10.0
    flush_timeout: float = 5.0
    command_timeout: float = 5.0
    spool_dir: Optional[str] = None
    spool_max_bytes: int = 256 << 20
    resend_window: Optional[float] = None
    log_level: str = "INFO"
    show: Optional[bool] = None


# -- validators: (value, key) -> converted value, or ConfigError ---------------

def _type_name(v: Any) -> str:
    return "nothing" if v is None else type(v).__name__


def _str(v: Any, key: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(key, f"expected a string, got {_type_name(v)} {v!r}")
    return v


def _nonempty_str(v: Any, key: str) -> str:
    v = _str(v, key).strip()
    if not v:
        raise ConfigError(key, "must not be empty")
    return v


def _list(v: Any, key: str) -> list:
    """A YAML list, or a comma-separated string (as flags give it)."""
    if isinstance(v, str):
        return [p.strip() for p in v.split(",") if p.strip()]
    if isinstance(v, (list, tuple)):
        return list(v)
    raise ConfigError(key, f"expected a list or a comma-separated string, got {_type_name(v)} {v!r}")


def _str_list(v: Any, key: str) -> tuple[str, ...]:
    items = _list(v, key)
    out = tuple(_nonempty_str(x, f"{key}[{i}]") for i, x in enumerate(items))
    if not out:
        raise ConfigError(key, "must name at least one item")
    return out


def _number(lo: float, hi: float, integer: bool = False) -> Callable[[Any, str], Any]:
    kind = "an integer" if integer else "a number"

    def check(v: Any, key: str) -> Any:
        if isinstance(v, str):
            try:
                v = int(v)
            except ValueError:
                try:
                    v = float(v)
                except ValueError:
                    raise ConfigError(key, f"expected {kind} from {lo:g} to {hi:g}, got {v!r}") from None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(key, f"expected {kind} from {lo:g} to {hi:g}, got {_type_name(v)} {v!r}")
        if integer:
            if v != int(v):
                raise ConfigError(key, f"expected {kind} from {lo:g} to {hi:g}, got {v!r}")
            v = int(v)
        if not lo <= v <= hi:
            raise ConfigError(key, f"expected {kind} from {lo:g} to {hi:g}, got {v!r}")
        return v

    return check


def _choice(options: tuple[str, ...], upper: bool = False) -> Callable[[Any, str], str]:
    def check(v: Any, key: str) -> str:
        s = _str(v, key).strip()
        s = s.upper() if upper else s
        if s not in options:
            raise ConfigError(key, f"{v!r} is not one of {', '.join(options)}")
        return s

    return check


def _bool(v: Any, key: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return v.lower() in ("true", "yes", "on", "1")
    raise ConfigError(key, f"expected true or false, got {v!r}")


def _destinations(v: Any, key: str) -> tuple[Destination, ...]:
    items = _list(v, key)
    if not items:
        raise ConfigError(key, "must name at least one HOST:PORT")
    out = []
    for i, item in enumerate(items):
        k = f"{key}[{i}]" if not isinstance(v, str) else key
        try:
            out.append(parse_destination(_str(item, k)))
        except ValueError as exc:
            raise ConfigError(k, f"{exc} (expected HOST:PORT)") from None
    return tuple(out)


def _directory(v: Any, key: str) -> str:
    path = _nonempty_str(v, key)
    if not os.path.isdir(path):
        raise ConfigError(key, f"{path!r} is not a directory")
    return path


def _collectors(v: Any, key: str) -> tuple[str, ...]:
    from carbon_client.collectors import REGISTRY

    names = _str_list(v, key)
    for i, n in enumerate(names):
        if n not in REGISTRY:
            raise ConfigError(
                f"{key}[{i}]" if not isinstance(v, str) else key,
                f"unknown collector {n!r} (known: {', '.join(REGISTRY)})",
            )
    return names


def _spool_dir(v: Any, key: str) -> Optional[str]:
    if v is None:
        return None
    return _nonempty_str(v, key)


VALIDATORS: dict[str, Callable[[Any, str], Any]] = {
    "carbon": _destinations,
    "interval": _number(1, 86400, integer=True),
    "hostname": _nonempty_str,
    "prefix": _str,
    "proc_root": _directory,
    "sys_root": _directory,
    "collectors": _collectors,
    "disks": _str_list,
    "nics": _str_list,
    "writeboost": _str_list,
    "cpu_per_core": _bool,
    "counters": _choice(COUNTERS),
    "layout": _choice(LAYOUTS),
    "protocol": _choice(PROTOCOLS),
    "mode": _choice(MODES),
    "buffer_lines": _number(100, 100_000_000, integer=True),
    "backoff_min": _number(0.01, 3600),
    "backoff_max": _number(0.01, 86400),
    "connect_timeout": _number(0.1, 600),
    "write_timeout": _number(0.1, 600),
    "flush_timeout": _number(0, 3600),
    "command_timeout": _number(0.1, 600),
    "spool_dir": _spool_dir,
    "spool_max_bytes": _number(1 << 20, 1 << 40, integer=True),
    "resend_window": lambda v, key: None if v is None else _number(0, 3600)(v, key),
    "log_level": _choice(LOG_LEVELS, upper=True),
    "show": lambda v, key: None if v is None else _bool(v, key),
}

assert set(VALIDATORS) == {f.name for f in fields(Config)}


def validate(values: dict[str, Any], flags: bool = False) -> dict[str, Any]:
    """Check a mapping of keys to raw values; return converted values.

    With ``flags`` the errors name the command-line flag (``--proc-root``).
    """
    out = {}
    for key, raw in values.items():
        shown = "--" + key.replace("_", "-") if flags else key
        check = VALIDATORS.get(key)
        if check is None:
            close = difflib.get_close_matches(key, VALIDATORS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(VALIDATORS)})"
            raise ConfigError(shown, f"unknown key{hint}")
        out[key] = check(raw, shown)
    return out


def load_file(path: str) -> dict[str, Any]:
    """The validated keys of a YAML config file."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(path, exc.strerror or str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(path, f"not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a mapping of keys to values, got {_type_name(data)}")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"{path}: {bad[0]!r}", "keys must be strings")
    try:
        return validate(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.key}", exc.message) from None


def build(file_values: Optional[dict[str, Any]] = None, flag_values: Optional[dict[str, Any]] = None) -> Config:
    """Defaults < file < flags. Flag values are validated here; file values by load_file."""
    merged: dict[str, Any] = dict(file_values or {})
    flags = {k: v for k, v in (flag_values or {}).items() if v is not None}
    merged.update(validate(flags, flags=True))
    if merged.get("backoff_min", 0.5) > merged.get("backoff_max", 60.0):
        raise ConfigError("backoff_min", "must not exceed backoff_max")
    return replace(Config(), **merged)
