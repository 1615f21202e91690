"""ConfigError and how a key path and a value are shown in it.

A message is one line of bounded length whatever the file holds: values are
quoted with ``quote`` (at most ``QUOTE_MAX`` characters, nested containers cut
short), and key names that are not plain identifiers are quoted too, so a key
or value with a newline cannot forge a second log line.
"""

from __future__ import annotations

import re
import reprlib
import unicodedata
from typing import Any

QUOTE_MAX = 80
KEY_MAX = 320
MESSAGE_MAX = 600

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxstring = QUOTE_MAX
_repr.maxother = QUOTE_MAX
for _attr in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset"):
    setattr(_repr, _attr, 6)


class ConfigError(ValueError):
    """A user's mistake: ``key`` is where (``FILE: carbon[1]``, ``--interval``), ``message`` what."""

    def __init__(self, key: str, message: str) -> None:
        key, message = shorten(one_line(key), KEY_MAX), shorten(one_line(message), MESSAGE_MAX)
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def one_line(text: str) -> str:
    """``text`` with control and line-separator characters escaped."""
    if not any(unsafe(c) for c in text):
        return text
    return "".join(c.encode("unicode_escape").decode("ascii") if unsafe(c) else c for c in text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut in the middle to at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    head = (limit - 3) * 2 // 3
    return text[:head] + "..." + text[len(text) - (limit - 3 - head):]


def unsafe(c: str) -> bool:
    """A control character (C0, DEL, C1) or a line/paragraph separator."""
    return unicodedata.category(c) in ("Cc", "Zl", "Zp")


def quote(value: Any) -> str:
    """``repr(value)``, bounded: at most QUOTE_MAX characters, ending in '...' when cut."""
    try:
        text = _repr.repr(value)
    except ValueError:  # an int of more than 4300 digits
        return f"<{type_name(value)} too long to show>"
    return text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 3] + "..."


def type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def got(value: Any) -> str:
    """``str 'x'``, ``list [1, 2]``, ``nothing``: what a message says it found."""
    return "nothing" if value is None else f"{type_name(value)} {quote(value)}"


def key_name(name: Any) -> str:
    """A mapping key as shown in a key path: plain names as they are, anything else quoted."""
    return name if isinstance(name, str) and _PLAIN_KEY.fullmatch(name) else quote(name)


def member(parent: str, name: Any) -> str:
    """The key path of ``name`` inside the mapping at ``parent`` (``probes[2].timeout``)."""
    return key_name(name) if not parent else f"{parent}.{key_name(name)}"


def item(parent: str, index: int) -> str:
    """The key path of a list item: ``carbon[1]``; a flag (``--carbon``) keeps its name."""
    return parent if parent.startswith("--") else f"{parent}[{index}]"


def flag_name(key: str) -> str:
    return "--" + key.replace("_", "-")
