"""A TLS server on loopback with a certificate made by openssl for the test (self-signed,
valid for some days from now, or expired in January 2020, signed by a throwaway CA)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path

from tests.conftest import require_command

CA_CONF = """[ca]
default_ca = d
[d]
dir = {dir}
database = {dir}/index.txt
serial = {dir}/serial
new_certs_dir = {dir}
default_md = sha256
policy = p
[p]
commonName = supplied
"""


def certificate(directory: Path, days: int, name: str) -> tuple[Path, Path]:
    """(key, certificate) for 127.0.0.1 valid ``days`` from now; days <= 0: one that expired
    on 2020-01-02 (openssl 3.0's req cannot backdate: a CA signs it with the dates set)."""
    require_command("openssl", "openssl")
    key, crt = directory / f"{name}.key", directory / f"{name}.crt"

    def ssl_run(*args):
        r = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=directory)
        assert r.returncode == 0, r.stderr

    if days > 0:
        ssl_run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", str(days))
        return key, crt
    ssl_run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-subj", "/CN=test ca", "-days", "30")
    ssl_run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", "s.csr", "-subj", "/CN=127.0.0.1")
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("01\n")
    (directory / "ca.cnf").write_text(CA_CONF.format(dir=directory))
    ssl_run("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "s.csr",
            "-out", str(crt), "-startdate", "20200101000000Z", "-enddate", "20200102000000Z")
    return key, crt


class TlsServer:
    """Accepts TLS connections on 127.0.0.1 and completes the handshake; ``close()`` stops it."""

    def __init__(self, directory: Path, days: int, name: str = "srv") -> None:
        key, self.cert = certificate(directory, days, name)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(self.cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as t:
                    t.recv(1)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
