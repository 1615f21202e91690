"""A Carbon-like plaintext receiver on 127.0.0.1 that fails on demand.

Modes: ``read`` (reads everything), ``stall`` (accepts and never reads),
``slow`` (reads ``slow_bytes`` every ``slow_every`` seconds), ``reset`` (the
first connection is reset after ``reset_after`` bytes, in the middle of a
batch; later ones read normally), ``flap`` (reads, and closes every connection
``flap_every`` seconds after accepting it). ``stop(rst=True)``
closes with RST like a killed process with unread data; ``start()`` again
listens on the same port.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Callable


class LineServer:
    def __init__(self, port: int = 0, mode: str = "read", slow_bytes: int = 4096,
                 slow_every: float = 0.05, reset_after: int = 10_000, flap_every: float = 0.7) -> None:
        self.port = port
        self.flap_every = flap_every
        self.mode = mode
        self.reset_after = reset_after
        self.resets = 0
        self.slow_bytes = slow_bytes
        self.slow_every = slow_every
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._stopping = threading.Event()
        self.connections = 0
        if port == 0:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]

    # -- control --------------------------------------------------------------

    def start(self) -> "LineServer":
        self._stopping.clear()
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(16)
        self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()
        return self

    def stop(self, rst: bool = False) -> None:
        self._stopping.set()
        ls, self._listener = self._listener, None
        if ls is not None:
            try:
                ls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            ls.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            if rst:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            try:
                c.close()
            except OSError:
                pass

    # -- results --------------------------------------------------------------

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.lines()
            if predicate(got) or time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    def wait_lines(self, n: int, timeout: float = 10.0) -> list[str]:
        return self.wait_for(lambda got: len(got) >= n, timeout)

    # -- internals ------------------------------------------------------------

    def _accept(self, ls: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = ls.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        if self.mode == "stall":
            self._stopping.wait()
            return
        pending = b""
        received = 0
        with self._lock:
            reset_this = self.mode == "reset" and self.resets == 0
        close_at = None
        if self.mode == "flap":
            close_at = time.monotonic() + self.flap_every
            conn.settimeout(0.05)
        while True:
            if close_at is not None and time.monotonic() >= close_at:
                conn.close()
                return
            try:
                if self.mode == "slow":
                    time.sleep(self.slow_every)
                    data = conn.recv(self.slow_bytes)
                else:
                    data = conn.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                conn.close()
                return
            received += len(data)
            if reset_this and received >= self.reset_after:
                # Keep the bytes up to the cut, like a receiver that died mid-batch.
                data = data[: len(data) - (received - self.reset_after)]
                pending += data
                *complete, _torn = pending.split(b"\n")
                with self._lock:
                    self._lines.extend(c.decode() for c in complete)
                    self.resets += 1
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            pending += data
            *complete, pending = pending.split(b"\n")
            if complete:
                with self._lock:
                    self._lines.extend(c.decode() for c in complete)
