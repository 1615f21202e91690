"""The buffer's contract (add, take, accept, reject; the resend window; spill), with a
hand-driven clock and a real spool."""

from __future__ import annotations

import pytest

from carbon_client.sender.buffer import MAX_RESENDS, OVERFLOW, Buffer
from carbon_client.sender.spool import OVER_LIMIT, Spool


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lines(tag: str, n: int = 2) -> bytes:
    return "".join(f"h.{tag}.k{i} {i} 1\n" for i in range(n)).encode()


def buffer(**kw) -> tuple[Buffer, Clock]:
    clock = Clock()
    kw.setdefault("resend_seconds", 20.0)
    return Buffer(kw.pop("max_lines", 1000), clock=clock, **kw), clock


def test_take_joins_batches_up_to_max_bytes_but_always_one():
    b, _ = buffer()
    for tag in "abc":
        b.add(lines(tag), 2)
    first = b.take(max_bytes=2 * len(lines("a")))
    assert first.data == lines("a") + lines("b") and first.lines == 4
    b.accept(first)
    big = b.take(max_bytes=1)
    assert big.data == lines("c")


def test_reject_puts_a_batch_back_at_the_head_accept_counts_it_sent():
    b, _ = buffer()
    b.add(lines("a"), 2)
    taken = b.take(1 << 20)
    b.add(lines("b"), 2)
    b.reject(taken)
    assert b.buffered == 4
    again = b.take(1 << 20)
    assert again.data == lines("a") + lines("b")
    b.accept(again)
    assert b.sent == 4 and b.buffered == 0 and b.idle()


def test_overflow_drops_the_oldest_and_counts_them():
    b, _ = buffer(max_lines=5)
    for tag in "abcd":
        b.add(lines(tag), 2)
    assert b.buffered == 5 and b.drops == {OVERFLOW: 3}
    assert b.take(1 << 20).data == lines("b")[len(lines("b")) // 2:] + lines("c") + lines("d")


def test_a_lost_connection_sends_the_window_again_first():
    b, clock = buffer()
    b.add(lines("a"), 2)
    b.accept(b.take(1 << 20))
    b.add(lines("b"), 2)
    b.connection_lost()
    again = b.take(1 << 20)
    assert again.data == lines("a") + lines("b")
    b.accept(again)
    assert b.resent == 2 and b.sent == 6


def test_copies_waiting_for_a_resend_go_first_and_uncounted_when_memory_is_full():
    b, clock = buffer(max_lines=4)
    for tag in "ab":
        b.add(lines(tag), 2)
        b.accept(b.take(1))
    b.add(lines("c"), 2)
    b.connection_lost()  # a, b (sent) and c (never sent): six lines for four places
    assert b.buffered == 4 and b.dropped == 0
    b.add(lines("d"), 2)
    b.add(lines("e"), 2)
    assert b.drops == {OVERFLOW: 2}  # c: the copies went first
    assert b.take(1 << 20).data == lines("d") + lines("e")


def test_the_window_expires_by_first_write_not_by_the_last_resend():
    b, clock = buffer(resend_seconds=10)
    b.add(lines("a"), 2)
    b.accept(b.take(1 << 20))
    for _ in range(3):  # a Carbon that drops the connection every few seconds
        clock.now += 4
        b.connection_lost()
        taken = b.take(1 << 20)
        if taken is None:
            break
        b.accept(taken)
    assert b.resent == 4  # at 4 s and 8 s; at 12 s the first write is past the window


def test_a_line_is_sent_again_at_most_twice_whatever_the_window():
    b, clock = buffer(resend_seconds=3600)
    b.add(lines("a"), 2)
    b.accept(b.take(1 << 20))
    for _ in range(10):
        clock.now += 0.7
        b.connection_lost()
        taken = b.take(1 << 20)
        if taken is None:
            break
        b.accept(taken)
    assert b.resent == 2 * MAX_RESENDS and b.sent == 2 * (1 + MAX_RESENDS)


def test_the_window_keeps_at_most_its_byte_cap():
    b, _ = buffer(resend_max_bytes=3 * len(lines("a")))
    for tag in "abcdef":
        b.add(lines(tag), 2)
        b.accept(b.take(1))
    b.connection_lost()
    assert b.take(1 << 20).data == lines("d") + lines("e") + lines("f")


def test_drain_hands_over_the_window_what_was_taken_and_the_queue_in_order():
    b, _ = buffer()
    b.add(lines("a"), 2)
    b.accept(b.take(1 << 20))
    b.add(lines("b"), 2)
    b.add(lines("c"), 2)
    taken = b.take(len(lines("b")))
    assert [(x.data, x.lines) for x in b.drain()] == [(lines("a"), 2), (lines("b"), 2), (lines("c"), 2)]
    b.accept(taken)  # a late write from the old thread changes nothing
    assert b.sent == 2 and b.drain() == []


def test_delivered_forgets_the_window():
    b, _ = buffer()
    b.add(lines("a"), 2)
    b.accept(b.take(1 << 20))
    b.delivered()
    assert b.drain() == []


def test_spill_moves_the_oldest_to_the_spool_which_is_read_first(tmp_path):
    spool = Spool(str(tmp_path / "s")).open()
    b, _ = buffer(max_lines=10, spool=spool)
    for tag in "abcde":
        b.add(lines(tag), 2)
    b.spill()  # past spill_at (5): down to half of it
    assert spool.lines == 8 and b.buffered == 2
    taken = b.take(1 << 20)
    assert taken.data == b"".join(lines(t) for t in "abcd")
    b.accept(taken)
    assert spool.lines == 0 and b.take(1 << 20).data == lines("e")


def test_a_spill_the_spool_cannot_hold_keeps_only_the_newest(tmp_path):
    spool = Spool(str(tmp_path / "s"), max_bytes=64 << 10).open()
    b, _ = buffer(max_lines=100_000, spill_at=1000, spool=spool)
    for i in range(3000):
        b.add(lines(str(i)), 2)
    b.spill()
    assert b.drops[OVER_LIMIT] + spool.dropped > 0
    assert spool.lines + b.buffered + b.dropped == 6000
    assert spool.bytes <= 64 << 10


def test_a_failing_spool_keeps_lines_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    b, _ = buffer(max_lines=10, spool=Spool(str(blocker / "spool")))
    for tag in "abcdef":
        b.add(lines(tag), 2)
    b.spill()
    assert b.spool_failing and b.buffered == 10 and b.drops == {OVERFLOW: 2}
    assert b.take(1 << 20).data == b"".join(lines(t) for t in "bcdef")


@pytest.mark.parametrize("kind", ["accept", "reject"])
def test_restore_after_an_error_leaves_nothing_in_limbo(kind):
    b, _ = buffer()
    b.add(lines("a"), 2)
    taken = b.take(1 << 20)
    b.restore()
    assert b.buffered == 2
    getattr(b, kind)(taken)  # the failed step's own late call is harmless
    assert b.take(1 << 20).data == lines("a")


def test_adopt_keeps_what_a_drained_buffer_knew_of_each_batch():
    old, _ = buffer()
    for tag in "ab":
        old.add(lines(tag), 2)
        old.accept(old.take(1))
    old.add(lines("c"), 2)
    new, _ = buffer(max_lines=3)
    new.adopt(old.drain())  # a and b were written once: copies; c never was
    assert new.dropped == 0 and new.buffered == 3
    taken = new.take(1 << 20)
    assert taken.data == lines("b")[len(lines("b")) // 2:] + lines("c")
    new.accept(taken)
    assert new.resent == 1 and new.sent == 3  # the half of b is written again
