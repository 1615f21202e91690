"""UDP (``protocol: udp``): datagrams cut at line ends, IPv4 or IPv6.

Nothing tells what arrived, so nothing is sent again; a datagram the kernel
refused (ICMP port unreachable seen earlier, no route...) is counted lost.
"""

from __future__ import annotations

import logging
import socket

from carbon_client.sender.cut import cut
from carbon_client.sender.transport import Transport

log = logging.getLogger("carbon_client.sender")


class UdpTransport(Transport):
    def __init__(self, destinations: list, *, max_datagram: int = 1400, write_timeout: float = 10.0,
                 **kw) -> None:
        super().__init__(destinations, **kw)
        self.max_datagram = max_datagram
        self.write_timeout = write_timeout
        self._refused = False

    def _open(self, dest) -> socket.socket:
        family, kind, proto, _, addr = socket.getaddrinfo(dest.host, dest.port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(self.write_timeout)
            sock.connect(addr)
        except OSError:
            sock.close()
            raise
        return sock

    def write(self, data: bytes) -> int:
        sock = self._sock
        if sock is None:
            raise ConnectionResetError("not connected")
        lost, error = 0, None
        for datagram in cut(data, self.max_datagram):
            try:
                sock.send(datagram)
            except OSError as exc:
                lost += datagram.count(b"\n")
                error = exc
        if error is not None and not self._refused:
            log.warning("udp send to %s failed: %s; its lines are counted as dropped", self.destination, error)
        elif error is None and self._refused:
            log.info("udp send to %s works again", self.destination)
        self._refused = error is not None
        return lost
