"""The spool's on-disk format: framed records a reader can resynchronise on.

A segment file begins with a file header, then records, all little-endian::

    file header: b"\\x89CCSPOOL" | version u32 (2) | crc32 of the 12 bytes before
    record:      b"\\x89rec" | payload length u32 | line count u32 | crc32 of payload u32
                 | crc32 of the 16 header bytes before u32 | payload

A payload is whole Carbon lines (ASCII), so the magic's 0x89 never occurs in
one. A reader trusts a record only when both checksums hold. A record whose
header holds but whose payload does not is skipped by its length and its line
count is lost; a damaged header sends the reader to the next record magic
whose header holds, and the lines (newlines) in the skipped payload are lost.
Either way only the damaged record is lost. A torn tail (power lost in the
middle of a write) is the same case at the end of the file. A record of no
lines is a tombstone: a damaged record whose loss was counted already, so
that a later reader skips it without counting it again.
"""

from __future__ import annotations

import struct
import zlib
from typing import Iterable

from carbon_client.sender.cut import cut

FILE_MAGIC = b"\x89CCSPOOL"
VERSION = 2
_FILE_FIELDS = struct.Struct("<8sI")
FILE_HEADER_SIZE = _FILE_FIELDS.size + 4
FILE_HEADER = _FILE_FIELDS.pack(FILE_MAGIC, VERSION)
FILE_HEADER += struct.pack("<I", zlib.crc32(FILE_HEADER))

MAGIC = b"\x89rec"
_FIELDS = struct.Struct("<4sIII")
HEADER = struct.Struct("<4sIIII")


def file_version(head: bytes) -> int | None:
    """The version a file header declares, or None when it is not an intact header of ours."""
    if len(head) < FILE_HEADER_SIZE:
        return None
    magic, version = _FILE_FIELDS.unpack_from(head)
    (crc,) = struct.unpack_from("<I", head, _FILE_FIELDS.size)
    if magic != FILE_MAGIC or zlib.crc32(head[:_FILE_FIELDS.size]) != crc:
        return None
    return version


def record(payload: bytes, lines: int) -> bytes:
    fields = _FIELDS.pack(MAGIC, len(payload), lines, zlib.crc32(payload))
    return fields + struct.pack("<I", zlib.crc32(fields)) + payload


def tombstone(length: int) -> bytes:
    """A header to write over a damaged record of ``length`` payload bytes."""
    fields = _FIELDS.pack(MAGIC, length, 0, 0)
    return fields + struct.pack("<I", zlib.crc32(fields))


def encode(batches: Iterable[tuple[bytes, int]], max_payload: int) -> list[tuple[bytes, int]]:
    """Records for ``batches``: (record bytes, lines), payloads of at most ``max_payload`` bytes."""
    out = []
    for data, lines in batches:
        if len(data) <= max_payload:
            out.append((record(data, lines), lines))
            continue
        for piece in cut(data, max_payload):
            n = piece.count(b"\n")
            out.append((record(piece, n), n))
    return out


def header_at(data: bytes | memoryview, pos: int) -> tuple[int, int, int] | None:
    """(payload length, lines, payload crc) of an intact record header at ``pos``, else None."""
    if pos + HEADER.size > len(data):
        return None
    magic, length, lines, pcrc, hcrc = HEADER.unpack_from(data, pos)
    if magic != MAGIC or zlib.crc32(data[pos:pos + _FIELDS.size]) != hcrc:
        return None
    return length, lines, pcrc


def payload(data: bytes, pos: int, size: int) -> bytes | None:
    """The payload of the record of ``size`` bytes at ``pos`` when both its checksums hold."""
    head = header_at(data, pos)
    if head is None or HEADER.size + head[0] != size or pos + size > len(data):
        return None
    body = data[pos + HEADER.size:pos + size]
    return body if head[1] and zlib.crc32(body) == head[2] else None


def scan(data: bytes, pos: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """From ``pos``: the intact records as (offset, size, lines), and the damaged stretches
    as (offset, end, lines lost)."""
    view = memoryview(data)
    records, damage = [], []
    end = len(data)
    while pos < end:
        head = header_at(view, pos)
        if head is not None:
            length, lines, pcrc = head
            stop = pos + HEADER.size + length
            if lines and stop <= end and zlib.crc32(view[pos + HEADER.size:stop]) == pcrc:
                records.append((pos, stop - pos, lines))
            elif lines:
                damage.append((pos, min(stop, end), lines))
            pos = stop
            continue
        nxt = data.find(MAGIC, pos + 1)
        while nxt >= 0 and header_at(view, nxt) is None:
            nxt = data.find(MAGIC, nxt + 1)
        nxt = end if nxt < 0 else nxt
        damage.append((pos, nxt, data.count(b"\n", pos + HEADER.size, nxt)))
        pos = nxt
    return records, damage
