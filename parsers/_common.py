"""Helpers shared by the parsers."""

from __future__ import annotations

import re
from typing import Callable, Optional

OnError = Optional[Callable[["ParseError"], None]]

# Longest piece of input quoted in an error: a 10 MB line must not become a 10 MB log line.
EXCERPT = 120


class ParseError(ValueError):
    """Input that does not have the format the kernel documents."""


def excerpt(text: str) -> str:
    """``repr(text)``, cut to :data:`EXCERPT` characters with how much was left out."""
    if len(text) <= EXCERPT:
        return repr(text)
    return f"{text[:EXCERPT]!r}... ({len(text)} characters)"


def uints(source: str, line: str, fields: list[str] | tuple[str, ...]) -> list[int]:
    """Convert decimal fields to ints, rejecting anything int() would bend.

    int() accepts '1_000', ' 7', '+3' and non-ASCII digits; /proc never prints
    those, so they mean the line is not what we think it is.
    """
    joined = "".join(fields)
    if not (joined.isascii() and joined.isdigit()):
        raise ParseError(f"{source}: {excerpt(line)}: expected unsigned decimal fields")
    try:
        return list(map(int, fields))
    except ValueError as exc:  # over sys.int_info.str_digits_check_threshold
        raise ParseError(f"{source}: {excerpt(line)}: {exc}") from None


def decimal(v: str) -> Optional[int]:
    """``v`` as an int when it is a plain decimal, signed or not, as /proc prints them;
    None for anything else int() would bend ('1_000', ' 7', '+3', non-ASCII digits) or
    refuse (beyond its digit limit)."""
    digits = v[1:] if v[:1] == "-" else v
    if digits.isascii() and digits.isdigit():
        try:
            return int(v)
        except ValueError:  # beyond int()'s digit limit
            return None
    return None


def report(on_error: OnError, err: ParseError) -> None:
    """Raise ``err`` unless the caller asked for bad lines to be skipped."""
    if on_error is None:
        raise err
    on_error(err)


def find_line(text: str, head: str) -> Optional[str]:
    """The line of ``text`` that starts with ``head`` (``"MemTotal:"``), or None.

    For files whose reader wants a handful of their lines (meminfo, vmstat).
    """
    if text.startswith(head):
        at = 0
    else:
        at = text.find("\n" + head)
        if at < 0:
            return None
        at += 1
    end = text.find("\n", at)
    return text[at:end] if end >= 0 else text[at:]


# The kernel escapes space, tab, newline and backslash in device names and mount
# points as \ooo (fs/proc_namespace.c mangle()).
_OCTAL = re.compile(r"\\([0-7]{3})")


def unmangle(field: str) -> str:
    """A device name or mount point as the kernel printed it, with its \\ooo escapes undone."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field) if "\\" in field else field
