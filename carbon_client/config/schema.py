"""Mappings of keys declared on frozen dataclasses, validated with key paths.

A key is a dataclass field made with ``setting(default, check)``; ``record(cls)``
turns such a class into a validator for a YAML mapping, so a list of them is
``each(record(Probe))`` and an error names ``probes[2].timeout``::

    @dataclass(frozen=True)
    class Probe:
        url: str = setting(check=text)                  # no default: required
        timeout: float = setting(5.0, duration(0.1, 600))

``Config`` itself is declared the same way (keys.py).
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable, Mapping, Optional

from carbon_client.config.errors import ConfigError, got, member
from carbon_client.config.values import Check

_MISSING = dataclasses.MISSING


def setting(default: Any = _MISSING, check: Optional[Check] = None, *,
            default_factory: Any = _MISSING) -> Any:
    """A dataclass field that is also a config key validated by ``check``."""
    if check is None:
        raise TypeError("setting() needs a check")
    return dataclasses.field(default=default, default_factory=default_factory, metadata={"check": check})


def checks_of(cls: type) -> dict[str, Check]:
    """Key name -> validator of a dataclass declared with ``setting``."""
    return {f.name: f.metadata["check"] for f in dataclasses.fields(cls) if "check" in f.metadata}


def required_of(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)
            if f.default is _MISSING and f.default_factory is _MISSING]


def unknown_key(name: Any, known: Mapping[str, Any]) -> str:
    """The message for a key that is not in ``known``, with the closest match if one is close."""
    if isinstance(name, str) and len(name) <= 64:
        close = difflib.get_close_matches(name, list(known), n=1)
        if close:
            return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key (allowed: {', '.join(known)})"


def key_check(name: Any, key: str, checks: Mapping[str, Check]) -> Check:
    """The validator of key ``name`` (shown as ``key``), or ConfigError if it is not a known key."""
    if not isinstance(name, str):
        raise ConfigError(key, f"keys must be strings, got {got(name)}")
    check = checks.get(name)
    if check is None:
        raise ConfigError(key, unknown_key(name, checks))
    return check


def check_mapping(v: Any, key: str, checks: Mapping[str, Check],
                  shown: Optional[Callable[[str], str]] = None) -> dict[str, Any]:
    """Validate each key of mapping ``v``; returns the converted values of the keys present.

    Errors name ``key.name`` (``shown(name)`` instead when given: flags).
    """
    if not isinstance(v, Mapping):
        raise ConfigError(key or "config", f"expected a mapping of keys to values, got {got(v)}")
    out = {}
    for name, raw in v.items():
        k = shown(name) if shown is not None else member(key, name)
        out[name] = key_check(name, k, checks)(raw, k)
    return out


def record(cls: type, check_together: Optional[Callable[[Any, str], None]] = None) -> Check:
    """A validator turning a mapping into ``cls``: unknown keys refused, required keys demanded.

    ``check_together(instance, key)`` may refuse combinations of keys.
    """
    checks = checks_of(cls)
    required = required_of(cls)

    def check(v: Any, key: str) -> Any:
        values = check_mapping(v, key, checks)
        for name in required:
            if name not in values:
                raise ConfigError(member(key, name), "is required")
        out = cls(**values)
        if check_together is not None:
            check_together(out, key)
        return out

    return check
