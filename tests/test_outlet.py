"""carbon_client.outlet: writes that never wait on a stream that stopped reading."""

from __future__ import annotations

import os
import threading
import time

from carbon_client.outlet import Outlet
from tests.faults.process import full_pipe


def reader_of(r: int, into: list) -> threading.Thread:
    t = threading.Thread(target=lambda: into.extend(iter(lambda: os.read(r, 65536), b"")), daemon=True)
    t.start()
    return t


def test_a_stalled_stream_costs_writes_never_a_wait_and_says_how_many_it_dropped():
    r, w = full_pipe()
    outlet = Outlet(depth=3)
    with os.fdopen(w, "w") as f:
        out = outlet.stream(f)
        t0 = time.monotonic()
        for i in range(50):
            out.write(f"line {i}\n")
        assert time.monotonic() - t0 < 0.5  # fifty writes to a stream that takes none
        assert outlet.dropped >= 50 - 3 - 1  # at most the queue and the one being written wait
        dropped = outlet.dropped
        read: list[bytes] = []
        reader = reader_of(r, read)
        deadline = time.monotonic() + 10
        while not outlet._queue.empty() and time.monotonic() < deadline:  # the stream reads again
            time.sleep(0.01)
        out.write("after\n")
        outlet.close()
    reader.join(10)
    os.close(r)
    lines = b"".join(read).decode().replace("x", "").splitlines()
    notes = [x for x in lines if x.startswith("carbon-client: ")]
    assert notes == [f"carbon-client: {dropped} writes to stdout and stderr dropped so far: "
                     "they were not taking them"]
    # what waited comes out, in order, then what came after; the dropped ones never
    assert [x for x in lines if x not in notes] == [f"line {i}" for i in range(50 - dropped)] + ["after"]


def test_two_streams_share_the_thread_in_the_order_written():
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    outlet = Outlet()
    with os.fdopen(w1, "w") as f1, os.fdopen(w2, "w") as f2:
        a, b = outlet.stream(f1), outlet.stream(f2)
        for i in range(5):
            a.write(f"a{i}\n")
            b.write(f"b{i} caf\u00e9\n")
        outlet.close()
    assert os.read(r1, 4096) == b"".join(f"a{i}\n".encode() for i in range(5))
    assert os.read(r2, 4096).decode(f2.encoding) == "".join(f"b{i} caf\u00e9\n" for i in range(5))
    os.close(r1)
    os.close(r2)


def test_close_gives_up_on_a_stream_that_never_reads():
    r, w = full_pipe()
    outlet = Outlet()
    with os.fdopen(w, "w") as f:
        outlet.stream(f).write("stuck\n")
        t0 = time.monotonic()
        outlet.close(timeout=0.3)
        assert time.monotonic() - t0 < 2
        os.close(r)  # the thread's write fails with EPIPE and it ends
        outlet._thread.join(5)
        assert not outlet._thread.is_alive()
