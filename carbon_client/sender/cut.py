"""Cutting Carbon plaintext into pieces without tearing a line."""

from __future__ import annotations

from typing import Iterator


def cut(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` (whole lines) in pieces of at most ``size`` bytes, cut at line ends; a longer line stays whole."""
    start, end = 0, len(data)
    while end - start > size:
        stop = data.rfind(b"\n", start, start + size) + 1
        if stop <= start:
            stop = data.index(b"\n", start) + 1
        yield data[start:stop]
        start = stop
    if start < end:
        yield data[start:]
