"""Carbon destinations: ``host``, ``host:port``, ``[v6]:port``, parsed once, here.

The sender receives parsed ``Destination`` values. A host is an IP address or
an ASCII DNS name (internationalized names in their ``xn--`` form), so
nothing the resolver or the socket calls choke on gets past the config.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any

from carbon_client.config.errors import ConfigError, quote
from carbon_client.config.values import each, string

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?", re.ASCII)
_PORT = re.compile(r"[0-9]{1,5}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Destination:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return len(host) <= 253 and _DNS_NAME.fullmatch(host) is not None


def parse_destination(text: str, default_port: int = 2003) -> Destination:
    """``host``, ``host:port``, ``[v6]:port``; ValueError with what is wrong."""
    text = text.strip()
    if not text:
        raise ValueError("empty destination")
    host, port = text, str(default_port)
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"{quote(text)}: missing ']'")
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{quote(text)}: expected [host]:port")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not _valid_host(host):
        raise ValueError(f"{quote(text)}: bad host (an IP address or a DNS name)")
    if not _PORT.fullmatch(port) or not 0 < int(port) < 65536:
        raise ValueError(f"{quote(text)}: port must be 1-65535")
    return Destination(host, int(port))


_address = string(max_len=300, spaces=False)


def destination(v: Any, key: str) -> Destination:
    try:
        return parse_destination(_address(v, key))
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(key, f"{exc} (expected HOST:PORT)") from None


_each_destination = each(destination, at_least=1, commas=True)


def destinations(v: Any, key: str) -> tuple[Destination, ...]:
    """The list, each destination once: a second ``host:port`` would send every line twice
    with ``mode: all`` and share the first one's spool directory."""
    found = _each_destination(v, key)
    seen: set[tuple[str, int]] = set()
    for d in found:
        if (d.host.lower(), d.port) in seen:
            raise ConfigError(key, f"{quote(str(d))} is listed twice")
        seen.add((d.host.lower(), d.port))
    return found


def resolves(dest: Destination, socktype: int = socket.SOCK_DGRAM) -> str:
    """An address for ``dest``; OSError (socket.gaierror) when the name does not resolve."""
    return socket.getaddrinfo(dest.host, dest.port, type=socktype)[0][4][0]
