"""/proc/vmstat: ``name value`` per line (mm/vmstat.c vmstat_show)."""

from __future__ import annotations

from typing import Collection, Optional

from parsers._common import ParseError


def _bad_line(text: str) -> str:
    for line in text.splitlines():
        f = line.split()
        if f and (len(f) != 2 or not f[0].isidentifier() or not f[1].lstrip("-").isdigit()
                  or not f[1].isascii()):
            return line
    return text


def _value(name: str, line: str) -> int:
    v = line[len(name) + 1:]
    digits = v[1:] if v[:1] == "-" else v
    if not (digits.isascii() and digits.isdigit()):
        raise ParseError(f"vmstat: {line!r}: expected 'name value'")
    return int(v)


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
            if text.startswith(name + " "):
                at = 0
            else:
                at = text.find("\n" + name + " ")
                if at < 0:
                    continue
                at += 1
            end = text.find("\n", at)
            line = text[at:end] if end >= 0 else text[at:]
            out[name] = _value(name, line.rstrip())
        return out
    toks = text.split()
    if not toks:
        raise ParseError("vmstat: empty")
    names, values = toks[0::2], toks[1::2]
    lines = sum(1 for ln in text.splitlines() if ln.strip())
    digits = "".join(values).replace("-", "")
    if (
        len(names) != len(values)
        or len(names) != lines
        or not all(map(str.isidentifier, names))
        or not (digits.isascii() and digits.isdigit())
    ):
        raise ParseError(f"vmstat: {_bad_line(text)!r}: expected 'name value' lines")
    try:
        return dict(zip(names, map(int, values)))
    except ValueError:
        raise ParseError(f"vmstat: {_bad_line(text)!r}: expected 'name value' lines") from None
