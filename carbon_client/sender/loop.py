"""The sending loop: one thread joining a buffer and a transport.

``put`` never blocks collection: it queues the lines and wakes the thread, or,
when nothing waits and the connection is idle, writes them itself without
blocking (docs/BENCHMARKS.md: a woken thread costs more CPU per cycle than
the write). The thread writes the oldest lines first, reconnects when the
connection breaks (the resend window first), spills to the spool when memory
fills, and counts and logs every line lost.

Its loop is the thread's exception boundary: an unexpected error is logged,
counted and survived; after ``GIVE_UP`` in a row the thread ends and
``alive`` turns False, so the daemon exits non-zero and systemd restarts it.

Stopping needs no new thread: :func:`close_all` flushes any number of senders
against one deadline from the caller's thread, then spools what is left.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Callable, Optional

from carbon_client.sender.buffer import Batch, Buffer, Taken
from carbon_client.sender.complain import Complaint
from carbon_client.sender.transport import Transport

log = logging.getLogger("carbon_client.sender")

STATS = ("sent", "dropped", "resent", "reconnects", "buffered", "spooled", "connected", "destination")

GIVE_UP = 10  # unexpected errors in a row before the thread ends
ABORT_GRACE = 2.0  # seconds a stopped thread has to let go of its socket
CONFIRM = 0.5  # seconds a reload waits for Carbon to confirm it read everything
IDLE_WAKE = 60.0  # an idle thread still reports drops this often


class Sender:
    def __init__(self, transport: Transport, buffer: Buffer, *, name: str = "carbon",
                 max_send_bytes: int = 1 << 20, clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.buffer = buffer
        self.name = name
        self.max_send_bytes = max_send_bytes
        self._clock = clock
        # Held by whoever uses the transport: the thread, or put() writing when it is idle.
        self._io = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._deadline: Optional[float] = None  # set when closing: flush until then
        self._stopping = False
        self.failure: Optional[BaseException] = None
        self._error_log = Complaint()
        self._loss_log = Complaint()
        self._drop_log = Complaint()
        self._drops_seen = 0

    # -- the collection side ------------------------------------------------------------

    def start(self) -> "Sender":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"sender-{self.name}", daemon=True)
            self._thread.start()
        return self

    def put(self, data: bytes, lines: int) -> None:
        """Queue complete lines; never blocks on the network or the disk."""
        if not data:
            return
        if self._io.acquire(blocking=False):
            try:
                if self.buffer.idle() and self.transport.write_nowait(data):
                    self.buffer.accept(Taken([Batch(data, lines)]))
                    if self.transport.pending:
                        self.buffer.poke()  # the thread writes the rest
                    return
            finally:
                self._io.release()
        self.buffer.add(data, lines)

    @property
    def alive(self) -> bool:
        """False once the thread ended on its own (it gave up)."""
        return self._thread is None or self._thread.is_alive() or self._deadline is not None or self._stopping

    def health(self) -> tuple:
        """The values of :data:`STATS`, in order."""
        b, t = self.buffer, self.transport
        up = t.connected
        return (b.sent, b.dropped, b.resent, max(0, t.connections - 1), b.buffered, b.spooled,
                1 if up else 0, t.index + 1 if up and t.index is not None else 0)

    def stats(self) -> dict:
        return dict(zip(STATS, self.health()))

    def losses(self):
        return self.buffer.losses()

    # -- stopping -----------------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> list[bytes]:
        """Flush for at most ``timeout`` seconds and stop; the rest goes to the spool when there
        is one. Returns what could not be spooled (counted as dropped)."""
        return close_all([self], timeout)[0]

    def detach(self) -> list[Batch]:
        """Stop without waiting on a stalled socket, and hand over what is not known delivered
        (for a reload: the new sender's :meth:`adopt`). A connection the thread is not writing
        to may confirm that Carbon read everything, within ``CONFIRM`` seconds; otherwise the
        resend window goes too. The spool is released for the sender that replaces this one."""
        self._stopping = True
        if self._io.acquire(blocking=False):
            try:
                if self.transport.connected and self.transport.finish(self._clock() + CONFIRM):
                    self.buffer.delivered()
            finally:
                self._io.release()
        self._interrupt()
        self._join(self._clock() + ABORT_GRACE)
        self.transport.close()
        rest = self.buffer.drain()
        if self.buffer.spool is not None:
            self.buffer.spool.close()
        return rest

    def adopt(self, batches: list[Batch]) -> None:
        self.buffer.adopt(batches)

    def _interrupt(self) -> None:
        self._stopping = True
        self.transport.interrupt()
        self.buffer.poke()

    def _join(self, deadline: float) -> None:
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - self._clock()))

    def _finish(self) -> list[bytes]:
        """After the thread: spool what is left; what cannot be is lost, counted."""
        self.transport.close()
        rest = self.buffer.spool_rest()
        if self.buffer.spool is not None:
            self.buffer.spool.close()
        self._report_drops(force=True)
        return [d for d, _ in rest]

    # -- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while True:
            try:
                if failures:
                    self._pause(random.uniform(0, min(self.transport.backoff_max,
                                                      self.transport.backoff_min * 2 ** failures)))
                if not self._step():
                    return
                failures = 0
            except Exception as exc:  # the thread's boundary: nothing may end it silently
                failures += 1
                self._recover()
                if failures >= GIVE_UP:
                    self.failure = exc
                    log.critical("sender %s: %d unexpected errors in a row, giving up: %s",
                                 self.name, failures, exc, exc_info=True)
                    return
                count = self._error_log.due()
                if count:
                    log.error("sender %s: unexpected error (%d in a row, %d since the last report), "
                              "going on: %s", self.name, failures, count, exc, exc_info=True)

    def _step(self) -> bool:
        """Spill, report, write one batch. False when the thread is done."""
        b, t = self.buffer, self.transport
        if self._stopping:
            return False
        b.spill()
        self._report_drops()
        closing = self._deadline is not None
        if not (b.has_lines(spool=not closing) or t.pending):
            if not closing:
                b.wait(IDLE_WAKE, lambda: b.has_lines(spool=True))
                return True
            if not t.connected:
                return False
            if t.finish(self._deadline):
                b.delivered()
                return False
            b.connection_lost()  # not confirmed: send the window again while there is time
            return True
        with self._io:
            if t.aged and not closing:
                self._reconnect()
            if not t.connected and not t.connect(self._pause):
                return not self._stopping
            t.failback()
            taken = b.take(self.max_send_bytes, spool=not closing)
            try:
                lost = t.write(taken.data if taken is not None else b"")
            except OSError as exc:
                if taken is not None:
                    b.reject(taken)
                if self._stopping:  # interrupted: whoever stops us takes the window too
                    return False
                self._lost(exc)
                return True
            if taken is not None:
                b.accept(taken, lost)
        return True

    def _reconnect(self) -> None:
        """``reconnect_interval``: let the connection go once Carbon confirmed it read
        everything (else the resend window goes again on the next one)."""
        log.debug("sender %s: reconnect_interval reached, opening a new connection", self.name)
        if self.transport.finish(self._clock() + CONFIRM):
            self.buffer.delivered()
        else:
            self.buffer.connection_lost()

    def _lost(self, exc: OSError) -> None:
        count = self._loss_log.due()
        if count:
            log.warning("connection to Carbon at %s lost: %s; reconnecting%s", self.transport.destination, exc,
                        f" ({count} times since the last report)" if count > 1 else "")
        self.transport.close(broken=True)
        self.buffer.connection_lost()

    def _recover(self) -> None:
        """After an unexpected error: nothing taken stays in limbo, the connection starts afresh."""
        self.buffer.restore()
        if self.transport.connected:
            self.transport.close(broken=True)
            self.buffer.connection_lost()

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` (backoff), spilling to the spool meanwhile when memory fills; stopping ends it."""
        deadline = self._clock() + seconds
        while not self._stopping:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            self.buffer.wait(remaining, self.buffer.spill_due)
            self.buffer.spill()
            self._report_drops()

    def _report_drops(self, force: bool = False) -> None:
        total = self.buffer.dropped
        count = self._drop_log.due(total - self._drops_seen, force)
        self._drops_seen = total
        if count:
            why = ", ".join(f"{n} {reason}" for reason, n in self.buffer.losses().items())
            log.warning("%s: %d lines dropped since the last report; %d since start (%s)",
                        self.name, count, total, why)


def close_all(senders: list[Sender], timeout: float) -> list[list[bytes]]:
    """Stop ``senders`` from this thread: all flush against one deadline, those still busy
    then let go of their sockets, and what each has left is spooled. Starts no thread."""
    clock = senders[0]._clock if senders else time.monotonic
    deadline = clock() + timeout
    for s in senders:
        s._deadline = deadline
        s.buffer.poke()
    for s in senders:
        s._join(deadline)
    for s in senders:
        s._interrupt()
    grace = clock() + ABORT_GRACE
    for s in senders:
        s._join(grace)
    return [s._finish() for s in senders]
