"""Lines between collection and a transport: the seam of Telegraf's models/buffer.go.

``add`` queues complete lines in memory (bounded: past ``max_lines`` the
oldest are dropped and counted); ``take`` hands the transport the next batch
(the spool first: it holds the oldest lines); ``accept`` says it was written
(it joins the resend window; spooled records are acknowledged) and ``reject``
that it was not (back at the head). ``connection_lost`` puts the resend window
back at the head: bytes a dying Carbon had not read are gone although the
write succeeded, and a (path, timestamp) written twice lands in the same
Whisper slot. ``spill`` moves the oldest lines to the disk spool once memory
holds more than ``spill_at``; ``drain`` takes out all that is left unsent, and
``adopt`` takes it in (a reload).

The resend window keeps a batch for ``resend_seconds`` after it was first
written (a resend does not renew it) and a line is sent again at most
``MAX_RESENDS`` times, so a Carbon that keeps dropping the connection cannot
make it grow or repeat the same lines forever.

Lines are counted lost (``drops``) when they were never written: a copy
waiting to be sent again that memory cannot hold goes first and uncounted,
as it was sent once already.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from typing import Callable, Optional

from carbon_client.sender.spool import OVER_LIMIT, Spool

log = logging.getLogger("carbon_client.sender")

MAX_RESENDS = 2
SPOOL_RETRY = 30.0

# Why lines were lost (with Spool.drops: the keys of Buffer.drops).
OVERFLOW = "memory buffer full"
SEND_FAILED = "datagrams refused"
UNSENT = "unsent at stop"


class Batch:
    """Complete lines from one put: when first written, and how often sent again since."""

    __slots__ = ("data", "lines", "sent_at", "resends")

    def __init__(self, data: bytes, lines: int) -> None:
        self.data = data
        self.lines = lines
        self.sent_at: Optional[float] = None
        self.resends = 0

    def like(self, data: bytes, lines: int) -> "Batch":
        """A batch of ``data`` with this one's history."""
        b = Batch(data, lines)
        b.sent_at, b.resends = self.sent_at, self.resends
        return b


class Taken:
    """What ``take`` handed out: batches in order, as one write, and the spool's token."""

    __slots__ = ("parts", "data", "lines", "token")

    def __init__(self, parts: list[Batch], token: Optional[tuple[int, int]] = None) -> None:
        self.parts = parts
        self.data = parts[0].data if len(parts) == 1 else b"".join([b.data for b in parts])
        self.lines = sum(b.lines for b in parts)
        self.token = token


class Buffer:
    def __init__(
        self,
        max_lines: int,
        *,
        spool: Optional[Spool] = None,
        spill_at: Optional[int] = None,
        resend_seconds: float = 20.0,
        resend_max_bytes: int = 16 << 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_lines = max_lines
        self.spool = spool
        self.spill_at = max_lines // 2 if spill_at is None else spill_at
        self.resend_seconds = resend_seconds
        self.resend_max_bytes = resend_max_bytes
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[Batch] = deque()
        self._queued = 0  # lines in _queue
        self._taken: Optional[Taken] = None
        self._spilling = 0  # lines on their way to the spool
        self._window: deque[Batch] = deque()
        self._window_bytes = 0
        self._poked = False
        self._closed = False
        self._spool_retry_at = 0.0
        self.spool_failing = False
        self.sent = 0
        self.resent = 0
        self.drops: Counter[str] = Counter()

    # -- counters ---------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        taken = self._taken
        return self._queued + self._spilling + (taken.lines if taken is not None and taken.token is None else 0)

    @property
    def spooled(self) -> int:
        return self.spool.lines if self.spool is not None else 0

    @property
    def dropped(self) -> int:
        return sum(self.drops.values()) + (self.spool.dropped if self.spool is not None else 0)

    def losses(self) -> Counter[str]:
        """Lines lost so far, by reason (the spool's included)."""
        out = Counter(self.drops)
        if self.spool is not None:
            out.update(self.spool.drops)
        return out

    # -- the collection side ------------------------------------------------------------

    def add(self, data: bytes, lines: int) -> None:
        with self._cond:
            self._queue.append(Batch(data, lines))
            self._queued += lines
            self._trim()
            self._cond.notify()

    def _trim(self) -> None:
        """Drop the oldest lines while over ``max_lines`` (lock held); lines on their way to
        the spool do not count: in a moment they are on disk, or back here."""
        excess = self.buffered - self._spilling - self.max_lines
        q = self._queue
        while excess > 0 and q:
            head = q[0]
            if head.lines <= excess:
                q.popleft()
                n = head.lines
            else:
                cut = 0
                for _ in range(excess):
                    cut = head.data.index(b"\n", cut) + 1
                q[0] = head.like(head.data[cut:], head.lines - excess)
                n = excess
            self._queued -= n
            if head.sent_at is None:
                self.drops[OVERFLOW] += n
            excess -= n

    # -- the sending side ---------------------------------------------------------------

    def idle(self) -> bool:
        """Nothing waits to be sent: new lines may be written at once, in order."""
        with self._cond:
            return not (self._queue or self._taken or self._spilling or self.spool)

    def has_lines(self, spool: bool = True) -> bool:
        """Lines wait to be taken (in the spool too, unless ``spool`` is False)."""
        return bool(self._queue) or (spool and self.spool is not None and bool(self.spool))

    def spill_due(self) -> bool:
        return self.spool is not None and self._queued > self.spill_at and self._clock() >= self._spool_retry_at

    def wait(self, timeout: Optional[float], ready: Callable[[], bool]) -> None:
        """Until ``ready()``, :meth:`poke`, :meth:`add` or ``timeout``."""
        with self._cond:
            if not self._poked and not ready():
                self._cond.wait(timeout)
            self._poked = False

    def poke(self) -> None:
        with self._cond:
            self._poked = True
            self._cond.notify()

    def take(self, max_bytes: int, spool: bool = True) -> Optional[Taken]:
        """The next batch, up to ``max_bytes`` (at least one put's lines): the spool's oldest
        records first unless ``spool`` is False (stopping: they stay for the next start)."""
        if spool and self.spool is not None and self.spool:
            got, token = self.spool.peek(max_bytes)
            if got:
                taken = Taken([Batch(d, n) for d, n in got], token)
                with self._cond:
                    self._taken = taken
                return taken
        with self._cond:
            q = self._queue
            if not q:
                return None
            parts = [q.popleft()]
            size = len(parts[0].data)
            while q and size + len(q[0].data) <= max_bytes:
                size += len(q[0].data)
                parts.append(q.popleft())
            taken = self._taken = Taken(parts)
            self._queued -= taken.lines
            return taken

    def accept(self, taken: Taken, lost: int = 0) -> None:
        """``taken`` was written (but ``lost`` of its lines, which a datagram transport could
        not send): it is sent, and kept a while for a resend."""
        if taken.token is not None and self.spool is not None:
            self.spool.ack(taken.token)
        with self._cond:
            if self._taken is taken:
                self._taken = None
            if self._closed:
                return
            self.sent += taken.lines - lost
            self.resent += sum(b.lines for b in taken.parts if b.resends)
            if lost:
                self.drops[SEND_FAILED] += lost
            self._remember(taken.parts)

    def reject(self, taken: Taken) -> None:
        """``taken`` was not written: back at the head (spooled records are still in the spool)."""
        with self._cond:
            if self._taken is not taken:
                return  # drained meanwhile
            self._taken = None
            if taken.token is None:
                self._queue.extendleft(reversed(taken.parts))
                self._queued += taken.lines
                self._trim()

    def restore(self) -> None:
        """What was taken and is neither accepted nor rejected goes back (after an error)."""
        if self._taken is not None:
            self.reject(self._taken)

    def _remember(self, parts: list[Batch]) -> None:
        """Keep written batches for a resend; forget the expired, and the oldest past the byte cap (lock held)."""
        if self.resend_seconds <= 0:
            return
        now = self._clock()
        w = self._window
        for b in parts:
            if b.sent_at is None:
                b.sent_at = now
            w.append(b)
            self._window_bytes += len(b.data)
        horizon = now - self.resend_seconds
        while w and (w[0].sent_at < horizon or self._window_bytes > self.resend_max_bytes):
            self._window_bytes -= len(w.popleft().data)

    def _recall(self) -> list[Batch]:
        """The resend window's batches still worth sending again; the window empties (lock held)."""
        horizon = self._clock() - self.resend_seconds
        back = [b for b in self._window if b.sent_at >= horizon and b.resends < MAX_RESENDS]
        for b in back:
            b.resends += 1
        self._window.clear()
        self._window_bytes = 0
        return back

    def connection_lost(self) -> None:
        """What the lost connection may not have delivered goes first in line again."""
        with self._cond:
            back = self._recall()
            if back:
                self._queue.extendleft(reversed(back))
                self._queued += sum(b.lines for b in back)
                self._trim()

    def delivered(self) -> None:
        """The peer confirmed it read everything written: nothing needs a resend."""
        with self._cond:
            self._window.clear()
            self._window_bytes = 0

    def spill(self) -> None:
        """Move the oldest lines to the spool once memory holds more than ``spill_at``.

        A spool that fails (disk full, unwritable) keeps the lines in memory and is
        tried again after ``SPOOL_RETRY`` seconds."""
        if not self.spill_due():
            return
        with self._cond:
            moving = []
            while self._queue and self._queued > self.spill_at // 2:
                b = self._queue.popleft()
                self._queued -= b.lines
                moving.append(b)
            self._spilling = sum(b.lines for b in moving)
        failed, exc = self._store(moving)
        with self._cond:
            self._spilling = 0
            if failed:
                self._queue.extendleft(reversed(failed))
                self._queued += sum(b.lines for b in failed)
                self._trim()
        if failed:
            self._spool_retry_at = self._clock() + SPOOL_RETRY
            if not self.spool_failing:
                log.error("cannot spool to %s: %s; keeping lines in memory (oldest dropped when full)",
                          self.spool.directory, exc)
                self.spool_failing = True
        elif self.spool_failing:
            log.info("spooling to %s works again", self.spool.directory)
            self.spool_failing = False

    def _store(self, batches: list[Batch]) -> tuple[list[Batch], Optional[OSError]]:
        """Append ``batches`` to the spool a segment's worth at a time; what failed, and why.

        What the spool could not hold anyway (its oldest part) is dropped first, counted."""
        spool = self.spool
        fits, size = len(batches), 0
        while fits and size + len(batches[fits - 1].data) <= spool.max_bytes:
            fits -= 1
            size += len(batches[fits].data)
        if fits:
            with self._cond:
                self.drops[OVER_LIMIT] += sum(b.lines for b in batches[:fits] if b.sent_at is None)
            batches = batches[fits:]
        while batches:
            chunk, size = 0, 0
            while chunk < len(batches) and (not chunk or size + len(batches[chunk].data) <= spool.segment_bytes):
                size += len(batches[chunk].data)
                chunk += 1
            try:
                spool.append([(b.data, b.lines) for b in batches[:chunk]])
            except OSError as exc:
                return batches, exc
            batches = batches[chunk:]
        return [], None

    def drain(self) -> list[Batch]:
        """Everything not known delivered, oldest first: the resend window (what may still be
        lost), what was taken and not accepted, the queue. The buffer takes no more."""
        with self._cond:
            taken = self._taken
            out = self._recall() + (taken.parts if taken is not None and taken.token is None else [])
            out += self._queue
            self._queue.clear()
            self._queued = 0
            self._taken = None
            self._closed = True
            return out

    def adopt(self, batches: list[Batch]) -> None:
        """Another buffer's :meth:`drain`, queued as it was there (copies waiting for a resend
        stay copies: first to go, uncounted, when memory is full)."""
        with self._cond:
            for b in batches:
                self._queue.append(b.like(b.data, b.lines))
                self._queued += b.lines
            self._trim()
            self._cond.notify()

    def spool_rest(self) -> list[tuple[bytes, int]]:
        """Drain, and keep the rest in the spool; what it cannot keep is returned, and counted
        lost unless it had been written before."""
        rest = self.drain()
        failed, exc = self._store(rest) if rest and self.spool is not None else (rest, None)
        if self.spool is not None and rest:
            n = sum(b.lines for b in rest) - sum(b.lines for b in failed)
            if n:
                log.info("spooled %d unsent lines to %s", n, self.spool.directory)
            if failed:
                log.error("cannot spool %d unsent lines to %s: %s",
                          sum(b.lines for b in failed), self.spool.directory, exc)
        with self._cond:
            self.drops[UNSENT] += sum(b.lines for b in failed if b.sent_at is None)
        return [(b.data, b.lines) for b in failed]
