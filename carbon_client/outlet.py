"""The daemon's stdout and stderr, written from a thread of their own.

A terminal under scroll lock (Ctrl-S), a pager left open, a pipe nobody
reads or a stalled journal stops taking writes, and a write to it waits until
it does. Written from the collection thread (the live view's rows) or the
sender's (a log line about the connection), that wait would stop the cycles
and the sending, and even a SIGTERM. So ``run`` swaps ``sys.stdout`` and
``sys.stderr`` for the streams of one :class:`Outlet` (:func:`stdio`): a write
queues the text and returns; the outlet's thread writes it to the descriptor.
While nothing is taken, up to ``DEPTH`` writes wait and the rest are dropped;
once writes are taken again a line says how many were.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from typing import Iterator

DEPTH = 1000  # writes waiting at most (a log line or a row each)
CLOSE_WAIT = 2.0  # seconds a stop waits for what is queued to be written


class Outlet:
    """One thread writing, in order, what the streams made by :meth:`stream` are given."""

    def __init__(self, depth: int = DEPTH) -> None:
        self.dropped = 0
        self._reported = 0
        self._queue: queue.Queue = queue.Queue(depth)
        self._thread = threading.Thread(target=self._run, name="outlet", daemon=True)
        self._thread.start()

    def stream(self, stream) -> "OutletStream":
        """A stand-in for ``stream`` (it must have a descriptor) whose writes go through here."""
        return OutletStream(self, stream)

    def put(self, fd: int, data: bytes) -> None:
        try:
            self._queue.put_nowait((fd, data))
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = CLOSE_WAIT) -> None:
        """Let the thread write what is queued, for at most ``timeout`` seconds."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fd, data = item
            dropped = self.dropped
            if dropped != self._reported:
                self._reported = dropped
                data = f"carbon-client: {dropped} writes to stdout and stderr dropped so far: " \
                       f"they were not taking them\n".encode() + data
            # os.write, not the stream's own write: a thread blocked there would hold the
            # stream's lock, which the interpreter takes to flush it at exit.
            try:
                while data:
                    data = data[os.write(fd, data):]
            except OSError:
                pass  # a closed pipe or descriptor: what it would have shown goes nowhere


class OutletStream:
    """What ``print``, logging and the live view need of a text stream: write, flush, isatty,
    fileno, encoding."""

    def __init__(self, outlet: Outlet, stream) -> None:
        self.outlet = outlet
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "utf-8"
        self._fd = stream.fileno()

    def write(self, text: str) -> int:
        self.outlet.put(self._fd, text.encode(self.encoding, "backslashreplace"))
        return len(text)

    def flush(self) -> None:
        """Nothing to do: the outlet's thread writes each piece straight to the descriptor."""

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self._fd


def _has_descriptor(stream) -> bool:
    """False for None (the agent started with the stream closed) or a stand-in."""
    try:
        stream.flush()
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


@contextlib.contextmanager
def stdio() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` through one outlet while the block runs."""
    saved = sys.stdout, sys.stderr
    outlet = Outlet()
    sys.stdout, sys.stderr = (outlet.stream(s) if _has_descriptor(s) else s for s in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        outlet.close()
