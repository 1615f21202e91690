"""``mode: all``: every destination gets every line, each through its own buffer,
spool and thread, so one dead destination neither blocks nor starves the others."""

from __future__ import annotations

from collections import Counter

from carbon_client.sender.buffer import Batch
from carbon_client.sender.loop import STATS, Sender, close_all


class Fanout:
    def __init__(self, senders: list[Sender]) -> None:
        self.senders = senders

    def start(self) -> "Fanout":
        for s in self.senders:
            s.start()
        return self

    def put(self, data: bytes, lines: int) -> None:
        for s in self.senders:
            s.put(data, lines)

    @property
    def alive(self) -> bool:
        return all(s.alive for s in self.senders)

    @property
    def failure(self):
        return next((s.failure for s in self.senders if s.failure is not None), None)

    def health(self) -> tuple:
        each = [s.health() for s in self.senders]
        sent, dropped, resent, reconnects, buffered, spooled, connected, _ = zip(*each)
        return (sum(sent), sum(dropped), sum(resent), sum(reconnects), max(buffered), max(spooled),
                sum(connected), 0)

    def stats(self) -> dict:
        return dict(zip(STATS, self.health()))

    def losses(self) -> Counter:
        return sum((s.losses() for s in self.senders), Counter())

    def close(self, timeout: float = 5.0) -> list[bytes]:
        """Flush every destination against one deadline from this thread; what none could spool."""
        return [d for rest in close_all(self.senders, timeout) for d in rest]

    def detach(self) -> list[Batch]:
        """The largest remainder: every destination gets the lines any of them still had."""
        return max((s.detach() for s in self.senders), key=lambda r: sum(b.lines for b in r))

    def adopt(self, batches: list[Batch]) -> None:
        for s in self.senders:
            s.adopt(batches)
