"""Helpers shared by the parsers."""

from __future__ import annotations

from typing import Callable, Optional

# The C versions of the per-cycle parsers (parsers/_speedups.c), when built.
# They answer None for anything but a kernel's usual text, and the Python
# code below them runs: it alone decides what is an error. Set to None to
# use the Python code only.
try:
    from parsers import _speedups as speedups
except ImportError:  # built without a C compiler
    speedups = None

OnError = Optional[Callable[["ParseError"], None]]


class ParseError(ValueError):
    """Input that does not have the format the kernel documents."""


def uints(source: str, line: str, fields: list[str] | tuple[str, ...]) -> list[int]:
    """Convert decimal fields to ints, rejecting anything int() would bend.

    int() accepts '1_000', ' 7', '+3' and non-ASCII digits; /proc never prints
    those, so they mean the line is not what we think it is.
    """
    joined = "".join(fields)
    if not (joined.isascii() and joined.isdigit()):
        raise ParseError(f"{source}: {line!r}: expected unsigned decimal fields")
    try:
        return list(map(int, fields))
    except ValueError as exc:  # over sys.int_info.str_digits_check_threshold
        raise ParseError(f"{source}: {line!r}: {exc}") from None


def report(on_error: OnError, err: ParseError) -> None:
    """Raise ``err`` unless the caller asked for bad lines to be skipped."""
    if on_error is None:
        raise err
    on_error(err)


def find_line(text: str, head: str) -> Optional[str]:
    """The line of ``text`` that starts with ``head`` (``"MemTotal:"``), or None.

    For files read every cycle whose reader wants a handful of their lines:
    a few C-level finds instead of splitting every line.
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
