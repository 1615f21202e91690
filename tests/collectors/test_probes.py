"""Probes against loopback servers: an HTTP server that answers, errors, hangs and is slow;
a TLS server with a certificate made here (one about to expire, one expired); a closed port."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time

import pytest

from carbon_client.collectors.probes import Probe
from carbon_client.config import ConfigError, build, validate
from carbon_client.lines import Renderer
from carbon_client.naming import DefaultLayout
from carbon_client.parsers import ParseError
from carbon_client.parsers.x509 import not_after
from carbon_client.sampling import Sampler
from carbon_client.source import Source
from tests.tls_server import TlsServer, certificate


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/hang":
            time.sleep(3)
        if self.path == "/slow":
            time.sleep(0.3)
        status = 500 if self.path == "/error" else 200
        body = b"all systems nominal" if status == 200 else b"broken"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def web():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tls_server(tmp_path):
    servers = []

    def start(days: int, name: str = "srv"):
        server = TlsServer(tmp_path, days, name)
        servers.append(server)
        return server.port, server.cert

    yield start
    for s in servers:
        s.close()


def probe(spec: dict):
    config = build(validate({"probes": [{"name": "p", **spec}]}))
    c = Probe(Source(), config, config.probes[0])
    sample = Sampler(c).update(c.read(), 0.0)
    out = []
    Renderer(DefaultLayout("h")).render(sample, 60, out)
    return {line.split()[0].rsplit(".", 1)[1]: float(line.split()[1]) for line in "".join(out).splitlines()}


def test_http_up_with_status_and_time(web):
    got = probe({"http": web + "/", "expect_body": "nominal"})
    assert got["up"] == 1 and got["status"] == 200 and 0 < got["response_ms"] < 1000


def test_http_error_status_is_down_but_says_the_status(web):
    got = probe({"http": web + "/error"})
    assert got["up"] == 0 and got["status"] == 500 and got["response_ms"] > 0


def test_http_expected_status_and_body(web):
    assert probe({"http": web + "/error", "expect_status": 500})["up"] == 1
    assert probe({"http": web + "/", "expect_body": "missing words"})["up"] == 0


def test_http_hanging_server_is_down_after_the_timeout(web):
    t0 = time.monotonic()
    assert probe({"http": web + "/hang", "timeout": 0.5}) == {"up": 0}
    assert time.monotonic() - t0 < 2.5


def test_http_slow_server_is_up_and_slow(web):
    got = probe({"http": web + "/slow"})
    assert got["up"] == 1 and got["response_ms"] >= 300


def test_closed_port_is_down_for_http_and_tcp():
    port = closed_port()
    assert probe({"http": f"http://127.0.0.1:{port}/"}) == {"up": 0}
    assert probe({"tcp": f"127.0.0.1:{port}"}) == {"up": 0}


def test_tcp_up_with_connect_time(web):
    got = probe({"tcp": web.split("//")[1]})
    assert got["up"] == 1 and 0 <= got["connect_ms"] < 1000


def test_tls_days_left_of_a_certificate_about_to_expire(tls_server):
    port, _ = tls_server(3)
    got = probe({"tls": f"127.0.0.1:{port}", "verify": False})
    assert got["up"] == 1 and 2.9 < got["cert_days_left"] <= 3.0 and got["handshake_ms"] > 0


def test_tls_verification_is_on_by_default_and_still_reads_the_dates(tls_server):
    port, _ = tls_server(30)
    got = probe({"tls": f"127.0.0.1:{port}"})  # self-signed: the chain does not verify
    assert got["up"] == 0 and 29.9 < got["cert_days_left"] <= 30.0


def test_an_expired_certificate_has_negative_days(tls_server):
    port, _ = tls_server(0, "old")
    got = probe({"tls": f"127.0.0.1:{port}", "verify": False})
    expired = (time.time() - 1577923200) / 86400  # 2020-01-02T00:00:00Z
    assert abs(got["cert_days_left"] + expired) < 0.01


def test_https_probe_verifies_by_default(tls_server):
    port, _ = tls_server(30)
    assert probe({"http": f"https://127.0.0.1:{port}/", "timeout": 2})["up"] == 0


def test_not_after_of_a_der_certificate(tmp_path):
    _, crt = certificate(tmp_path, 10, "x")
    der = ssl.PEM_cert_to_DER_cert(crt.read_text())
    assert abs(not_after(der) - (time.time() + 10 * 86400)) < 120
    for bad in (b"", der[:50], b"\x30\x03\x02\x01\x01"):
        with pytest.raises(ParseError):
            not_after(bad)


@pytest.mark.parametrize("spec,message", [
    ({"name": "a"}, "exactly one of http, tcp, tls"),
    ({"name": "a", "tcp": "db:1", "tls": "db:2"}, "exactly one of http, tcp, tls"),
    ({"name": "a", "tcp": "db"}, "the port is required"),
    ({"name": "a", "http": "ftp://x/"}, "http:// or https://"),
    ({"name": "a", "tcp": "db:1", "expect_body": "x"}, "for http probes"),
])
def test_bad_probe_configs(spec, message):
    with pytest.raises(ConfigError, match=message):
        build(validate({"probes": [spec]}))
