"""/proc/vmstat: ``name value`` per line (mm/vmstat.c vmstat_show)."""

from __future__ import annotations

from typing import Collection, Optional

from ._common import ParseError, decimal, excerpt, find_line


def _int(line: str, v: str) -> int:
    n = decimal(v)
    if n is None:
        raise ParseError(f"vmstat: {excerpt(line)}: expected 'name value'")
    return n


def _bad_line(text: str) -> str:
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if len(f) != 2 or " " not in line.strip() or not f[0].isidentifier():
            return line
        try:
            _int(line, f[1])
        except ParseError:
            return line
    return text


def _value(name: str, line: str) -> int:
    return _int(line, line[len(name) + 1:])


def parse_vmstat(text: str, keys: Optional[Collection[str]] = None) -> dict[str, int]:
    """Counters by kernel name (``pgpgin``, ``pswpout``, ``pgmajfault``...).

    Some entries are signed (``nr_*`` gauges can dip below zero transiently on
    SMP), so a leading '-' is accepted. With ``keys``, only those lines are
    looked up (the file has some 190 lines and a collector wants a handful);
    keys the kernel does not print are absent from the result. Without, the
    whole file is checked: as many lines as pairs, names that are
    identifiers, values that are ASCII decimals.
    """
    if keys is not None:
        out = {}
        for name in keys:
            line = find_line(text, name + " ")
            if line is not None:
                out[name] = _value(name, line.rstrip())
        return out
    toks = text.split()
    if not toks:
        raise ParseError("vmstat: empty")
    names, values = toks[0::2], toks[1::2]
    # A line holding a space has at least 2 tokens, any other non-blank line
    # at least 1: with twice as many tokens as lines holding a space, every
    # non-blank line is one name and one value (vmstat_show: name, space, value).
    lines = sum(1 for ln in text.splitlines() if " " in ln.strip())
    digits = "".join(values).replace("-", "")
    if (
        len(names) != len(values)
        or len(names) != lines
        or not all(map(str.isidentifier, names))
        or not (digits.isascii() and digits.isdigit())
    ):
        raise ParseError(f"vmstat: {excerpt(_bad_line(text))}: expected 'name value' lines")
    try:
        return dict(zip(names, map(int, values)))
    except ValueError:
        raise ParseError(f"vmstat: {excerpt(_bad_line(text))}: expected 'name value' lines") from None
