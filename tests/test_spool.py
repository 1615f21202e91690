"""The disk spool: order, acknowledgement, segments, the size limit, damaged and unknown
files, the directory lock, a directory removed underneath, a full disk."""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from unittest import mock

import pytest

from carbon_client.sender import records as rec
from carbon_client.sender.spool import DAMAGED, OVER_LIMIT, REMOVED, Spool, SpoolBusy


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


def segments(d) -> list:
    return sorted(p for p in d.iterdir() if p.suffix == ".seg")


def disk_bytes(d) -> int:
    return sum(p.stat().st_size for p in segments(d))


@contextmanager
def full_disk(room: int):
    """The disk takes ``room`` more bytes (a short write), then every write fails with ENOSPC.

    os.pwrite is wrapped, not RLIMIT_FSIZE set: that limit is the whole process's,
    and other threads of the test run write files too."""
    real, left = os.pwrite, [room]

    def pwrite(fd, data, offset):
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real(fd, bytes(data[:left[0]]), offset)
        left[0] -= n
        return n

    with mock.patch.object(os, "pwrite", pwrite):
        yield


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
    assert segments(tmp_path / "s") == []


def test_unacknowledged_records_survive_a_restart(tmp_path):
    sp = Spool(str(tmp_path / "s")).open()
    sp.append([batch(i) for i in range(5)])
    got, _ = sp.peek(1)  # read one, never acknowledged
    assert len(got) == 1
    sp.close()
    assert drain(Spool(str(tmp_path / "s")).open()) == [batch(i)[0] for i in range(5)]


def test_peek_respects_max_bytes_and_partial_acks(tmp_path):
    sp = Spool(str(tmp_path / "s")).open()
    sp.append([batch(i) for i in range(10)])
    one = len(rec.record(*batch(0)))
    got, token = sp.peek(one * 3)
    assert len(got) == 3
    sp.ack(token)
    assert sp.lines == 21
    assert drain(sp) == [batch(i)[0] for i in range(3, 10)]


def test_segments_rotate_and_fully_sent_segments_are_deleted(tmp_path):
    sp = Spool(str(tmp_path / "s"), max_bytes=64 << 10).open()
    for i in range(400):
        sp.append([batch(i)])
    assert len(segments(tmp_path / "s")) > 2
    assert drain(sp) == [batch(i)[0] for i in range(400)]
    assert segments(tmp_path / "s") == []


@pytest.mark.parametrize("limit", [64 << 10, 100_000, 300_000])
def test_the_size_limit_holds_on_disk_and_the_newest_lines_survive(tmp_path, limit):
    d = tmp_path / "s"
    sp = Spool(str(d), max_bytes=limit).open()
    n = limit // 400 * 10  # about four times the limit
    for i in range(0, n, 10):
        sp.append([batch(j) for j in range(i, i + 10)])
        assert disk_bytes(d) <= limit
    assert sp.drops[OVER_LIMIT] > 0
    kept = drain(sp)
    assert len(kept) * 3 + sp.dropped == 3 * n
    assert kept == [batch(i)[0] for i in range(n - len(kept), n)]
    assert len(kept) * len(rec.record(*batch(0))) > limit * 0.7  # dropped a segment at a time, not all


def test_a_batch_larger_than_the_limit_keeps_its_newest_lines(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d), max_bytes=64 << 10).open()
    big = batch(1, 5000)  # ~75 kB
    sp.append([big])
    assert disk_bytes(d) <= 64 << 10
    kept = b"".join(drain(sp))
    assert big[0].endswith(kept) and kept.count(b"\n") + sp.drops[OVER_LIMIT] == 5000


def test_a_torn_last_record_is_skipped_and_counted(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d)).open()
    sp.append([batch(1), batch(2)])
    sp.append([batch(3)])
    sp.close()
    seg = segments(d)[0]
    seg.write_bytes(seg.read_bytes()[:-5])  # power lost in the middle of the last write
    again = Spool(str(d)).open()
    assert again.drops == {DAMAGED: 3}
    assert drain(again) == [batch(1)[0], batch(2)[0]]


@pytest.mark.parametrize("where", ["payload", "header", "magic"])
def test_one_damaged_byte_loses_only_its_record(tmp_path, where):
    d = tmp_path / "s"
    sp = Spool(str(d)).open()
    sp.append([batch(i) for i in range(5)])
    sp.close()
    seg = segments(d)[0]
    data = bytearray(seg.read_bytes())
    one = len(rec.record(*batch(0)))
    third = rec.FILE_HEADER_SIZE + 2 * one
    data[third + {"payload": rec.HEADER.size + 4, "header": 6, "magic": 1}[where]] ^= 0x55
    seg.write_bytes(bytes(data))
    again = Spool(str(d)).open()
    assert drain(again) == [batch(i)[0] for i in (0, 1, 3, 4)]
    assert again.drops == {DAMAGED: 3}


def test_damage_is_counted_once_however_often_the_spool_opens(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d)).open()
    sp.append([batch(i) for i in range(3)])
    sp.close()
    seg = segments(d)[0]
    data = bytearray(seg.read_bytes())
    data[rec.FILE_HEADER_SIZE + rec.HEADER.size + 2] ^= 0x01
    seg.write_bytes(bytes(data))
    first = Spool(str(d)).open()
    assert first.drops == {DAMAGED: 3}
    first.close()
    again = Spool(str(d)).open()
    assert again.dropped == 0
    assert drain(again) == [batch(1)[0], batch(2)[0]]


def test_damage_after_opening_is_found_when_read(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d)).open()
    sp.append([batch(i) for i in range(3)])
    seg = segments(d)[0]
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0x01
    seg.write_bytes(bytes(data))
    assert drain(sp) == [batch(0)[0], batch(1)[0]]
    assert sp.drops == {DAMAGED: 3} and sp.lines == 0


@pytest.mark.parametrize("content", [b"CCS1" + bytes(12) + b"h.m.k 1 2\n",
                                     rec.FILE_HEADER[:8] + b"\x03\0\0\0" + bytes(4) + b"future"],
                         ids=["version-1", "version-3"])
def test_a_segment_of_an_unknown_format_is_set_aside(tmp_path, content):
    d = tmp_path / "s"
    d.mkdir()
    (d / "00000000000000000001.seg").write_bytes(content)
    sp = Spool(str(d)).open()
    assert not sp and sp.dropped == 0
    assert (d / "00000000000000000001.seg.unknown").read_bytes() == content
    sp.append([batch(1)])
    assert drain(sp) == [batch(1)[0]]


def test_a_damaged_file_header_is_not_an_unknown_format(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d)).open()
    sp.append([batch(1), batch(2)])
    sp.close()
    seg = segments(d)[0]
    data = bytearray(seg.read_bytes())
    data[9] ^= 0xFF  # the version field
    seg.write_bytes(bytes(data))
    assert drain(Spool(str(d)).open()) == [batch(1)[0], batch(2)[0]]


def test_a_second_spool_on_the_same_directory_is_refused(tmp_path):
    first = Spool(str(tmp_path / "s")).open()
    with pytest.raises(SpoolBusy, match=str(tmp_path / "s")) as err:
        Spool(str(tmp_path / "s")).open()
    assert f"pid {os.getpid()}" in str(err.value)
    first.close()
    Spool(str(tmp_path / "s")).open().close()  # released


def test_a_removed_directory_is_created_again_and_its_lines_counted(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d), max_bytes=64 << 10).open()
    for i in range(300):
        sp.append([batch(i)])
    before = sp.lines
    for p in d.iterdir():
        p.unlink()
    d.rmdir()
    sp.append([batch(1000)])
    assert (d / "lock").exists()
    assert sp.drops == {REMOVED: before}
    assert drain(sp) == [batch(1000)[0]]


def test_a_removed_segment_is_skipped_and_counted(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d), max_bytes=64 << 10).open()
    for i in range(300):
        sp.append([batch(i)])
    first = segments(d)[0]
    in_first = len(rec.scan(first.read_bytes(), rec.FILE_HEADER_SIZE)[0])
    first.unlink()
    kept = drain(sp)
    assert kept == [batch(i)[0] for i in range(in_first, 300)]
    assert sp.drops == {REMOVED: 3 * in_first}


def test_unwritable_place_raises_oserror(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    sp = Spool(str(blocker / "spool"))
    with pytest.raises(OSError):
        sp.open()
    with pytest.raises(OSError):
        sp.append([batch(1)])
    assert sp.lines == 0


def test_a_full_disk_stores_nothing_half_and_the_spool_goes_on(tmp_path):
    d = tmp_path / "s"
    sp = Spool(str(d)).open()
    sp.append([batch(1)])
    size = disk_bytes(d)
    with full_disk(10), pytest.raises(OSError):  # a short write, then ENOSPC
        sp.append([batch(2)])
    assert disk_bytes(d) == size
    sp.append([batch(3)])
    sp.close()
    assert drain(Spool(str(d)).open()) == [batch(1)[0], batch(3)[0]]
