"""Probes: is a service up, how fast does it answer, when does its certificate expire.

baremon's HTTP and port checks, Telegraf's http_response, net_response and
x509_cert. Each configured probe is a collector of its own (its interval,
its timeout), run off the host cycle; many run at once on the agent's
worker threads. Paths: ``host.probe.<name>.<key>``, with ``up`` (1 or 0)
always sent:

- http(s): ``up``, ``status``, ``response_ms`` (until the headers, or the
  body when ``expect_body`` is set). Up when the status is one of
  ``expect_status`` (default: below 400, redirects not followed) and the
  body holds ``expect_body`` (the first MiB is read). TLS is verified unless
  ``verify: false``.
- tcp: ``up``, ``connect_ms``.
- tls: ``up`` (the handshake succeeded and, unless ``verify: false``, the
  chain verified), ``handshake_ms``, ``cert_days_left`` of the served
  leaf certificate, negative once expired; the certificate's dates are read
  even when it does not verify, so an expired one still says how long ago.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from typing import Optional
from urllib.parse import urlsplit

from carbon_client.metrics import Collector, Raw, Schema, gauge
from carbon_client.parsers import ParseError
from carbon_client.parsers.x509 import not_after

BODY_MAX = 1 << 20

_UP = gauge("up", "", "1 when the probe succeeded, 0 when not")
SCHEMAS = {
    "http": Schema(("up", "status", "response_ms"), (), (
        _UP, gauge("status", "", "HTTP status code"), gauge("response_ms", "ms", "time to the answer"))),
    "tcp": Schema(("up", "connect_ms"), (), (_UP, gauge("connect_ms", "ms", "time to connect"))),
    "tls": Schema(("up", "handshake_ms", "cert_days_left"), (), (
        _UP, gauge("handshake_ms", "ms", "time to connect and complete the TLS handshake"),
        gauge("cert_days_left", "d", "days until the served leaf certificate expires (negative: expired)"))),
}


def _context(verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _ms(t0: float) -> float:
    return round((time.monotonic() - t0) * 1000.0, 3)


class Probe(Collector):
    blocking = True
    group = "probe"
    instances = "the probe's name"
    description = "Configured probes (`probes` in the config): http(s), tcp connect, TLS certificate."

    def __init__(self, source, options, spec) -> None:
        super().__init__(source, options)
        self.spec = spec
        self.name = f"probe.{spec.name}"
        self.interval = spec.interval
        self.timeout = spec.timeout + 1.0  # its own deadline is spec.timeout; this one drops a late answer
        self._schema = SCHEMAS[spec.kind]

    def probe(self) -> None:
        return None

    def schema(self, instance: Optional[str]) -> Schema:
        return self._schema

    def read(self) -> Raw:
        kind = self.spec.kind
        values = self._http() if kind == "http" else self._tcp() if kind == "tcp" else self._tls()
        return {self.spec.name: values}

    def _tcp(self) -> tuple:
        d, t0 = self.spec.tcp, time.monotonic()
        try:
            socket.create_connection((d.host, d.port), timeout=self.spec.timeout).close()
        except OSError:
            return 0, None
        return 1, _ms(t0)

    def _tls(self) -> tuple:
        d, spec = self.spec.tls, self.spec
        t0 = time.monotonic()
        up, der = 1, self._peer_cert(d, _context(spec.verify))
        elapsed = _ms(t0)
        if der is None and spec.verify:
            up, elapsed, der = 0, None, self._peer_cert(d, _context(False))
        if der is None:
            return 0, None, None
        try:
            days = round((not_after(der) - time.time()) / 86400.0, 3)
        except ParseError:
            days = None
        return up, elapsed, days

    def _peer_cert(self, d, ctx: ssl.SSLContext) -> Optional[bytes]:
        try:
            with socket.create_connection((d.host, d.port), timeout=self.spec.timeout) as raw:
                with ctx.wrap_socket(raw, server_hostname=d.host) as tls:
                    return tls.getpeercert(binary_form=True)
        except (OSError, ValueError):  # ssl.SSLError is an OSError
            return None

    def _http(self) -> tuple:
        spec = self.spec
        url = urlsplit(spec.http)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        if url.scheme == "https":
            conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=spec.timeout,
                                               context=_context(spec.verify))
        else:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=spec.timeout)
        t0 = time.monotonic()
        try:
            conn.request("GET", path, headers={"User-Agent": "carbon-client probe", "Connection": "close"})
            resp = conn.getresponse()
            body = resp.read(BODY_MAX) if spec.expect_body is not None else b""
            elapsed = _ms(t0)
        except (OSError, http.client.HTTPException, ValueError):
            return 0, None, None
        finally:
            conn.close()
        status = resp.status
        ok = status in spec.expect_status if spec.expect_status else status < 400
        if spec.expect_body is not None and spec.expect_body.encode() not in body:
            ok = False
        return int(ok), status, elapsed
