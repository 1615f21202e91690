"""/proc/meminfo and the ``Key: value [kB]`` family (proc(5), Documentation/filesystems/proc.rst)."""

from __future__ import annotations

from typing import Container, Optional

from ._common import ParseError, excerpt


def parse_meminfo(text: str, keys: Optional[Container[str]] = None) -> dict[str, int]:
    """Every ``Key: value [kB]`` line (or only those of ``keys``), kB converted to bytes.

    Keys are kept as the kernel prints them (``MemTotal``, ``Active(anon)``);
    lines without a unit (``HugePages_Total``) are counts. Which keys exist
    depends on the kernel (MemAvailable is 3.14+), so the record is a dict
    and keys the kernel does not print are absent. With ``keys`` only their
    lines are checked (the file has some 55 lines and the agent wants 15).
    """
    if not text.strip():
        raise ParseError("meminfo: empty")
    out = {}
    for line in text.split("\n"):
        key, sep, rest = line.partition(":")
        if keys is not None and key not in keys:
            continue
        if not line.strip():
            continue
        f = rest.split()
        value = f[0] if f else ""
        if (not sep or not key or len(key.split()) != 1 or key != key.strip() or len(f) > 2 or (len(f) == 2 and f[1] != "kB")
                or not (value.isascii() and value.isdigit())):
            raise ParseError(f"meminfo: {excerpt(line)}: expected 'Key: value [kB]'")
        try:
            out[key] = int(value) * 1024 if len(f) == 2 else int(value)
        except ValueError as exc:  # beyond int()'s digit limit
            raise ParseError(f"meminfo: {excerpt(line)}: {exc}") from None
    return out
