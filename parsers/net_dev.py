"""/proc/net/dev (net/core/net-procfs.c dev_seq_printf_stats; procfs net_dev.go)."""

from __future__ import annotations

from typing import Container, NamedTuple

from ._common import excerpt, OnError, ParseError, report, uints


class NetDev(NamedTuple):
    """One interface line: the name, then 8 receive and 8 transmit counters."""

    name: str
    rx_bytes: int
    rx_packets: int
    rx_errs: int
    rx_drop: int
    rx_fifo: int
    rx_frame: int
    rx_compressed: int
    rx_multicast: int
    tx_bytes: int
    tx_packets: int
    tx_errs: int
    tx_drop: int
    tx_fifo: int
    tx_colls: int
    tx_carrier: int
    tx_compressed: int


_new = tuple.__new__  # a NetDev from 17 values checked above, without namedtuple's Python __new__


def parse_net_dev(text: str, on_error: OnError = None, skip: Container[str] = ()) -> list[NetDev]:
    """All interfaces in file order but those named in ``skip``, whose lines are not
    converted.

    The name ends at the LAST ':' (names may hold ':' themselves, `ibr10:30`)
    and the first counter may follow it with no space (`eth0:68210035552`).
    The two header lines are the ones with '|' and no ':' ('|' is legal in
    a name: net/core/dev.c dev_valid_name). Lines end at '\\n' only and names
    are padded with spaces only ("%6s:"), so a name may hold any other
    character, U+0085 or U+2028 included.
    """
    out: list[NetDev] = []
    for line in text.split("\n"):
        name, sep, rest = line.rpartition(":")
        if not sep:
            if line.strip() and "|" not in line:
                report(on_error, ParseError(f"net/dev: {excerpt(line)}: expected 'name: ' and 16 counters"))
            continue
        name = name.strip(" ")
        if name in skip:
            continue
        f = rest.split()
        try:
            if not name or len(f) != 16:
                raise ParseError(f"net/dev: {excerpt(line)}: expected 'name: ' and 16 counters")
            out.append(_new(NetDev, (name, *uints("net/dev", line, f))))
        except ParseError as err:
            report(on_error, err)
    return out
