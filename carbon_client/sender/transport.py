"""Transports: the only place that touches sockets. They know nothing of buffering.

A transport connects to the first destination that answers, in the configured
order, retrying with exponential backoff and full jitter (tenacity); while on
a later destination it tries the first ones again every ``failback_interval``
seconds, and with ``reconnect_interval`` it opens a new connection that often
(the sending loop lets the old one go once Carbon confirmed it). It writes
bytes and says when the connection broke; what to send again is the buffer's
business.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import time
from typing import Callable, Optional

import tenacity

log = logging.getLogger("carbon_client.sender")


class Transport:
    """What the sending loop needs of a transport; subclasses open a destination and write."""

    def __init__(self, destinations: list, *, backoff_min: float = 0.5, backoff_max: float = 60.0,
                 failback_interval: float = 60.0, reconnect_interval: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not destinations:
            raise ValueError("no destination")
        self.destinations = list(destinations)
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.failback_interval = failback_interval
        self.reconnect_interval = reconnect_interval
        self._clock = clock
        self._sock: Optional[socket.socket] = None
        self.index: Optional[int] = None  # the destination in use
        self.connections = 0
        self._connected_at = 0.0
        self._failing = False
        self._interrupted = False

    @property
    def connected(self) -> bool:
        return self._sock is not None

    @property
    def destination(self):
        return self.destinations[self.index] if self._sock is not None and self.index is not None else None

    @property
    def pending(self) -> bool:
        """Bytes of a partial :meth:`write_nowait` wait for the next :meth:`write`."""
        return False

    @property
    def aged(self) -> bool:
        """Connected for ``reconnect_interval``: time for a new connection."""
        return (self._sock is not None and self.reconnect_interval is not None
                and self._clock() - self._connected_at >= self.reconnect_interval)

    # -- connecting ---------------------------------------------------------------------

    def connect(self, sleep: Callable[[float], None]) -> bool:
        """Connect, backing off between rounds with ``sleep``; False once interrupted."""
        retrying = tenacity.Retrying(
            wait=tenacity.wait_random_exponential(multiplier=self.backoff_min, max=self.backoff_max),
            retry=tenacity.retry_if_exception_type(OSError),
            stop=lambda state: self._interrupted,
            sleep=sleep,
            reraise=True,
        )
        try:
            retrying(self._connect_any)
        except OSError:
            return False
        return True

    def _connect_any(self) -> None:
        if self._interrupted:
            raise ConnectionAbortedError("stopping")
        errors = []
        for i, dest in enumerate(self.destinations):
            try:
                sock = self._open(dest)
            except OSError as exc:
                errors.append(f"{dest}: {exc.strerror or exc}")
                continue
            self._use(sock, i)
            return
        msg = "; ".join(errors)
        if not self._failing:
            log.warning("cannot reach Carbon (%s); retrying with backoff up to %gs", msg, self.backoff_max)
            self._failing = True
        else:
            log.debug("still cannot reach Carbon: %s", msg)
        raise ConnectionRefusedError(msg)

    def _use(self, sock: socket.socket, index: int) -> None:
        if self._interrupted:
            sock.close()
            raise ConnectionAbortedError("stopping")
        self._sock = sock
        self.index = index
        self.connections += 1
        self._connected_at = self._clock()
        if index:
            log.info("connected to Carbon at %s (failover: %s does not answer)", self.destinations[index],
                     ", ".join(map(str, self.destinations[:index])))
        elif self._failing or self.connections == 1:
            log.info("connected to Carbon at %s", self.destinations[index])
        else:
            log.debug("connected to Carbon at %s", self.destinations[index])
        self._failing = False

    def failback(self) -> None:
        """On a later destination for ``failback_interval``: move back to an earlier one that answers."""
        if not self.index or self._interrupted or self._clock() - self._connected_at < self.failback_interval:
            return
        self._connected_at = self._clock()
        for i, dest in enumerate(self.destinations[: self.index]):
            try:
                sock = self._open(dest)
            except OSError:
                continue
            log.info("%s answers again; moving back from %s", dest, self.destinations[self.index])
            self.close()
            self._use(sock, i)
            return

    # -- writing and closing --------------------------------------------------------------

    def _open(self, dest) -> socket.socket:
        raise NotImplementedError

    def write(self, data: bytes) -> int:
        """Write ``data``; the number of its lines known lost (datagrams). A broken
        connection raises OSError, and then nothing of ``data`` counts as written."""
        raise NotImplementedError

    def write_nowait(self, data: bytes) -> bool:
        """Write without blocking if the transport can; False when ``data`` must be queued."""
        return False

    def finish(self, deadline: float) -> bool:
        """Close; True when nothing written needs sending again (the peer confirmed it read
        everything, or, as for datagrams, nothing could tell)."""
        self.close()
        return True

    def close(self, broken: bool = False) -> None:
        """Close now; ``broken``: the connection failed (the next one is logged)."""
        self._failing = self._failing or broken
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def interrupt(self) -> None:
        """From another thread: stop connecting, and break a write blocked on a stalled peer."""
        self._interrupted = True
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class TcpTransport(Transport):
    """One persistent TCP connection. The write timeout means "no progress for
    ``write_timeout`` seconds", not a bound on a long write to a slow reader."""

    def __init__(self, destinations: list, *, connect_timeout: float = 5.0, write_timeout: float = 10.0,
                 **kw) -> None:
        super().__init__(destinations, **kw)
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self._rest = b""  # what write_nowait could not write: it goes first on this connection

    @property
    def pending(self) -> bool:
        return bool(self._rest)

    def _open(self, dest) -> socket.socket:
        sock = socket.create_connection((dest.host, dest.port), timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            for opt, val in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
                if hasattr(socket, opt):
                    sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), val)
            if hasattr(socket, "TCP_USER_TIMEOUT"):
                # Data unacknowledged for this long aborts the connection (a vanished peer).
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(self.write_timeout * 1000))
            sock.settimeout(self.write_timeout)
        except OSError:
            sock.close()
            raise
        return sock

    def write(self, data: bytes) -> int:
        sock = self._sock
        if sock is None:
            raise ConnectionResetError("not connected")
        if _peer_closed(sock):
            raise ConnectionResetError("Carbon closed the connection")
        if self._rest:
            _send_all(sock, self._rest)
            self._rest = b""
        _send_all(sock, data)
        return 0

    def write_nowait(self, data: bytes) -> bool:
        sock = self._sock
        # Not on a later destination nor an aged connection: the sending thread handles those.
        if sock is None or self.index or self._rest or self.aged or _peer_closed(sock):
            return False
        try:
            # The socket has a timeout, so its descriptor is non-blocking: a plain write()
            # never waits (sock.send would poll for room first, up to the timeout).
            n = os.write(sock.fileno(), data)
        except OSError:
            return False  # the sending thread finds out what is wrong
        self._rest = data[n:]
        return True

    def finish(self, deadline: float) -> bool:
        """Half-close and wait until Carbon closes too: then it read everything we wrote."""
        sock = self._sock
        if sock is None:
            return False
        try:
            sock.settimeout(max(0.001, deadline - self._clock()))
            if self._rest:
                _send_all(sock, self._rest)
            sock.shutdown(socket.SHUT_WR)
            while True:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return False
                sock.settimeout(remaining)
                if sock.recv(4096) == b"":
                    return not self._interrupted
        except OSError:
            return False
        finally:
            self.close()

    def close(self, broken: bool = False) -> None:
        self._rest = b""
        super().close(broken)


def _peer_closed(sock: socket.socket) -> bool:
    """A FIN or RST already received: a write now would vanish. Carbon never sends, so a
    readable socket is one at its end, or one with bytes waiting (a peer that talks back).
    poll(), not select(): select refuses a descriptor over 1024."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    try:
        return bool(poller.poll(0)) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _send_all(sock: socket.socket, data: bytes) -> None:
    """sendall whose timeout means "no progress for write_timeout": socket.sendall's bounds
    the whole call, so a Carbon reading slowly but steadily would be dropped forever."""
    view = memoryview(data)
    while view:
        view = view[sock.send(view):]
