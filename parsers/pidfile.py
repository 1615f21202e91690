"""A daemon's pidfile: its process id in decimal on the first line (``1234\\n``)."""

from __future__ import annotations

from ._common import ParseError, excerpt


def parse_pidfile(text: str) -> int:
    """The PID on the first line; blanks around it are allowed, anything else is not."""
    line = text.split("\n", 1)[0].strip()
    if not (line.isascii() and line.isdigit()) or len(line) > 10 or int(line) == 0:
        raise ParseError(f"pidfile: {excerpt(line)}: expected a process id")
    return int(line)
