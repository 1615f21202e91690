"""CPU lists of /sys/devices/system/cpu (``online``, ``possible``, ``present``):
``0-3,5,7-8`` (Documentation/ABI/testing/sysfs-devices-system-cpu; lib/bitmap.c
bitmap_print_to_pagebuf's "%*pbl")."""

from __future__ import annotations

from ._common import ParseError, excerpt


def parse_cpu_list(text: str) -> tuple[int, ...]:
    """The CPU ids the list names, in order."""
    line = text.strip()
    out: list[int] = []
    for part in line.split(","):
        first, dash, last = part.partition("-")
        if not (first.isdigit() and first.isascii() and (not dash or (last.isdigit() and last.isascii()))
                and len(part) <= 12):
            raise ParseError(f"cpu list: {excerpt(line)}: expected ranges like '0-3,5'")
        lo = int(first)
        hi = int(last) if dash else lo
        if hi < lo:
            raise ParseError(f"cpu list: {excerpt(line)}: {excerpt(part)} runs backwards")
        out.extend(range(lo, hi + 1))
    return tuple(out)
