"""/proc/net/dev (net/core/net-procfs.c dev_seq_printf_stats; procfs net_dev.go)."""

from __future__ import annotations

from typing import NamedTuple

from parsers._common import OnError, ParseError, report, uints


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


def parse_net_dev(text: str, on_error: OnError = None) -> list[NetDev]:
    """All interfaces in file order.

    The name ends at the LAST ':' (names may hold ':' themselves, ``ibr10:30``)
    and the first counter may follow it with no space (``eth0:68210035552``).
    The two header lines are the ones with '|' and no ':' ('|' is legal in
    a name: net/core/dev.c dev_valid_name). Lines end at '\n' only and names
    are padded with spaces only ("%6s:"), so a name may hold any other
    character, U+0085 or U+2028 included.
    """
    out: list[NetDev] = []
    append = out.append
    new = tuple.__new__
    for line in text.split("\n"):
        name, sep, rest = line.rpartition(":")
        f = rest.split()
        if len(f) == 16 and sep:
            name = name.strip(" ")
            # int() takes '+1', '1_0' and non-ASCII digits: no such line is a kernel's.
            if name and rest.isascii() and "_" not in rest and "+" not in rest and "-" not in rest:
                try:
                    append(new(NetDev, (name, *map(int, f))))
                    continue
                except ValueError:
                    pass
        if ("|" in line and ":" not in line) or not line.strip():
            continue
        try:
            if not sep or not name.strip(" ") or len(f) != 16:
                raise ParseError(f"net/dev: {line!r}: expected 'name: ' and 16 counters")
            append(NetDev(name.strip(" "), *uints("net/dev", line, f)))
        except ParseError as err:
            report(on_error, err)
    return out
