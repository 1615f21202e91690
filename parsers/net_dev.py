"""/proc/net/dev (net/core/net-procfs.c dev_seq_printf_stats; procfs net_dev.go)."""

from __future__ import annotations

from operator import itemgetter
from typing import Container, NamedTuple, Sequence

from parsers import _common
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


def _plain(name: str, rest: str) -> bool:
    """A name, and counters int() reads as the kernel wrote them.

    int() takes '+1', '1_0' and non-ASCII digits: no such line is a kernel's.
    """
    return bool(name) and rest.isascii() and "_" not in rest and "+" not in rest and "-" not in rest


def _bad(line: str, name: str, sep: str, f: list[str], on_error: OnError) -> None:
    """Report a line the fast path refused, unless it is a header or blank."""
    if ("|" in line and ":" not in line) or not line.strip():
        return
    try:
        if not sep or not name or len(f) != 16:
            raise ParseError(f"net/dev: {line!r}: expected 'name: ' and 16 counters")
        uints("net/dev", line, f)  # raises, naming what is wrong
        raise ParseError(f"net/dev: {line!r}: expected unsigned decimal fields")
    except ParseError as err:
        report(on_error, err)


def parse_net_dev(text: str, on_error: OnError = None) -> list[NetDev]:
    """All interfaces in file order.

    The name ends at the LAST ':' (names may hold ':' themselves, `ibr10:30`)
    and the first counter may follow it with no space (`eth0:68210035552`).
    The two header lines are the ones with '|' and no ':' ('|' is legal in
    a name: net/core/dev.c dev_valid_name). Lines end at '\\n' only and names
    are padded with spaces only ("%6s:"), so a name may hold any other
    character, U+0085 or U+2028 included.
    """
    out: list[NetDev] = []
    append = out.append
    new = tuple.__new__
    for line in text.split("\n"):
        name, sep, rest = line.rpartition(":")
        f = rest.split()
        name = name.strip(" ")
        if len(f) == 16 and sep and _plain(name, rest):
            try:
                append(new(NetDev, (name, *map(int, f))))
                continue
            except ValueError:  # over int()'s digit limit
                pass
        _bad(line, name, sep, f, on_error)
    return out


def parse_net_dev_columns(
    text: str, columns: Sequence[int], on_error: OnError = None, skip: Container[str] = (),
) -> tuple[list[str], list[int]]:
    """The names, and the chosen counters of every interface one after another.

    ``columns`` index the 16 counters (0 = rx_bytes ... 15 = tx_compressed);
    interfaces named in ``skip`` are left out unchecked and unconverted. The
    same lines are accepted and refused as by :func:`parse_net_dev`; this form
    is for a host with a thousand interfaces, where a record each costs more
    than the rest of the cycle: the file is checked and converted in bulk,
    and line by line only when the bulk check finds something wrong.
    """
    fast = _common.speedups
    if fast is not None and type(columns) is tuple:
        got = fast.net_dev_columns(text, columns, skip)
        if got is not None:
            return got
    pick = itemgetter(*columns)
    names: list[str] = []
    chosen: list[str] = []
    every: list[str] = []
    clean = True
    for line in text.split("\n"):
        name, sep, rest = line.rpartition(":")
        f = rest.split()
        if len(f) == 16 and sep:
            name = name.strip(" ")
            if name in skip:
                continue
            names.append(name)
            chosen.extend(pick(f))
            every.extend(f)
        elif clean and not (("|" in line and ":" not in line) or not line.strip()):
            clean = False
    digits = "".join(every)
    if clean and digits.isascii() and digits.isdigit() and "" not in names:
        try:
            return names, list(map(int, chosen))
        except ValueError:  # over int()'s digit limit
            pass
    return _columns_by_line(text, pick, on_error, skip)


def _columns_by_line(text: str, pick, on_error: OnError, skip: Container[str]) -> tuple[list[str], list[int]]:
    """parse_net_dev_columns for a file with a bad line: each line on its own."""
    names: list[str] = []
    flat: list[int] = []
    for line in text.split("\n"):
        name, sep, rest = line.rpartition(":")
        f = rest.split()
        name = name.strip(" ")
        if len(f) == 16 and sep and _plain(name, rest) and "".join(f).isdigit():
            if name in skip:
                continue
            try:
                values = list(map(int, pick(f)))
            except ValueError:
                pass
            else:
                names.append(name)
                flat.extend(values)
                continue
        _bad(line, name, sep, f, on_error)
    return names, flat
