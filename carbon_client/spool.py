"""An append-only disk spool for lines Carbon has not taken yet.

The spool is a directory of segment files, ``<sequence>.seg``, each a run of
records::

    b"CCS1" | payload length (u32) | line count (u32) | crc32 of payload (u32) | payload

A payload is whole Carbon lines. Appends are fsync'd, so after a crash every
record the spool acknowledged is intact; a torn last record (power loss in
the middle of a write) fails its length or CRC check and is cut off when the
spool opens. Records are read oldest first and acknowledged after Carbon took
them; a fully acknowledged segment is deleted. Past ``max_bytes`` the oldest
segments are deleted and their lines counted as dropped. What was read but not
acknowledged before a crash is read again on the next start (at least once).
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from typing import Optional

log = logging.getLogger("carbon_client.spool")

MAGIC = b"CCS1"
HEADER = struct.Struct("<4sIII")
SUFFIX = ".seg"


@dataclass
class _Segment:
    seq: int
    path: str
    size: int  # bytes of valid records
    lines: int  # lines in records not yet acknowledged
    records: list  # (offset, length, lines) of every valid record


def scan(path: str) -> tuple[list[tuple[int, int, int]], int, bool]:
    """Valid records of a segment file, the offset after the last one, and whether a torn tail follows."""
    records = []
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off + HEADER.size <= len(data):
        magic, length, lines, crc = HEADER.unpack_from(data, off)
        end = off + HEADER.size + length
        if magic != MAGIC or end > len(data) or zlib.crc32(data[off + HEADER.size:end]) != crc:
            break
        records.append((off, end - off, lines))
        off = end
    return records, off, off != len(data)


class Spool:
    """Thread-safe: one writer (spills) and one reader (the sender) may work at once."""

    def __init__(self, directory: str, max_bytes: int = 256 << 20, segment_bytes: int = 4 << 20) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._write_fd: Optional[int] = None
        self._read_pos = 0  # index into the first segment's records
        self.dropped = 0
        self.torn = 0
        self.opened = False

    # -- opening ------------------------------------------------------------------

    def open(self) -> "Spool":
        """Create the directory and take over what an earlier run left (may raise OSError)."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        names = sorted(n for n in os.listdir(self.directory) if n.endswith(SUFFIX))
        segments = []
        for name in names:
            stem = name[: -len(SUFFIX)]
            if not stem.isdigit():
                continue
            path = os.path.join(self.directory, name)
            records, end, torn = scan(path)
            if torn:
                self.torn += 1
                log.warning("spool: %s ends in a torn record; keeping %d good records", path, len(records))
                with open(path, "r+b") as f:
                    f.truncate(end)
                    os.fsync(f.fileno())
            if not records:
                os.unlink(path)
                continue
            segments.append(_Segment(int(stem), path, end, sum(r[2] for r in records), records))
        with self._lock:
            self._segments = segments
            self._read_pos = 0
            self.opened = True
        if segments:
            log.info("spool: %d lines from an earlier run wait in %s", self.lines, self.directory)
        return self

    # -- state ------------------------------------------------------------------------

    @property
    def lines(self) -> int:
        return sum(s.lines for s in self._segments)

    @property
    def bytes(self) -> int:
        return sum(s.size for s in self._segments)

    def __bool__(self) -> bool:
        return bool(self._segments)

    # -- writing -------------------------------------------------------------------------

    def append(self, batches: list[tuple[bytes, int]]) -> None:
        """Append batches as records and fsync. Raises OSError (ENOSPC, EACCES...)."""
        if not batches:
            return
        if not self.opened:
            self.open()  # it failed at start (unwritable directory); try again
        buf = bytearray()
        lines = 0
        records = []
        for data, n in batches:
            records.append((len(buf), HEADER.size + len(data), n))
            buf += HEADER.pack(MAGIC, len(data), n, zlib.crc32(data))
            buf += data
            lines += n
        with self._lock:
            seg = self._segments[-1] if self._segments else None
            if seg is None or self._write_fd is None or seg.size >= self.segment_bytes:
                seg = self._new_segment()
            start = seg.size
            try:
                os.write(self._write_fd, bytes(buf))
                os.fsync(self._write_fd)
            except OSError:
                # Leave no half record behind for the next append to follow.
                try:
                    os.ftruncate(self._write_fd, start)
                except OSError:
                    pass
                raise
            seg.records.extend((start + off, length, n) for off, length, n in records)
            seg.size += len(buf)
            seg.lines += lines
            self._enforce_limit()

    def _new_segment(self) -> _Segment:
        if self._write_fd is not None:
            os.close(self._write_fd)
            self._write_fd = None
        seq = self._segments[-1].seq + 1 if self._segments else 1
        path = os.path.join(self.directory, f"{seq:020d}{SUFFIX}")
        self._write_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        dfd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)  # the new name survives a crash too
        finally:
            os.close(dfd)
        seg = _Segment(seq, path, 0, 0, [])
        self._segments.append(seg)
        return seg

    def _enforce_limit(self) -> None:
        """Drop the oldest segments while over max_bytes (lock held)."""
        while len(self._segments) > 1 and self.bytes > self.max_bytes:
            old = self._segments.pop(0)
            self.dropped += old.lines  # acknowledged lines were already subtracted
            self._read_pos = 0
            log.warning("spool over %d bytes: dropped %d oldest lines", self.max_bytes, old.lines)
            self._unlink(old.path)

    # -- reading --------------------------------------------------------------------------

    def peek(self, max_bytes: int) -> tuple[list[tuple[bytes, int]], Optional[tuple[int, int]]]:
        """The oldest unacknowledged records, up to about ``max_bytes``, and a token for :meth:`ack`."""
        with self._lock:
            if not self._segments:
                return [], None
            seg = self._segments[0]
            todo = seg.records[self._read_pos:]
            if not todo:
                return [], None
            with open(seg.path, "rb") as f:
                first = todo[0][0]
                taken, size = [], 0
                for off, length, _n in todo:
                    if taken and size + length > max_bytes:
                        break
                    taken.append((off, length, _n))
                    size += length
                f.seek(first)
                blob = f.read(size)
        out = []
        pos = 0
        for _off, length, n in taken:
            out.append((blob[pos + HEADER.size: pos + length], n))
            pos += length
        return out, (seg.seq, self._read_pos + len(taken))

    def ack(self, token: Optional[tuple[int, int]]) -> None:
        """The records ``peek`` returned were delivered."""
        if token is None:
            return
        seq, upto = token
        with self._lock:
            if not self._segments or self._segments[0].seq != seq:
                return  # dropped meanwhile by the size limit
            seg = self._segments[0]
            seg.lines -= sum(r[2] for r in seg.records[self._read_pos:upto])
            self._read_pos = upto
            if upto < len(seg.records):
                return
            self._segments.pop(0)
            self._read_pos = 0
            if not self._segments and self._write_fd is not None:
                os.close(self._write_fd)  # it was the segment being written
                self._write_fd = None
            self._unlink(seg.path)

    def _unlink(self, path: str) -> None:
        try:
            os.unlink(path)
        except OSError as exc:
            log.warning("spool: cannot remove %s: %s", path, exc)

    def close(self) -> None:
        with self._lock:
            if self._write_fd is not None:
                os.close(self._write_fd)
                self._write_fd = None
