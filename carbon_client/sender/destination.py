"""Where lines go: ``host:port`` as the config names it.

These belong to the configuration; they live here only until the config
module defines them itself, and the sender needs nothing of them but
``host`` and ``port``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Destination:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_destination(text: str, default_port: int = 2003) -> Destination:
    """``host``, ``host:port``, ``[v6]:port``; ValueError with what is wrong."""
    text = text.strip()
    if not text:
        raise ValueError("empty destination")
    host, port = text, str(default_port)
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"{text!r}: missing ']'")
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r}: expected [host]:port")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{text!r}: bad host")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: port must be 1-65535")
    return Destination(host, int(port))
