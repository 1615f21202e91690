"""Validators: ``check(value, key) -> converted value``, or ConfigError naming ``key``.

Each takes what YAML gives (str, int, float, bool, list, dict, None) or what a
flag gives (a string, a list of strings for repeated flags) and returns the
value the agent uses. Numbers must be finite; strings carry no control
characters; durations read ``10s``, ``1m30s``, ``500ms`` or a number of seconds.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Callable, Optional, Sequence, Union

from carbon_client.config.errors import ConfigError, got, item, member, quote, unsafe

Check = Callable[[Any, str], Any]
Number = Union[int, float]

# Longer strings are not numbers or durations (and int() of 5000 digits is an error of its own).
_MAX_NUMBER_TEXT = 64
_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(ms|d|h|m|s)", re.ASCII)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": Fraction(1, 1000)}
_UNIT_ORDER = tuple(_UNITS)
DURATION_EXAMPLES = "10s, 1m30s, 500ms, 1h, or a number of seconds"


# -- strings --------------------------------------------------------------------


def string(*, max_len: int = 4096, spaces: bool = True, empty: bool = False) -> Check:
    """Text without control characters, stripped; ``spaces=False`` refuses any whitespace."""

    def check(v: Any, key: str) -> str:
        if not isinstance(v, str):
            hint = " (put it in quotes)" if isinstance(v, (int, float)) else ""
            raise ConfigError(key, f"expected a string, got {got(v)}{hint}")
        s = v.strip()
        if not s and not empty:
            raise ConfigError(key, "must not be empty")
        if len(s) > max_len:
            raise ConfigError(key, f"{quote(s)}: longer than {max_len} characters")
        if any(unsafe(c) for c in s):
            raise ConfigError(key, f"{quote(s)}: control characters and line breaks are not allowed")
        if not spaces and any(c.isspace() for c in s):
            raise ConfigError(key, f"{quote(s)}: whitespace is not allowed")
        return s

    return check


text = string()
"""Any one-line text (paths): no control characters, not empty."""
name = string(max_len=255, spaces=False)
"""A name or glob (device, NIC, collector): no whitespace, at most 255 characters."""


def choice(options: Sequence[str], upper: bool = False) -> Check:
    word = string(max_len=64, spaces=False)

    def check(v: Any, key: str) -> str:
        s = word(v, key)
        s = s.upper() if upper else s
        if s not in options:
            raise ConfigError(key, f"{quote(v)} is not one of {', '.join(options)}")
        return s

    return check


def boolean(v: Any, key: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return v.strip().lower() in ("true", "yes", "on", "1")
    raise ConfigError(key, f"expected true or false, got {got(v)}")


def optional(check: Check) -> Check:
    """``null`` (YAML) or None stays None; anything else goes to ``check``."""
    return lambda v, key: None if v is None else check(v, key)


# -- lists ----------------------------------------------------------------------


def each(check: Check, *, at_least: int = 0, commas: bool = False) -> Check:
    """A list whose items pass ``check``, each named ``key[i]`` in errors.

    With ``commas`` a string is a comma-separated list (as flags give it);
    its items are named by the key alone.
    """

    def run(v: Any, key: str) -> tuple:
        if commas and isinstance(v, str):
            items = [p.strip() for p in v.split(",") if p.strip()]
            keys = [key] * len(items)
        elif isinstance(v, (list, tuple)):
            items = list(v)
            keys = [item(key, i) for i in range(len(items))]
        else:
            also = " or a comma-separated string" if commas else ""
            raise ConfigError(key, f"expected a list{also}, got {got(v)}")
        if len(items) < at_least:
            raise ConfigError(key, "must name at least one item" if at_least == 1
                              else f"must name at least {at_least} items")
        return tuple(check(x, k) for x, k in zip(items, keys))

    return run


def mapping(keys: Check, values: Check) -> Check:
    """A mapping whose keys pass ``keys`` and values ``values``, each named ``key.name``."""

    def run(v: Any, key: str) -> dict:
        if not isinstance(v, dict):
            raise ConfigError(key, f"expected a mapping, got {got(v)}")
        out = {}
        for k, x in v.items():
            at = member(key, k)
            out[keys(k, at)] = values(x, at)
        return out

    return run


# -- numbers and durations ---------------------------------------------------------


def _fmt(x: Number) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def to_number(v: Any) -> Optional[Number]:
    """An int or float from a YAML number or a numeric string; None for anything else."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        s = v.strip()
        if len(s) <= _MAX_NUMBER_TEXT:
            if _INT.fullmatch(s):
                return int(s)
            if _FLOAT.fullmatch(s):
                return float(s)
    return None


def parse_duration(v: Any) -> Optional[Number]:
    """Seconds from ``10s``, ``1m30s``, ``1.5h``, ``500ms``, ``1d`` or a plain number; None if neither.

    Units go from the largest to the smallest, each at most once.
    """
    n = to_number(v)
    if n is not None or not isinstance(v, str):
        return n
    s = v.strip()
    if not s or len(s) > _MAX_NUMBER_TEXT:
        return None
    total, pos, last = Fraction(0), 0, -1
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            return None
        rank = _UNIT_ORDER.index(m.group(2))
        if rank <= last:
            return None
        total += Fraction(m.group(1)) * _UNITS[m.group(2)]
        pos, last = m.end(), rank
    if pos != len(s):
        return None
    return int(total) if total.denominator == 1 else float(total)


def format_duration(seconds: Number) -> str:
    """The shortest duration text: 86400 -> '1d', 90 -> '1m30s', 0.5 -> '500ms'."""
    if seconds == 0:
        return "0s"
    ms = round(Fraction(seconds) * 1000)
    out = []
    for unit in _UNIT_ORDER:
        size = round(_UNITS[unit] * 1000)
        count, ms = divmod(ms, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def number(lo: Number, hi: Number, *, integer: bool = False) -> Check:
    """A finite number from ``lo`` to ``hi`` (YAML number or numeric string)."""
    expect = f"expected {'an integer' if integer else 'a number'} from {_fmt(lo)} to {_fmt(hi)}"
    return _ranged(to_number, expect, lo, hi, integer)


def duration(lo: Number, hi: Number, *, whole: bool = False) -> Check:
    """Seconds from ``lo`` to ``hi``, as a duration (``1m30s``) or a number; ``whole``: an int."""
    span = f"from {format_duration(lo)} to {format_duration(hi)}"
    expect = (f"expected a whole number of seconds {span} (10, 10s, 1m, 1h30m)" if whole
              else f"expected a duration {span} ({DURATION_EXAMPLES})")
    return _ranged(parse_duration, expect, lo, hi, whole)


def _ranged(convert: Callable[[Any], Optional[Number]], expect: str, lo: Number, hi: Number,
            integer: bool) -> Check:
    def check(v: Any, key: str) -> Number:
        n = convert(v)
        shown = quote(v) if isinstance(v, (str, int, float)) and not isinstance(v, bool) else got(v)
        if n is None:
            raise ConfigError(key, f"{expect}, got {shown}")
        if isinstance(n, float) and not math.isfinite(n):
            raise ConfigError(key, f"{expect}, got {shown} (not a finite number)")
        if integer:
            if n != int(n):
                raise ConfigError(key, f"{expect}, got {shown} (not a whole number)")
            n = int(n)
        if not lo <= n <= hi:
            raise ConfigError(key, f"{expect}, got {shown}")
        return n

    return check
