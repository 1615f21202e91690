"""The sender's connection as the socket layer sees it: a descriptor past select()'s limit,
and a peer that writes back when Carbon never does."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from tests.line_server import LineServer
from tests.test_sender import batch, put, sender, timestamps, wait_until


@pytest.fixture
def descriptors_past_1024():
    """This process holding descriptors beyond select()'s FD_SETSIZE, so the next socket's is
    over 1024 (a service with LimitNOFILE raised, many probes, pipes and kept files)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    with open("/dev/null", "rb") as f:
        while not held or held[-1] < 1030:
            held.append(os.dup(f.fileno()))
    yield
    for fd in held:
        os.close(fd)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_connection_on_a_descriptor_past_1024_sends_everything(descriptors_past_1024):
    srv = LineServer().start()
    s = sender(srv)
    for ts in range(20):
        put(s, batch(ts))
        time.sleep(0.01)
    got = srv.wait_lines(200)
    assert s.transport._sock.fileno() > 1024
    assert s.alive
    s.close()
    srv.stop()
    assert timestamps(got) == set(range(20)) and len(got) == 200


def test_a_carbon_that_talks_back_is_not_taken_for_a_closed_one():
    """Carbon never sends; a peer that does (a misdirected port, a hostile one) must neither
    be taken for one that closed (reconnect after reconnect) nor stop the lines."""
    lst = socket.create_server(("127.0.0.1", 0))
    port = lst.getsockname()[1]
    got, conns, stop = [], [], threading.Event()

    def serve():
        lst.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = lst.accept()
            except OSError:
                continue
            conns.append(conn)
            conn.setblocking(False)
            buf = b""
            while not stop.is_set():
                try:
                    conn.send(b"HTTP/1.1 400 Bad Request\r\n" * 64)
                except OSError:
                    pass
                try:
                    data = conn.recv(65536)
                except BlockingIOError:
                    time.sleep(0.005)
                    continue
                except OSError:
                    break
                if not data:
                    break
                buf += data
                *lines, buf = buf.split(b"\n")
                got.extend(lines)
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()

    class Port:
        pass
    srv = Port()
    srv.port = port
    s = sender(srv)
    for ts in range(30):
        put(s, batch(ts))
        time.sleep(0.02)
    assert wait_until(lambda: len(got) >= 300)
    s.close(1.0)
    stop.set()
    t.join(5)
    lst.close()
    assert timestamps(got) == set(range(30))
    assert len(conns) == 1
    assert s.stats()["dropped"] == 0
