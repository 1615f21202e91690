"""/proc/net/sockstat and /proc/net/sockstat6 (net/ipv4/proc.c sockstat_seq_show,
net/ipv6/proc.c sockstat6_seq_show)::

    sockets: used 11
    TCP: inuse 1 orphan 0 tw 43 alloc 1 mem 21
    FRAG: inuse 0 memory 0

One line per protocol: its name, a colon, then ``name value`` pairs, all
gauges. ``mem`` counts pages, FRAG ``memory`` bytes. sockstat6 has the v6
protocols (``TCP6: inuse 0``).
"""

from __future__ import annotations

from typing import NamedTuple

from ._common import OnError, ParseError, excerpt, report, uints


class SockstatLine(NamedTuple):
    """One protocol's line: its name as printed (``sockets``, ``TCP``, ``RAW6``), the keys and values."""

    proto: str
    keys: tuple[str, ...]
    values: tuple[int, ...]


def parse_sockstat(text: str, on_error: OnError = None) -> list[SockstatLine]:
    """Every protocol line, in file order; a malformed one is one error."""
    out: list[SockstatLine] = []
    for line in text.split("\n"):
        proto, sep, rest = line.partition(":")
        words = rest.split()
        if not (sep or words or proto.strip()):
            continue
        keys = words[0::2]
        try:
            joined = "".join(keys)
            if (not sep or not words or len(words) % 2 or not proto.isalnum() or not proto.isascii()
                    or not (joined.isalpha() and joined.isascii())):
                raise ParseError(f"sockstat: {excerpt(line)}: expected 'PROTO: name value ...'")
            out.append(SockstatLine(proto, tuple(keys), tuple(uints("sockstat", line, words[1::2]))))
        except ParseError as err:
            report(on_error, err)
    return out
