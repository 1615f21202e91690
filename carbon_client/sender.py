"""The only place that touches sockets.

:class:`TcpSender` owns one thread and one persistent TCP connection. Lines
wait in a bounded in-memory buffer; ``put`` never blocks collection. The thread
drains the buffer with one ``sendall`` per chunk (up to ``max_send_bytes``).
On ``OSError`` it closes the socket, backs off with full jitter (tenacity),
reconnects and sends the chunk again. Bytes a dying Carbon had not yet read
are gone even though ``sendall`` returned, so after any lost connection the
recently sent window is sent again too: a (path, timestamp) written twice
lands in the same Whisper slot, so at-least-once is safe where loss is not.
Overflow drops the oldest lines and counts them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import socket
import struct
import termios
import threading
import time
from collections import deque
from typing import Callable, Optional

import tenacity

from carbon_client.config.destinations import Destination
from carbon_client.spool import Spool

log = logging.getLogger("carbon_client.sender")


# What stats() reports, and health() returns in this order.
STATS = ("sent", "dropped", "resent", "reconnects", "buffered", "spooled", "connected", "destination")


def _count_lines(data: bytes) -> int:
    return data.count(b"\n")


def _unacknowledged(sock: socket.socket) -> int:
    """Bytes in the socket's send queue the peer has not acknowledged (SIOCOUTQ)."""
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return 0


def _send_all(sock: socket.socket, data: bytes) -> None:
    """sendall whose timeout means "no progress for write_timeout".

    socket.sendall's timeout bounds the whole call (3.5+), so a Carbon that
    reads slowly but steadily would be dropped and resent forever; here each
    send() may wait up to the socket timeout for room, and any progress counts.
    """
    view = memoryview(data)
    while view:
        view = view[sock.send(view):]


class TcpSender:
    """One thread, one persistent socket, one bounded buffer.

    ``destinations`` are tried in order (failover): while connected to a later
    one the sender tries the first again every ``failback_interval`` seconds
    and moves back when it answers.
    """

    def __init__(
        self,
        destinations: list[Destination],
        *,
        buffer_lines: int = 200_000,
        backoff_min: float = 0.5,
        backoff_max: float = 60.0,
        connect_timeout: float = 5.0,
        write_timeout: float = 10.0,
        max_send_bytes: int = 1 << 20,
        failback_interval: float = 60.0,
        resend_seconds: float = 20.0,
        resend_max_bytes: int = 16 << 20,
        spool: Optional[Spool] = None,
        spill_at: Optional[int] = None,
        name: str = "carbon",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not destinations:
            raise ValueError("no destination")
        self.destinations = list(destinations)
        self.buffer_lines = buffer_lines
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self.max_send_bytes = max_send_bytes
        self.failback_interval = failback_interval
        self.resend_seconds = resend_seconds
        self.resend_max_bytes = resend_max_bytes
        self.name = name
        self._clock = clock
        self._spool = spool
        self.spill_at = buffer_lines // 2 if spill_at is None else spill_at
        self._spool_retry_at = 0.0  # after a spool error, when to try the disk again
        self._spool_failing = False
        self._wake = threading.Event()  # a spill is due, or the sender must stop waiting

        self._cond = threading.Condition()
        self._queue: deque[tuple[bytes, int]] = deque()
        self._queued = 0  # lines in _queue
        self._inflight = 0  # lines taken by the thread, not yet acknowledged by sendall
        self._closing = False
        self._abort = threading.Event()
        self._thread: Optional[threading.Thread] = None
        # Sent but maybe not read by Carbon: (sent at, data, lines), oldest first.
        self._recent: deque[tuple[float, bytes, int]] = deque()
        self._recent_bytes = 0
        self._recent_floor = 0  # bytes our socket had not got acknowledged at the last send

        self._sock: Optional[socket.socket] = None
        self._poll_sock: Optional[socket.socket] = None  # the socket self._poll watches
        self._poll = None
        # Held by whoever writes to or replaces the socket: the sending thread,
        # or put() sending a batch directly when nothing is waiting.
        self._send_lock = threading.Lock()
        self._generation = 0  # bumped at every new connection
        # The rest of a batch put() could only send in part: (rest, lines, generation).
        self._rest: Optional[tuple[bytes, int, int]] = None
        self._dest_index: Optional[int] = None
        self._connected_at = 0.0
        self._ever_connected = False
        self._failing = False

        self.sent = 0
        self.dropped = 0
        self.resent = 0
        self.reconnects = 0

    # -- the collection side ------------------------------------------------

    def start(self) -> "TcpSender":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"sender-{self.name}", daemon=True)
            self._thread.start()
        return self

    def put(self, data: bytes, lines: Optional[int] = None) -> None:
        """Queue complete lines; never blocks on the network or the disk.

        When nothing is waiting and the socket is idle, the batch is written
        at once without blocking (MSG_DONTWAIT): a cycle's lines fit the
        socket buffer, and the sending thread need not wake up for them.
        """
        if not data:
            return
        n = _count_lines(data) if lines is None else lines
        # Not while on a fallback destination: the thread checks for the first one.
        if (self._sock is not None and self._dest_index == 0 and not self._queued
                and not self._inflight and self._rest is None and not (self._spool is not None and self._spool)
                and self._send_lock.acquire(blocking=False)):
            try:
                if self._send_now(data, n):
                    return
            finally:
                self._send_lock.release()
        with self._cond:
            self._queue.append((data, n))
            self._queued += n
            self._trim()
            self._cond.notify()
            if self._spool is not None and self._queued > self.spill_at:
                self._wake.set()  # the sending thread spills to disk

    def _send_now(self, data: bytes, n: int) -> bool:
        """Write ``data`` without blocking (send lock held); False to queue it instead."""
        sock = self._sock
        if sock is None or self._peer_closed(sock):
            return False
        try:
            # The socket has a timeout, so its descriptor is non-blocking: a
            # plain write() never waits (sock.send would poll() first).
            k = os.write(sock.fileno(), data)
        except OSError:
            return False  # the sending thread finds out what is wrong and reconnects
        with self._cond:
            if k == len(data):
                self.sent += n
            else:
                # Part of a line is on the wire: the rest must follow on this
                # connection before anything else. Should the connection die
                # first, the whole batch comes back with the resend window.
                self._rest = (data[k:], n, self._generation)
                self._inflight += n
                self._cond.notify()
            self._remember([(data, n)])
        self._recent_floor = _unacknowledged(sock)
        return True

    def _trim(self) -> None:
        """Drop the oldest lines while over the limit (lock held)."""
        excess = self._queued + self._inflight - self.buffer_lines
        q = self._queue
        while excess > 0 and q:
            data, n = q[0]
            if n <= excess:
                q.popleft()
                self._queued -= n
                self.dropped += n
                excess -= n
                continue
            cut = 0
            for _ in range(excess):
                cut = data.index(b"\n", cut) + 1
            q[0] = (data[cut:], n - excess)
            self._queued -= excess
            self.dropped += excess
            excess = 0

    @property
    def buffered(self) -> int:
        return self._queued + self._inflight

    @property
    def connected(self) -> bool:
        return self._sock is not None

    @property
    def destination(self) -> Optional[Destination]:
        i = self._dest_index
        return self.destinations[i] if i is not None and self._sock is not None else None

    @property
    def spooled(self) -> int:
        return self._spool.lines if self._spool is not None else 0

    def health(self) -> tuple:
        """The values of :data:`STATS`, in order (read every cycle: no dict)."""
        i, spool = self._dest_index, self._spool
        up = self._sock is not None
        return (
            self.sent, self.dropped + (spool.dropped if spool is not None else 0), self.resent,
            self.reconnects, self._queued + self._inflight, spool.lines if spool is not None else 0,
            1 if up else 0, i + 1 if i is not None and up else 0,
        )

    def stats(self) -> dict:
        return dict(zip(STATS, self.health()))

    def close(self, timeout: float = 5.0) -> list[bytes]:
        """Flush for at most ``timeout`` seconds and stop.

        What is left goes to the spool when there is one (it is replayed on the
        next start); what could not be spooled is returned.
        """
        rest = self._stop(timeout)
        if rest and self._spool is not None:
            try:
                self._spool.append(rest)
                log.info("spooled %d unsent lines to %s", sum(n for _, n in rest), self._spool.directory)
                rest = []
            except OSError as exc:
                log.error("cannot spool unsent lines to %s: %s", self._spool.directory, exc)
        if self._spool is not None:
            self._spool.close()
        return [d for d, _ in rest]

    def detach(self) -> list[tuple[bytes, int]]:
        """Stop at once and hand over what is buffered in memory (for a reload).

        The spool is closed, not emptied: the sender that replaces this one
        opens the same directory and replays it.
        """
        rest = self._stop(0.0)
        if self._spool is not None:
            self._spool.close()
        return rest

    def _stop(self, flush: float) -> list[tuple[bytes, int]]:
        """Let the thread deliver for up to ``flush`` seconds, stop it, take what is left."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(flush)
            if self._thread.is_alive():
                self._abort.set()
                self._wake.set()
                self._thread.join(self.write_timeout + 1.0)
        self._disconnect()
        with self._cond:
            rest = list(self._queue)
            self._queue.clear()
            self._queued = 0
        return rest

    # -- the sending thread ---------------------------------------------------

    def _take(self) -> tuple[list[tuple[bytes, int]], int, Optional[tuple[int, int]]]:
        """Batches to send next, up to max_send_bytes (lock held).

        The spool holds the oldest lines, so it goes first, except while
        closing: then memory is flushed and the spool stays for the next start.
        Spooled batches stay in the spool until acknowledged (the token).
        """
        if self._spool is not None and self._spool and not self._closing:
            taken, token = self._spool.peek(self.max_send_bytes)
            if taken:
                lines = sum(n for _, n in taken)
                self._inflight = lines
                return taken, lines, token
        taken, size, lines = [], 0, 0
        q = self._queue
        while q and (not taken or size + len(q[0][0]) <= self.max_send_bytes):
            batch = q.popleft()
            taken.append(batch)
            size += len(batch[0])
            lines += batch[1]
        self._queued -= lines
        self._inflight = lines
        return taken, lines, None

    def _give_back(self, taken: list[tuple[bytes, int]], lines: int) -> None:
        """Return unsent batches to the head of the queue (lock held)."""
        self._queue.extendleft(reversed(taken))
        self._queued += lines
        self._inflight = 0
        self._trim()

    def _remember(self, taken: list[tuple[bytes, int]]) -> None:
        """Keep what was just sent for a resend; forget what is old and safely read (lock held).

        A batch is forgotten once it is older than ``resend_seconds`` and the
        newer ones alone cover the bytes the socket still had unacknowledged
        after the last send (a stalled Carbon); never more than
        ``resend_max_bytes`` are kept.
        """
        now = self._clock()
        recent = self._recent
        for data, n in taken:
            recent.append((now, data, n))
            self._recent_bytes += len(data)
        horizon = now - self.resend_seconds
        while recent:
            at, data, _ = recent[0]
            rest = self._recent_bytes - len(data)
            if (at < horizon and rest >= self._recent_floor) or rest >= self.resend_max_bytes:
                recent.popleft()
                self._recent_bytes = rest
            else:
                break

    def _requeue_recent(self) -> None:
        """The connection died: what it may not have delivered goes first in line (lock held)."""
        if not self._recent:
            return
        lines = sum(n for _, _, n in self._recent)
        self._queue.extendleft((data, n) for _, data, n in reversed(self._recent))
        self._queued += lines
        self.resent += lines
        self._recent.clear()
        self._recent_bytes = 0
        self._trim()

    def _has_work(self) -> bool:
        if self._queue or self._rest is not None:
            return True
        return self._spool is not None and bool(self._spool) and not self._closing

    def _run(self) -> None:
        while True:
            self._maybe_spill()
            with self._cond:
                while not self._has_work() and not self._closing:
                    self._cond.wait()
                if not self._has_work():
                    return
            sock = self._ensure_connected()
            if sock is None:  # aborted while waiting for a connection
                return
            if self._rest is not None:
                self._finish_rest(sock)
                continue
            with self._cond:
                taken, lines, token = self._take()
            if not taken:
                continue
            try:
                with self._send_lock:
                    _send_all(sock, b"".join([b for b, _ in taken]) if len(taken) > 1 else taken[0][0])
            except OSError as exc:
                with self._cond:
                    if token is None:
                        self._give_back(taken, lines)
                    else:
                        self._inflight = 0  # still in the spool
                self._lost(exc)
                continue
            if token is not None:
                self._spool.ack(token)
            self._recent_floor = _unacknowledged(sock)
            with self._cond:
                self._inflight = 0
                self.sent += lines
                self._remember(taken)

    def _finish_rest(self, sock: socket.socket) -> None:
        """Send the rest of a batch put() began, if its connection still stands."""
        with self._cond:
            rest, self._rest = self._rest, None
        if rest is None:
            return
        data, n, generation = rest
        try:
            if generation == self._generation:
                with self._send_lock:
                    _send_all(sock, data)
                with self._cond:
                    self.sent += n
        except OSError as exc:
            self._lost(exc)
        finally:
            with self._cond:
                self._inflight -= n

    def _maybe_spill(self) -> None:
        """Move the oldest lines from memory to the spool once memory passes ``spill_at``."""
        spool = self._spool
        if spool is None or self._clock() < self._spool_retry_at:
            return
        with self._cond:
            if self._queued <= self.spill_at:
                return
            batches = []
            keep = self.spill_at // 2
            while self._queue and self._queued > keep:
                b = self._queue.popleft()
                self._queued -= b[1]
                batches.append(b)
        try:
            spool.append(batches)
        except OSError as exc:
            with self._cond:
                self._queue.extendleft(reversed(batches))
                self._queued += sum(n for _, n in batches)
                self._trim()
            self._spool_retry_at = self._clock() + 30.0
            if not self._spool_failing:
                log.error("cannot spool to %s: %s; keeping lines in memory (oldest dropped when full)",
                          spool.directory, exc)
                self._spool_failing = True
            return
        if self._spool_failing:
            log.info("spooling to %s works again", spool.directory)
            self._spool_failing = False

    def _backoff_sleep(self, seconds: float) -> None:
        """tenacity's sleep: waits out the backoff, spilling to disk if asked meanwhile."""
        deadline = self._clock() + seconds
        while not self._abort.is_set():
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            if self._wake.wait(remaining):
                self._wake.clear()
                self._maybe_spill()

    def _ensure_connected(self) -> Optional[socket.socket]:
        sock = self._sock
        if sock is not None:
            if self._peer_closed(sock):
                self._lost(ConnectionResetError("Carbon closed the connection"))
            elif self._dest_index and self._clock() - self._connected_at >= self.failback_interval:
                self._try_failback()
                return self._sock
            else:
                return sock
        retrying = tenacity.Retrying(
            wait=tenacity.wait_random_exponential(multiplier=self.backoff_min, max=self.backoff_max),
            retry=tenacity.retry_if_exception_type(OSError),
            stop=lambda state: self._abort.is_set(),
            sleep=self._backoff_sleep,
            reraise=True,
        )
        try:
            return retrying(self._connect_any)
        except OSError:
            return None

    def _peer_closed(self, sock: socket.socket) -> bool:
        """A FIN or RST already received: the next write would vanish, so reconnect first."""
        try:
            if self._poll_sock is not sock:
                self._poll = select.poll()
                self._poll.register(sock, select.POLLIN)
                self._poll_sock = sock
            # Readable with nothing to read means EOF; Carbon never sends data.
            return bool(self._poll.poll(0)) and sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _connect_any(self) -> socket.socket:
        if self._abort.is_set():
            raise ConnectionAbortedError("sender stopping")
        errors = []
        for i, dest in enumerate(self.destinations):
            try:
                sock = self._open(dest)
            except OSError as exc:
                errors.append(f"{dest}: {exc.strerror or exc}")
                continue
            self._connected(sock, i)
            return sock
        msg = "; ".join(errors)
        if not self._failing:
            log.warning("cannot reach Carbon (%s); retrying with backoff up to %gs", msg, self.backoff_max)
            self._failing = True
        else:
            log.debug("still cannot reach Carbon: %s", msg)
        raise ConnectionRefusedError(msg)

    def _open(self, dest: Destination) -> socket.socket:
        sock = socket.create_connection((dest.host, dest.port), timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            for opt, val in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
                if hasattr(socket, opt):
                    sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), val)
            if hasattr(socket, "TCP_USER_TIMEOUT"):
                # Unacknowledged data older than this aborts the connection (half-open peers).
                sock.setsockopt(
                    socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(self.write_timeout * 1000)
                )
            sock.settimeout(self.write_timeout)
        except OSError:
            sock.close()
            raise
        return sock

    def _connected(self, sock: socket.socket, index: int) -> None:
        with self._send_lock:
            self._sock = sock
            self._generation += 1
        self._dest_index = index
        self._connected_at = self._clock()
        if self._ever_connected:
            self.reconnects += 1
        self._ever_connected = True
        if self._failing or index:
            log.info("connected to Carbon at %s", self.destinations[index])
        else:
            log.debug("connected to Carbon at %s", self.destinations[index])
        self._failing = False

    def _try_failback(self) -> None:
        """Connected to a later destination: move back to the first when it answers."""
        self._connected_at = self._clock()
        for i, dest in enumerate(self.destinations[: self._dest_index]):
            try:
                sock = self._open(dest)
            except OSError:
                continue
            log.info("%s answers again; moving back from %s", dest, self.destinations[self._dest_index])
            self._disconnect()
            self._connected(sock, i)
            return

    def _lost(self, exc: BaseException) -> None:
        dest = self.destinations[self._dest_index] if self._dest_index is not None else "?"
        log.warning("connection to Carbon at %s lost: %s; reconnecting", dest, exc)
        self._disconnect()
        self._failing = True
        with self._cond:
            self._requeue_recent()

    def _disconnect(self) -> None:
        with self._send_lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


class UdpSender:
    """Fire-and-forget datagrams through graphyte (``protocol: udp``).

    Nothing is buffered or resent: UDP has no way to know what arrived.
    Batches are cut at line ends into datagrams of at most ``max_datagram`` bytes.
    """

    def __init__(self, destinations: list[Destination], max_datagram: int = 1400) -> None:
        import graphyte

        self.destinations = list(destinations)
        self.max_datagram = max_datagram
        self._senders = []
        for d in self.destinations:
            host = socket.getaddrinfo(d.host, d.port, type=socket.SOCK_DGRAM)[0][4][0]
            self._senders.append(graphyte.Sender(host, d.port, protocol="udp"))
        self.sent = 0
        self.dropped = 0

    def start(self) -> "UdpSender":
        return self

    def put(self, data: bytes, lines: Optional[int] = None) -> None:
        n = _count_lines(data) if lines is None else lines
        for s in self._senders:
            try:
                for datagram in self._datagrams(data):
                    s.send_message(datagram)
            except OSError as exc:
                log.warning("udp send to %s:%s failed: %s", s.host, s.port, exc)
                self.dropped += n
                return
        self.sent += n

    def _datagrams(self, data: bytes):
        size = self.max_datagram
        start, end = 0, len(data)
        while start < end:
            if end - start <= size:
                yield data[start:]
                return
            cut = data.rfind(b"\n", start, start + size) + 1
            if cut <= start:  # one line longer than a datagram
                cut = data.index(b"\n", start) + 1
            yield data[start:cut]
            start = cut

    @property
    def buffered(self) -> int:
        return 0

    @property
    def connected(self) -> bool:
        return True

    def health(self) -> tuple:
        return (self.sent, self.dropped, 0, 0, 0, 0, 1, 1)

    def stats(self) -> dict:
        return dict(zip(STATS, self.health()))

    def close(self, timeout: float = 0.0) -> list[bytes]:
        return []

    def detach(self) -> list[tuple[bytes, int]]:
        return []


class Fanout:
    """``mode: all``: every destination gets every line, each with its own buffer and thread,
    so one dead destination neither blocks nor starves the others."""

    def __init__(self, senders: list) -> None:
        self.senders = senders

    def start(self) -> "Fanout":
        for s in self.senders:
            s.start()
        return self

    def put(self, data: bytes, lines: Optional[int] = None) -> None:
        n = _count_lines(data) if lines is None else lines
        for s in self.senders:
            s.put(data, n)

    @property
    def buffered(self) -> int:
        return max(s.buffered for s in self.senders)

    @property
    def connected(self) -> bool:
        return any(s.connected for s in self.senders)

    def health(self) -> tuple:
        each = [s.health() for s in self.senders]
        sent, dropped, resent, reconnects, buffered, spooled, connected, _ = zip(*each)
        return (sum(sent), sum(dropped), sum(resent), sum(reconnects), max(buffered), max(spooled),
                sum(connected), 0)

    def stats(self) -> dict:
        return dict(zip(STATS, self.health()))

    def detach(self) -> list[tuple[bytes, int]]:
        rests = [s.detach() for s in self.senders]
        return max(rests, key=lambda r: sum(n for _, n in r))

    def close(self, timeout: float = 5.0) -> list[bytes]:
        """Flush all in parallel; return the largest unsent remainder."""
        rests: list[list[bytes]] = [[] for _ in self.senders]

        def flush(i: int) -> None:
            rests[i] = self.senders[i].close(timeout)

        threads = [threading.Thread(target=flush, args=(i,)) for i in range(len(self.senders))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return max(rests, key=lambda r: sum(d.count(b"\n") for d in r))
