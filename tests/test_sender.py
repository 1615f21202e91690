"""The sender against real loopback servers: down at start, killed mid-stream, overflow,
failover, fan-out, UDP, and put() writing itself when the connection is idle."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from carbon_client.config import Destination
from carbon_client.sender import Fanout, Sender
from carbon_client.sender.buffer import OVERFLOW, UNSENT, Buffer
from carbon_client.sender.spool import Spool
from carbon_client.sender.transport import TcpTransport
from carbon_client.sender.udp import UdpTransport
from tests.line_server import LineServer


def batch(ts: int, n: int = 10, prefix: str = "h.m") -> bytes:
    return "".join(f"{prefix}.k{i} {i} {ts}\n" for i in range(n)).encode()


def put(s, data: bytes) -> None:
    s.put(data, data.count(b"\n"))


def sender(*servers, buffer_lines=200_000, resend_seconds=20.0, spool=None, write_timeout=2.0,
           failback_interval=60.0, reconnect_interval=None) -> Sender:
    transport = TcpTransport([Destination("127.0.0.1", s.port) for s in servers], backoff_min=0.02,
                             backoff_max=0.2, write_timeout=write_timeout, failback_interval=failback_interval,
                             reconnect_interval=reconnect_interval)
    return Sender(transport, Buffer(buffer_lines, spool=spool, resend_seconds=resend_seconds)).start()


def timestamps(lines):
    return {int(line.split()[2]) for line in lines}


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


def test_one_persistent_connection_for_many_batches():
    srv = LineServer().start()
    s = sender(srv)
    for ts in range(100):
        put(s, batch(ts))
        time.sleep(0.002)
    got = srv.wait_lines(1000)
    s.close()
    srv.stop()
    assert len(got) == 1000
    assert srv.connections == 1
    assert s.stats()["sent"] == 1000 and s.stats()["dropped"] == 0


def test_carbon_down_at_start_then_everything_arrives():
    srv = LineServer()  # not listening yet
    s = sender(srv)
    for ts in range(50):
        put(s, batch(ts))
    time.sleep(0.5)
    assert s.stats()["buffered"] == 500 and not s.stats()["connected"]
    srv.start()
    got = srv.wait_lines(500)
    s.close()
    srv.stop()
    assert timestamps(got) == set(range(50))
    assert len(got) == 500


def test_killed_and_restarted_mid_stream_every_timestamp_arrives():
    # A slow reader leaves bytes unread in its socket when it dies: the write had
    # returned for them, so only a resend brings them back.
    srv = LineServer(mode="slow", slow_bytes=1024, slow_every=0.02).start()  # ~50 kB/s
    s = sender(srv, resend_seconds=5.0)
    produced = []
    stop = threading.Event()

    def produce():
        ts = 0
        while not stop.is_set():
            put(s, batch(ts, 50))  # ~75 kB/s: the reader falls behind
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
    assert s.stats()["reconnects"] >= 1 and s.stats()["resent"] > 0


def test_overflow_drops_the_oldest_lines_and_counts_them():
    srv = LineServer()
    s = sender(srv, buffer_lines=100)
    for ts in range(30):
        put(s, batch(ts, 10))
    assert s.stats()["dropped"] == 200 and s.losses() == {OVERFLOW: 200}
    assert s.stats()["buffered"] == 100
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
    put(s, batch(1, 40))
    assert s.stats()["dropped"] == 15
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
        put(s, big)
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.05
    assert s.stats()["buffered"] > 0
    srv.stop()
    s.close(timeout=0.2)


def test_close_returns_what_could_not_be_sent_and_counts_it():
    srv = LineServer()  # never started
    s = sender(srv)
    put(s, batch(1, 5))
    put(s, batch(2, 5))
    t0 = time.monotonic()
    rest = s.close(timeout=0.3)
    assert time.monotonic() - t0 < 3.0
    assert b"".join(rest) == batch(1, 5) + batch(2, 5)
    assert s.losses() == {UNSENT: 10}


def test_failover_to_second_and_back_to_first():
    first, second = LineServer(), LineServer().start()
    s = sender(first, second, failback_interval=0.3)
    put(s, batch(1))
    assert len(second.wait_lines(10)) == 10
    assert s.stats()["destination"] == 2
    first.start()
    deadline = time.monotonic() + 5
    ts = 2
    while time.monotonic() < deadline and not first.lines():
        put(s, batch(ts))
        ts += 1
        time.sleep(0.05)
    assert first.lines(), "never moved back to the first destination"
    assert s.stats()["destination"] == 1
    s.close()
    first.stop()
    second.stop()
    assert timestamps(first.lines() + second.lines()) == set(range(1, ts))


def test_the_first_connection_and_a_failover_are_logged_at_info(caplog):
    first, second = LineServer(), LineServer().start()
    caplog.set_level("INFO", logger="carbon_client.sender")
    s = sender(first, second)
    put(s, batch(1))
    assert len(second.wait_lines(10)) == 10
    s.close()
    second.stop()
    second.start()
    s = sender(second)
    put(s, batch(2))
    assert len(second.wait_lines(20)) == 20
    s.close()
    second.stop()
    infos = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    assert f"connected to Carbon at 127.0.0.1:{second.port} (failover: 127.0.0.1:{first.port} " \
           "does not answer)" in infos
    assert f"connected to Carbon at 127.0.0.1:{second.port}" in infos


def test_reconnect_interval_opens_new_connections_and_loses_nothing():
    srv = LineServer().start()
    s = sender(srv, reconnect_interval=0.3)
    ts = 0
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        put(s, batch(ts))
        ts += 1
        time.sleep(0.02)
    s.close()
    srv.stop()
    got = srv.lines()
    assert srv.connections >= 4, srv.connections
    assert timestamps(got) == set(range(ts))
    assert len(got) == 10 * ts, "a confirmed connection was sent again"
    assert s.stats()["resent"] == 0


def test_mode_all_each_destination_gets_every_line_one_down():
    up, down = LineServer().start(), LineServer()
    f = Fanout([sender(up), sender(down)]).start()
    for ts in range(20):
        put(f, batch(ts))
    assert len(up.wait_lines(200)) == 200
    assert f.stats()["connected"] == 1
    down.start()
    assert len(down.wait_lines(200)) == 200
    f.close()
    up.stop()
    down.stop()


def udp_sender(host: str, port: int) -> Sender:
    transport = UdpTransport([Destination(host, port)], max_datagram=200, backoff_min=0.02, backoff_max=0.2)
    return Sender(transport, Buffer(10_000, resend_seconds=0)).start()


@pytest.mark.parametrize("family,host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")],
                         ids=["ipv4", "ipv6"])
def test_udp_cuts_datagrams_at_line_ends(family, host):
    try:
        rx = socket.socket(family, socket.SOCK_DGRAM)
        rx.bind((host, 0))
    except OSError as exc:
        pytest.skip(f"no {host} here: {exc}")
    rx.settimeout(5)
    u = udp_sender(host, rx.getsockname()[1])
    data = batch(7, 30)
    put(u, data)
    got = b""
    while len(got) < len(data):
        d = rx.recv(65536)
        assert len(d) <= 200 and d.endswith(b"\n")
        got += d
    rx.close()
    u.close(1)
    assert got == data
    assert u.stats()["sent"] == 30 and u.stats()["dropped"] == 0


def test_udp_refused_datagrams_are_dropped_never_sent():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens once it is closed: ICMP port unreachable
    u = udp_sender("127.0.0.1", port)
    for ts in range(50):
        put(u, batch(ts, 3))
        time.sleep(0.005)
    assert wait_until(lambda: u.stats()["sent"] + u.stats()["dropped"] == 150)
    u.close(1)
    assert u.stats()["dropped"] > 0 and u.stats()["sent"] + u.stats()["dropped"] == 150


def test_put_writes_itself_on_an_idle_connection_without_waking_the_thread():
    srv = LineServer().start()
    s = sender(srv)
    put(s, batch(0))  # the thread connects and writes this one
    srv.wait_lines(10)
    assert wait_until(lambda: s.stats()["buffered"] == 0)
    taken = []
    real = s.buffer.take
    s.buffer.take = lambda *a, **kw: taken.append(1) or real(*a, **kw)
    for ts in range(1, 6):
        put(s, batch(ts))
        assert s.stats()["sent"] == 10 * (ts + 1)  # counted when put() returns: it wrote them
    got = srv.wait_lines(60)
    s.close()
    srv.stop()
    assert len(got) == 60
    assert taken == []


def test_a_partial_write_from_put_is_finished_in_order():
    srv = LineServer(mode="slow", slow_bytes=1 << 20, slow_every=0.01).start()
    s = sender(srv, buffer_lines=2_000_000)
    put(s, batch(0, 3))
    srv.wait_lines(3)
    assert wait_until(lambda: s.stats()["buffered"] == 0)
    big = [batch(ts, 400_000) for ts in range(1, 3)]  # ~9 MB each: more than a socket takes at once
    for b in big:
        put(s, b)
    got = srv.wait_lines(3 + 800_000, timeout=60)
    s.close()
    srv.stop()
    assert got == [line for b in [batch(0, 3)] + big for line in b.decode().splitlines()]
    assert srv.connections == 1


def test_close_spools_the_resend_window_when_carbon_did_not_confirm(tmp_path):
    srv = LineServer(mode="stall").start()  # takes the bytes into its socket, never reads them
    spool = Spool(str(tmp_path / "spool")).open()
    s = sender(srv, spool=spool)
    for ts in range(5):
        put(s, batch(ts))
    assert wait_until(lambda: s.stats()["sent"] == 50)
    assert s.close(0.5) == []
    srv.stop(rst=True)
    again = Spool(str(tmp_path / "spool")).open()
    got, _ = again.peek(1 << 20)
    assert timestamps(b"".join(d for d, _ in got).decode().splitlines()) == set(range(5))


def test_close_forgets_the_window_once_carbon_read_everything(tmp_path):
    srv = LineServer().start()
    spool = Spool(str(tmp_path / "spool")).open()
    s = sender(srv, spool=spool)
    for ts in range(5):
        put(s, batch(ts))
    srv.wait_lines(50)
    assert s.close(5) == []
    srv.stop()
    assert Spool(str(tmp_path / "spool")).open().lines == 0


def test_detach_does_not_wait_on_a_stalled_write():
    srv = LineServer(mode="stall").start()
    s = sender(srv, write_timeout=30.0, buffer_lines=10_000_000)
    big = batch(1, 50_000)
    for _ in range(40):  # ~70 MB: the thread ends up blocked in a write
        put(s, big)
    time.sleep(0.5)
    t0 = time.monotonic()
    carried = s.detach()
    took = time.monotonic() - t0
    srv.stop()
    assert took < 5, f"detach waited {took:.1f} s"
    assert sum(b.lines for b in carried) >= 40 * 50_000 - s.stats()["sent"]


def test_detach_from_a_connection_that_confirms_hands_over_no_window():
    srv = LineServer().start()
    s = sender(srv)
    for ts in range(3):
        put(s, batch(ts))
    srv.wait_lines(30)
    assert s.detach() == []
    srv.stop()
