"""The disk spool: order, acknowledgement, segments, size limit, torn tails, unwritable places."""

from __future__ import annotations

import os

import pytest

from carbon_client.spool import HEADER, Spool, scan


def batch(i: int, n: int = 3) -> tuple[bytes, int]:
    return "".join(f"h.m.k{j} {j} {1000 + i}\n" for j in range(n)).encode(), n


def drain(spool: Spool, max_bytes: int = 1 << 20) -> list[bytes]:
    out = []
    while True:
        got, token = spool.peek(max_bytes)
        if not got:
            return out
        out.extend(d for d, _ in got)
        spool.ack(token)


def test_records_come_back_in_order_and_acknowledged_ones_go(tmp_path):
    sp = Spool(str(tmp_path / "s")).open()
    sp.append([batch(1), batch(2)])
    sp.append([batch(3)])
    assert sp.lines == 9
    got, token = sp.peek(1 << 20)
    assert [d for d, _ in got] == [batch(1)[0], batch(2)[0], batch(3)[0]]
    assert sp.lines == 9  # not acknowledged yet: still there
    sp.ack(token)
    assert sp.lines == 0 and not sp
    assert os.listdir(tmp_path / "s") == []


def test_unacknowledged_records_survive_a_restart(tmp_path):
    sp = Spool(str(tmp_path / "s")).open()
    sp.append([batch(i) for i in range(5)])
    got, _ = sp.peek(len(batch(0)[0]) + HEADER.size)  # read one, never acknowledged
    assert len(got) == 1
    sp.close()
    again = Spool(str(tmp_path / "s")).open()
    assert drain(again) == [batch(i)[0] for i in range(5)]


def test_peek_respects_max_bytes_and_partial_acks(tmp_path):
    sp = Spool(str(tmp_path / "s")).open()
    sp.append([batch(i) for i in range(10)])
    one = len(batch(0)[0]) + HEADER.size
    got, token = sp.peek(one * 3)
    assert len(got) == 3
    sp.ack(token)
    assert sp.lines == 21
    assert drain(sp) == [batch(i)[0] for i in range(3, 10)]


def test_segments_rotate_and_fully_sent_segments_are_deleted(tmp_path):
    sp = Spool(str(tmp_path / "s"), segment_bytes=200).open()
    for i in range(12):
        sp.append([batch(i)])
    segs = sorted(os.listdir(tmp_path / "s"))
    assert len(segs) > 2
    assert drain(sp) == [batch(i)[0] for i in range(12)]
    assert os.listdir(tmp_path / "s") == []


def test_over_the_size_limit_the_oldest_lines_are_dropped_and_counted(tmp_path):
    sp = Spool(str(tmp_path / "s"), max_bytes=1000, segment_bytes=300).open()
    for i in range(40):
        sp.append([batch(i)])
    assert sp.bytes <= 1000 + 300
    assert sp.dropped > 0
    kept = drain(sp)
    assert len(kept) * 3 + sp.dropped == 40 * 3
    assert kept == [batch(i)[0] for i in range(40 - len(kept), 40)]  # the newest survive


def test_a_torn_last_record_is_cut_off_and_the_rest_kept(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d)).open()
    sp.append([batch(1), batch(2)])
    sp.close()
    seg = d / sorted(os.listdir(d))[0]
    whole = seg.read_bytes()
    with open(seg, "ab") as f:  # a power cut in the middle of the next record
        f.write(HEADER.pack(b"CCS1", 500, 3, 0) + b"h.m.k0 0 10")
    again = Spool(str(d)).open()
    assert again.torn == 1
    assert seg.read_bytes() == whole
    assert drain(again) == [batch(1)[0], batch(2)[0]]


def test_a_corrupted_record_ends_what_is_trusted_in_its_segment(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d)).open()
    sp.append([batch(1), batch(2), batch(3)])
    sp.close()
    seg = d / os.listdir(d)[0]
    data = bytearray(seg.read_bytes())
    second = len(batch(1)[0]) + HEADER.size
    data[second + HEADER.size + 2] ^= 0xFF  # flip a byte in record 2's payload
    seg.write_bytes(bytes(data))
    records, end, torn = scan(str(seg))
    assert len(records) == 1 and torn
    assert drain(Spool(str(d)).open()) == [batch(1)[0]]


def test_unwritable_place_raises_oserror(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    sp = Spool(str(blocker / "spool"))
    with pytest.raises(OSError):
        sp.open()
    with pytest.raises(OSError):
        sp.append([batch(1)])
    assert sp.lines == 0


def test_a_failed_append_leaves_no_half_record(tmp_path, monkeypatch):
    sp = Spool(str(tmp_path / "s")).open()
    sp.append([batch(1)])
    real_fsync = os.fsync

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        sp.append([batch(2)])
    monkeypatch.setattr(os, "fsync", real_fsync)
    sp.append([batch(3)])
    sp.close()
    assert drain(Spool(str(tmp_path / "s")).open()) == [batch(1)[0], batch(3)[0]]
