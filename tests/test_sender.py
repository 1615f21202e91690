"""The sender against real loopback servers: down at start, killed mid-stream, overflow."""

from __future__ import annotations

import socket
import threading
import time

from carbon_client.config import Destination
from carbon_client.sender import Fanout, TcpSender, UdpSender
from tests.line_server import LineServer


def batch(ts: int, n: int = 10, prefix: str = "h.m") -> bytes:
    return "".join(f"{prefix}.k{i} {i} {ts}\n" for i in range(n)).encode()


def sender(*servers, **kw) -> TcpSender:
    kw.setdefault("backoff_min", 0.02)
    kw.setdefault("backoff_max", 0.2)
    kw.setdefault("write_timeout", 2.0)
    return TcpSender([Destination("127.0.0.1", s.port) for s in servers], **kw).start()


def timestamps(lines):
    return {int(line.split()[2]) for line in lines}


def test_one_persistent_connection_for_many_batches():
    srv = LineServer().start()
    s = sender(srv)
    for ts in range(100):
        s.put(batch(ts))
        time.sleep(0.002)
    got = srv.wait_lines(1000)
    s.close()
    srv.stop()
    assert len(got) == 1000
    assert srv.connections == 1
    assert s.sent == 1000 and s.dropped == 0


def test_carbon_down_at_start_then_everything_arrives():
    srv = LineServer()  # not listening yet
    s = sender(srv)
    for ts in range(50):
        s.put(batch(ts))
    time.sleep(0.5)
    assert s.buffered == 500 and not s.connected
    srv.start()
    got = srv.wait_lines(500)
    s.close()
    srv.stop()
    assert timestamps(got) == set(range(50))
    assert len(got) == 500


def test_killed_and_restarted_mid_stream_every_timestamp_arrives():
    # A slow reader leaves bytes unread in its socket when it dies: sendall
    # had returned for them, so only a resend brings them back.
    srv = LineServer(mode="slow", slow_bytes=1024, slow_every=0.02).start()  # ~50 kB/s
    s = sender(srv, resend_seconds=5.0)
    produced = []
    stop = threading.Event()

    def produce():
        ts = 0
        while not stop.is_set():
            s.put(batch(ts, 50))  # ~75 kB/s: the reader falls behind
            produced.append(ts)
            ts += 1
            time.sleep(0.01)

    t = threading.Thread(target=produce)
    t.start()
    time.sleep(0.6)
    srv.stop(rst=True)  # like SIGKILL: unread bytes are gone
    time.sleep(0.5)
    srv.mode = "read"
    srv.start()
    time.sleep(0.6)
    stop.set()
    t.join()
    got = srv.wait_for(lambda g: timestamps(g) >= set(produced), timeout=10)
    s.close()
    srv.stop()
    missing = set(produced) - timestamps(got)
    assert not missing, f"{len(missing)} timestamps lost, e.g. {sorted(missing)[:5]}"
    assert s.reconnects >= 1


def test_overflow_drops_the_oldest_lines_and_counts_them():
    srv = LineServer()
    s = sender(srv, buffer_lines=100)
    for ts in range(30):
        s.put(batch(ts, 10))
    assert s.dropped == 200
    assert s.buffered == 100
    srv.start()
    got = srv.wait_lines(100)
    time.sleep(0.2)
    s.close()
    srv.stop()
    assert timestamps(got) == set(range(20, 30))  # the newest ten batches
    assert len(got) == 100


def test_overflow_inside_one_batch_keeps_its_newest_lines():
    srv = LineServer()
    s = sender(srv, buffer_lines=25)
    s.put(batch(1, 40))
    assert s.dropped == 15
    srv.start()
    got = srv.wait_lines(25)
    s.close()
    srv.stop()
    assert sorted(int(line.split()[1]) for line in got) == list(range(15, 40))


def test_put_never_blocks_on_a_stalled_carbon():
    srv = LineServer(mode="stall").start()
    s = sender(srv, buffer_lines=10_000_000, write_timeout=30.0)
    big = batch(1, 5000)
    worst = 0.0
    for _ in range(200):  # ~50 MB: far more than the socket buffers hold
        t0 = time.perf_counter()
        s.put(big)
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.05
    assert s.buffered > 0
    srv.stop()
    s.close(timeout=0.2)


def test_close_returns_what_could_not_be_sent():
    srv = LineServer()  # never started
    s = sender(srv)
    s.put(batch(1, 5))
    s.put(batch(2, 5))
    t0 = time.monotonic()
    rest = s.close(timeout=0.3)
    assert time.monotonic() - t0 < 3.0
    assert b"".join(rest) == batch(1, 5) + batch(2, 5)


def test_failover_to_second_and_back_to_first():
    first, second = LineServer(), LineServer().start()
    s = sender(first, second, failback_interval=0.3)
    s.put(batch(1))
    assert len(second.wait_lines(10)) == 10
    assert s.destination.port == second.port
    first.start()
    deadline = time.monotonic() + 5
    ts = 2
    while time.monotonic() < deadline and not first.lines():
        s.put(batch(ts))
        ts += 1
        time.sleep(0.05)
    assert first.lines(), "never moved back to the first destination"
    assert s.destination.port == first.port
    s.close()
    first.stop()
    second.stop()
    assert timestamps(first.lines() + second.lines()) == set(range(1, ts))


def test_mode_all_each_destination_gets_every_line_one_down():
    up, down = LineServer().start(), LineServer()
    f = Fanout([sender(up), sender(down)]).start()
    for ts in range(20):
        f.put(batch(ts))
    assert len(up.wait_lines(200)) == 200
    assert f.stats()["connected"] == 1
    down.start()
    assert len(down.wait_lines(200)) == 200
    f.close()
    up.stop()
    down.stop()


def test_udp_through_graphyte_cuts_datagrams_at_line_ends():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2)
    u = UdpSender([Destination("127.0.0.1", rx.getsockname()[1])], max_datagram=200)
    data = batch(7, 30)
    u.put(data)
    got = b""
    while len(got) < len(data):
        d = rx.recv(65536)
        assert len(d) <= 200 and d.endswith(b"\n")
        got += d
    rx.close()
    assert got == data
    assert u.sent == 30


def test_direct_send_when_idle_and_a_partial_write_is_finished_in_order():
    srv = LineServer(mode="slow", slow_bytes=1 << 20, slow_every=0.01).start()
    s = sender(srv, buffer_lines=2_000_000)
    s.put(batch(0, 3))  # connects (the thread), then later puts may go out directly
    srv.wait_lines(3)
    big = [batch(ts, 400_000) for ts in range(1, 3)]  # ~9 MB each: more than a socket takes at once
    for b in big:
        s.put(b)
    got = srv.wait_lines(3 + 800_000, timeout=60)
    s.close()
    srv.stop()
    assert len(got) == 3 + 800_000
    assert set(got) == {line for b in [batch(0, 3)] + big for line in b.decode().splitlines()}
    assert srv.connections == 1
    assert s.dropped == 0


def test_direct_send_skips_the_thread_for_a_cycle_that_fits(monkeypatch):
    srv = LineServer().start()
    s = sender(srv)
    s.put(batch(0))
    srv.wait_lines(10)
    woken = []
    real = s._take
    monkeypatch.setattr(s, "_take", lambda: (woken.append(1), real())[1])
    for ts in range(1, 6):
        s.put(batch(ts))
    got = srv.wait_lines(60)
    s.close()
    srv.stop()
    assert len(got) == 60
    assert woken == []  # written by put() itself
