"""The spool under random appends, reads, restarts, crashes at any byte of a write,
a damaged byte anywhere and a disk that fills at any write.

Whatever happens: every line read back is exactly a line that was appended (no
torn or merged line, nothing of a failed append), and every record whose append
returned either comes back intact or its lines are counted as lost.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon_client.sender.spool import Spool
from tests.test_spool import full_disk

count = st.integers(1, 4)
ops = st.lists(st.one_of(
    st.tuples(st.just("append"), count, st.integers(1, 60)),
    st.tuples(st.just("full"), count, st.integers(1, 60), st.integers(0, 3000)),
    st.tuples(st.just("crash"), count, st.integers(1, 60), st.integers(0, 1 << 20)),
    st.tuples(st.just("read"), st.integers(1, 4000), st.booleans()),
    st.tuples(st.just("corrupt"), st.integers(0, 1 << 20), st.integers(1, 255)),
    st.just(("reopen",)),
), max_size=25)


class World:
    """A spool directory, the spool on it, and what was appended and read back."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.spool = Spool(str(directory), max_bytes=64 << 10).open()
        self.lost = 0
        self.next_id = 0
        self.acknowledged: dict[bytes, int] = {}  # payload -> lines, for appends that returned
        self.unacknowledged: dict[bytes, int] = {}  # crashed or failed appends
        self.failed: set[bytes] = set()
        self.delivered: set[bytes] = set()
        self.corrupted: set[Path] = set()

    def batches(self, n: int, lines: int) -> list[tuple[bytes, int]]:
        out = []
        for _ in range(n):
            i = self.next_id
            self.next_id += 1
            out.append(("".join(f"p.r{i}.k{j} {j} {i}\n" for j in range(lines)).encode(), lines))
        return out

    def sizes(self) -> dict[Path, int]:
        return {p: p.stat().st_size for p in self.dir.glob("*.seg")}

    def reopen(self) -> None:
        self.lost += self.spool.dropped
        self.spool.close()
        self.spool = Spool(str(self.dir), max_bytes=64 << 10).open()

    def append(self, n: int, lines: int) -> None:
        batches = self.batches(n, lines)
        self.spool.append(batches)
        self.acknowledged.update(batches)

    def full(self, n: int, lines: int, room: int) -> None:
        batches = self.batches(n, lines)
        try:
            with full_disk(room):
                self.spool.append(batches)
        except OSError:
            self.unacknowledged.update(batches)
            self.failed.update(d for d, _ in batches)
        else:
            self.acknowledged.update(batches)

    def crash(self, n: int, lines: int, cut: int) -> None:
        """The process dies during the write: it reached some byte of it, not the end."""
        before = self.sizes()
        batches = self.batches(n, lines)
        self.spool.append(batches)
        self.unacknowledged.update(batches)
        self.lost += self.spool.dropped
        self.spool.close()
        grown = [(p, size) for p, size in self.sizes().items() if size != before.get(p, 0)]
        if grown:
            path, size = grown[0]
            start = before.get(path, 0)
            with open(path, "r+b") as f:
                f.truncate(start + cut % (size - start))
        self.spool = Spool(str(self.dir), max_bytes=64 << 10).open()

    def read(self, max_bytes: int, ack: bool) -> None:
        got, token = self.spool.peek(max_bytes)
        if ack:  # otherwise the write failed: nothing delivered
            self.delivered.update(d for d, _ in got)
            self.spool.ack(token)

    def corrupt(self, where: int, xor: int) -> None:
        files = [p for p in sorted(self.sizes()) if p not in self.corrupted and p.stat().st_size]
        if not files:
            return
        path = files[where % len(files)]
        self.corrupted.add(path)  # one damaged byte per file
        data = bytearray(path.read_bytes())
        data[where % len(data)] ^= xor
        path.write_bytes(bytes(data))

    def finish(self) -> None:
        self.reopen()
        while True:
            self.read(1 << 20, True)
            if not self.spool:
                break
        self.lost += self.spool.dropped
        self.spool.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_every_record_arrives_intact_or_is_counted_lost(ops):
    with tempfile.TemporaryDirectory() as d:
        w = World(Path(d) / "spool")
        for op, *args in ops:
            getattr(w, op)(*args)
        w.finish()
    appended = {**w.acknowledged, **w.unacknowledged}
    for payload in w.delivered:
        assert payload in appended, f"not a payload that was appended: {payload[:80]!r}"
        assert payload not in w.failed
        assert all(len(line.split(b" ")) == 3 for line in payload.splitlines())
    missing = sum(n for p, n in w.acknowledged.items() if p not in w.delivered)
    assert missing <= w.lost <= sum(appended.values())
