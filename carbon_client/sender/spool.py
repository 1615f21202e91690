"""An append-only disk spool for lines Carbon has not taken yet.

A directory of segment files, ``<sequence>.seg``, of framed records
(records.py), and a ``lock`` file: one agent per directory (flock), a second
one is refused. Appends are all or nothing: one write of whole records at the
tracked end of the segment, then fdatasync; a short or failed write is cut
off again and raises, so no half record is ever followed by another. Records
are read oldest first and acknowledged once Carbon took them; a fully
acknowledged segment is deleted.

Loss is counted, by reason, never silent: the oldest segments deleted to stay
under ``max_bytes`` (segments are at most an eighth of it, so any limit from
64 KiB up is kept), damaged records (a checksum fails: only that record),
and segments removed from disk behind the agent's back (the directory is
created again). A segment in a format this version does not read is renamed
``*.unknown`` and left alone.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from carbon_client.sender import records as rec

log = logging.getLogger("carbon_client.spool")

SUFFIX = ".seg"
ASIDE = ".unknown"
LOCK = "lock"
MIN_SEGMENT = 4096
MAX_SEGMENT = 4 << 20

# Why spooled lines were lost (the keys of Spool.drops).
OVER_LIMIT = "spool over spool_max_bytes"
DAMAGED = "damaged spool records"
REMOVED = "spool files removed"


class SpoolBusy(OSError):
    """Another agent holds the spool directory."""


@dataclass
class _Segment:
    seq: int
    path: str
    size: int  # bytes of the file: what counts toward max_bytes
    records: list = field(default_factory=list)  # (offset, size, lines) of intact records
    lines: int = 0  # lines in records not yet acknowledged


class Spool:
    """Thread-safe: one writer (spills) and one reader (the sender) may work at once."""

    def __init__(self, directory: str, max_bytes: int = 256 << 20) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = max(MIN_SEGMENT, min(MAX_SEGMENT, max_bytes // 8))
        self.drops: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._read_pos = 0  # index into the first segment's records
        self._write_fd: Optional[int] = None  # the last segment's, while it takes appends
        self._lock_fd: Optional[int] = None
        self._closed = False

    # -- opening ----------------------------------------------------------------------

    def open(self) -> "Spool":
        """Lock the directory and take over what an earlier run left.

        Raises SpoolBusy when another agent holds it, OSError when it is unusable
        (appends try again)."""
        with self._lock:
            self._open()
        if self._segments:
            log.info("spool: %d lines from an earlier run wait in %s", self.lines, self.directory)
        return self

    def _open(self) -> None:
        self._take_lock()
        segments = []
        for name in sorted(os.listdir(self.directory)):
            stem = name[: -len(SUFFIX)]
            if name.endswith(SUFFIX) and stem.isdigit():
                seg = self._load(os.path.join(self.directory, name), int(stem))
                if seg is not None:
                    segments.append(seg)
        self._segments = segments
        self._read_pos = 0
        while self._segments and self.bytes > self.max_bytes:  # the limit was lowered
            self._drop_oldest()

    def _take_lock(self) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.directory, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise SpoolBusy(errno.EWOULDBLOCK, f"spool directory {self.directory} is in use by another "
                            f"carbon-client{f' (pid {holder})' if holder else ''}") from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _load(self, path: str, seq: int) -> Optional[_Segment]:
        with open(path, "rb") as f:
            data = f.read()
        version = rec.file_version(data)
        found, damage = rec.scan(data, rec.FILE_HEADER_SIZE) if version in (None, rec.VERSION) else ([], [])
        if version is None and not found and not rec.FILE_HEADER.startswith(data):
            version = -1  # not ours: no intact header, no record this version reads
        if version not in (None, rec.VERSION):
            self._set_aside(path, version)
            return None
        size = self._bury(path, damage, len(data))
        if not found:
            self._unlink(path)
            return None
        return _Segment(seq, path, size, found, sum(r[2] for r in found))

    def _bury(self, path: str, damage: list[tuple[int, int, int]], size: int) -> int:
        """Count damaged stretches lost and mark them so (a tombstone over each, the file cut
        before a damaged tail) that no later reader counts them again; the file's new size."""
        lost = sum(n for _, _, n in damage)
        if not damage:
            return size
        self.drops[DAMAGED] += lost
        log.warning("spool: %s: %d damaged records skipped, %d lines lost", path, len(damage), lost)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            log.warning("spool: cannot mark the damaged records of %s: %s", path, exc)
            return size
        try:
            for pos, end, _ in sorted(damage, reverse=True):
                if end >= size:
                    os.ftruncate(fd, pos)
                    size = pos
                elif end - pos >= rec.HEADER.size:
                    os.pwrite(fd, rec.tombstone(end - pos - rec.HEADER.size), pos)
            os.fdatasync(fd)
        except OSError as exc:
            log.warning("spool: cannot mark the damaged records of %s: %s", path, exc)
        finally:
            os.close(fd)
        return size

    def _set_aside(self, path: str, version: int) -> None:
        what = f"format version {version}" if version >= 0 else "an unknown format"
        try:
            os.rename(path, path + ASIDE)
            log.warning("spool: %s is in %s this version does not read; moved aside to %s",
                        path, what, path + ASIDE)
        except OSError as exc:
            log.warning("spool: %s is in %s this version does not read; left as it is (%s)", path, what, exc)

    # -- state ------------------------------------------------------------------------

    @property
    def lines(self) -> int:
        return sum(s.lines for s in self._segments)

    @property
    def bytes(self) -> int:
        return sum(s.size for s in self._segments)

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def __bool__(self) -> bool:
        return bool(self._segments)

    # -- writing ----------------------------------------------------------------------

    def append(self, batches: list[tuple[bytes, int]]) -> None:
        """Store ``batches`` (whole lines) with one write and one fdatasync: all or nothing.

        Raises OSError (ENOSPC, EFBIG, EACCES, SpoolBusy...): then none of them is stored.
        What cannot fit ``max_bytes`` at all (the oldest first) is dropped and counted."""
        records = rec.encode(batches, self.segment_bytes - rec.FILE_HEADER_SIZE - rec.HEADER.size)
        with self._lock:
            if self._closed:
                raise OSError(errno.EBADF, "spool closed")
            self._check_directory()
            size = sum(len(r) for r, _ in records)
            while records and size > self.max_bytes - rec.FILE_HEADER_SIZE:
                r, n = records.pop(0)
                size -= len(r)
                self.drops[OVER_LIMIT] += n
            if not records:
                return
            seg = self._segments[-1] if self._write_fd is not None else None
            if seg is not None and seg.size + size > self.segment_bytes and seg.records:
                self._seal()
                seg = None
            while self._segments and self.bytes + size + (0 if seg else rec.FILE_HEADER_SIZE) > self.max_bytes:
                if self._segments[0] is seg:
                    seg = None
                self._drop_oldest()
            if seg is None:
                seg = self._new_segment()
            head = rec.FILE_HEADER if seg.size == 0 else b""
            at = seg.size + len(head)
            self._write(seg, head + b"".join(r for r, _ in records))
            for r, n in records:
                seg.records.append((at, len(r), n))
                seg.lines += n
                at += len(r)

    def _write(self, seg: _Segment, data: bytes) -> None:
        """Write at the segment's tracked end and sync; on failure cut the file back and raise."""
        fd = self._write_fd
        view, at = memoryview(data), seg.size
        try:
            while view:
                n = os.pwrite(fd, view, at)
                if n <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view, at = view[n:], at + n
            os.fdatasync(fd)
        except OSError:
            try:
                os.ftruncate(fd, seg.size)
            except OSError:
                pass  # the bytes past seg.size are never read; a later start skips them
            self._seal()  # the next append starts a new segment (EFBIG is per file)
            if not seg.records:
                self._segments.remove(seg)
                self._unlink(seg.path)
            raise
        seg.size = at

    def _new_segment(self) -> _Segment:
        seq = self._segments[-1].seq + 1 if self._segments else 1
        while True:
            path = os.path.join(self.directory, f"{seq:020d}{SUFFIX}")
            try:
                self._write_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                break
            except FileExistsError:
                seq += 1
        dfd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)  # the new name survives a crash too
        finally:
            os.close(dfd)
        seg = _Segment(seq, path, 0)
        self._segments.append(seg)
        return seg

    def _seal(self) -> None:
        if self._write_fd is not None:
            os.close(self._write_fd)
            self._write_fd = None

    def _drop_oldest(self) -> None:
        old = self._segments.pop(0)
        if not self._segments:
            self._seal()
        self._read_pos = 0
        self.drops[OVER_LIMIT] += old.lines  # acknowledged lines were already subtracted
        log.debug("spool over %d bytes: dropped %d oldest lines", self.max_bytes, old.lines)
        self._unlink(old.path)

    def _check_directory(self) -> None:
        """Lock (and load) the directory if that failed so far; create it again if it was removed."""
        if self._lock_fd is None:
            self._open()
        elif not os.fstat(self._lock_fd).st_nlink:
            log.warning("spool: %s was removed; creating it again", self.directory)
            os.close(self._lock_fd)
            self._lock_fd = None
            self._forget_removed()
            self._take_lock()
        elif self._write_fd is not None and not os.fstat(self._write_fd).st_nlink:
            self._forget_removed()

    def _forget_removed(self) -> None:
        """Count and forget the segments no longer on disk."""
        kept = [s for s in self._segments if os.path.exists(s.path)]
        if len(kept) == len(self._segments):
            return
        if self._segments[-1] not in kept:
            self._seal()
        if self._segments[0] not in kept:
            self._read_pos = 0
        lost = sum(s.lines for s in self._segments if s not in kept)
        self.drops[REMOVED] += lost
        log.warning("spool: %d segments were removed from %s: %d lines lost",
                    len(self._segments) - len(kept), self.directory, lost)
        self._segments = kept

    # -- reading ----------------------------------------------------------------------

    def peek(self, max_bytes: int) -> tuple[list[tuple[bytes, int]], Optional[tuple[int, int]]]:
        """The oldest unacknowledged records, up to about ``max_bytes``, and a token for :meth:`ack`.

        A damaged record is dropped on the way (counted); a segment gone from disk too."""
        with self._lock:
            while self._segments and not self._closed:
                seg = self._segments[0]
                todo = seg.records[self._read_pos:]
                if not todo:
                    return [], None
                first = todo[0][0]
                n, size = 1, todo[0][1]  # the bytes from the first record to the end of the n-th
                while n < len(todo) and todo[n][0] + todo[n][1] - first <= max_bytes:
                    size = todo[n][0] + todo[n][1] - first
                    n += 1
                try:
                    fd = os.open(seg.path, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    self._forget_removed()
                    continue
                try:
                    data = os.pread(fd, size, first)
                finally:
                    os.close(fd)
                out, bad = [], []
                for off, length, lines in todo[:n]:
                    payload = rec.payload(data, off - first, length)
                    if payload is None:
                        bad.append((off, length, lines))
                    else:
                        out.append((payload, lines))
                if bad:
                    seg.records = [r for r in seg.records if r not in bad]
                    seg.lines -= sum(r[2] for r in bad)
                    damage = [(off, off + length, lines) for off, length, lines in bad]
                    seg.size = self._bury(seg.path, damage, seg.size)
                if out:
                    return out, (seg.seq, self._read_pos + len(out))
                if self._read_pos >= len(seg.records):
                    self._finish(seg)
        return [], None

    def ack(self, token: Optional[tuple[int, int]]) -> None:
        """The records ``peek`` returned were delivered."""
        if token is None:
            return
        seq, upto = token
        with self._lock:
            if self._closed or not self._segments or self._segments[0].seq != seq:
                return  # dropped meanwhile (size limit, removed)
            seg = self._segments[0]
            seg.lines -= sum(r[2] for r in seg.records[self._read_pos:upto])
            self._read_pos = upto
            if upto >= len(seg.records):
                self._finish(seg)

    def _finish(self, seg: _Segment) -> None:
        """Every record of the first segment is delivered: it goes."""
        self._segments.pop(0)
        self._read_pos = 0
        if not self._segments:
            self._seal()  # it was the segment being written
        self._unlink(seg.path)

    def _unlink(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("spool: cannot remove %s: %s", path, exc)

    def close(self) -> None:
        """Release the directory; the spool takes no more appends (a new one may open it)."""
        with self._lock:
            self._closed = True
            self._seal()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
