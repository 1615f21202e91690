"""/proc/meminfo and the ``Key: value [kB]`` family (proc(5), Documentation/filesystems/proc.rst)."""

from __future__ import annotations

import re
from typing import Collection, Optional

from ._common import excerpt, ParseError, find_line

_LINE = re.compile(r"^([^:\s]+):[ \t]*([0-9]+)(?:[ \t]+(kB))?[ \t]*$", re.M | re.A)


def _lookup(text: str, keys: Collection[str]) -> dict[str, int]:
    out = {}
    for key in keys:
        line = find_line(text, key + ":")
        if line is None:
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            raise ParseError(f"meminfo: {excerpt(line)}: expected 'Key: value [kB]'")
        try:
            out[key] = int(m.group(2)) * 1024 if m.group(3) else int(m.group(2))
        except ValueError as exc:
            raise ParseError(f"meminfo: {excerpt(line)}: {exc}") from None
    return out


def parse_meminfo(text: str, keys: Optional[Collection[str]] = None) -> dict[str, int]:
    """Every ``Key: value [kB]`` line, kB converted to bytes.

    Keys are kept as the kernel prints them (``MemTotal``, ``Active(anon)``);
    lines without a unit (``HugePages_Total``) are counts. Which keys exist
    depends on the kernel (MemAvailable is 3.14+), so the record is a dict.
    With ``keys``, only those lines are looked up and checked (the file has
    some 55 lines and the agent wants 15 of them); keys the kernel does not
    print are absent.
    """
    if keys is not None:
        if not text.strip():
            raise ParseError("meminfo: empty")
        return _lookup(text, keys)
    found = _LINE.findall(text)
    nonblank = [ln for ln in text.splitlines() if ln.strip()]
    if len(found) != len(nonblank):
        good = {m.group(0) for m in _LINE.finditer(text)}
        bad = next(ln for ln in nonblank if ln not in good)
        raise ParseError(f"meminfo: {excerpt(bad)}: expected 'Key: value [kB]'")
    if not found:
        raise ParseError("meminfo: empty")
    try:
        return {k: int(v) * 1024 if unit else int(v) for k, v, unit in found}
    except ValueError as exc:  # beyond int()'s digit limit: the longest value is one
        bad = max(_LINE.finditer(text), key=lambda m: len(m.group(2))).group(0)
        raise ParseError(f"meminfo: {excerpt(bad)}: {exc}") from None
