"""/proc/net/snmp, /proc/net/netstat (net/ipv4/proc.c) and /proc/net/snmp6 (net/ipv6/proc.c).

snmp and netstat print pairs of lines per table, a header naming the fields
and a line of values, both starting with the table's name::

    Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens ...
    Tcp: 1 200 120000 -1 13800 ...

Columns differ between kernels (3.10 adds InCsumErrors, 6.3 Ip OutTransmits,
5.6 the MPTcpExt table...): values are mapped by the header's names, never by
position. Values are unsigned but for Tcp MaxConn, printed signed ("%ld", -1
= dynamic). snmp6 prints one ``Name<spaces>\\tvalue`` line per counter, the
table being the name's prefix up to its ``6`` (``Ip6InReceives``,
``Icmp6InType3``, ``UdpLite6InDatagrams``).

``pick(table, fields)`` says which positions of a table are wanted (None:
all; empty: the table is skipped). In snmp and netstat the values nobody
asked for are not converted: TcpExt alone has 135 fields on 6.18.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple, Optional, Sequence

from ._common import OnError, ParseError, excerpt, report

Pick = Optional[Callable[[str, tuple], Optional[Sequence[int]]]]


class SnmpTable(NamedTuple):
    """One table: its name as the kernel prints it (``Tcp``, ``TcpExt``, ``Ip6``), the fields picked
    and their values."""

    name: str
    fields: tuple[str, ...]
    values: tuple[int, ...]


def _value(source: str, line: str, word: str, signed: bool = True) -> int:
    digits = word[1:] if signed and word[:1] == "-" else word
    if not (digits.isdigit() and digits.isascii()):
        raise ParseError(f"{source}: {excerpt(line)}: {excerpt(word)} is not a number")
    try:
        return int(word)
    except ValueError as exc:  # beyond int()'s digit limit
        raise ParseError(f"{source}: {excerpt(line)}: {exc}") from None


def _values(source: str, line: str, words: Sequence[str]) -> tuple[int, ...]:
    """The words as numbers, checked all at once; word by word (naming the bad one) when that fails."""
    joined = "".join(words)
    if joined.isascii() and joined.replace("-", "").isdigit():
        try:
            return tuple(map(int, words))
        except ValueError:
            pass  # "1-2", or beyond int()'s digit limit
    return tuple(_value(source, line, w) for w in words)


@lru_cache(maxsize=64)
def _header(line: str) -> Optional[tuple[str, tuple[str, ...]]]:
    """(table, field names) of a header line, or None when it is not one. Kept: the kernel
    prints the same headers every time."""
    name, sep, rest = line.partition(":")
    fields = tuple(rest.split())
    joined = "".join(fields)
    if not (sep and fields and name.isalnum() and name.isascii() and joined.isalnum() and joined.isascii()
            and fields[0][0].isalpha()):
        return None
    return name, fields


def parse_snmp(text: str, on_error: OnError = None, pick: Pick = None, source: str = "snmp") -> list[SnmpTable]:
    """Every header/values pair of /proc/net/snmp or /proc/net/netstat, in file order.

    A header without its values line, or a values line that does not match
    its header, is one error (reported to ``on_error`` and skipped when given).
    """
    lines = [ln for ln in text.split("\n") if ln.strip()]
    out: list[SnmpTable] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        head = _header(line)
        if head is None:
            report(on_error, ParseError(f"{source}: {excerpt(line)}: expected 'Table: Field1 Field2 ...'"))
            i += 1
            continue
        name, fields = head
        values = lines[i + 1] if i + 1 < len(lines) else ""
        tag, sep, rest = values.partition(":")
        words = rest.split()
        # A header's first field starts with a letter, a values line's does not.
        if not (sep and tag == name and words and not words[0][0].isalpha()):
            report(on_error, ParseError(f"{source}: {excerpt(line)}: no '{name}:' values line follows"))
            i += 1
            continue
        i += 2
        if len(words) != len(fields):
            report(on_error, ParseError(
                f"{source}: {excerpt(values)}: {len(words)} values for {len(fields)} fields of {name}"))
            continue
        at = pick(name, fields) if pick is not None else None
        if at is not None:
            if not at:
                continue
            fields = tuple(fields[j] for j in at)
            words = [words[j] for j in at]
        try:
            out.append(SnmpTable(name, fields, _values(source, values, words)))
        except ParseError as err:
            report(on_error, err)
    return out


@lru_cache(maxsize=16)
def _tables6(names: tuple[str, ...]) -> Optional[tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...]]:
    """(table, fields, positions) of each table of a snmp6 name list, in order; None when a
    name is not ``<Table>6<Field>``. Kept: the kernel prints the same names every time."""
    tables: dict[str, tuple[list[str], list[int]]] = {}
    for i, name in enumerate(names):
        cut = name.find("6") + 1
        if cut < 2 or cut == len(name) or not (name.isascii() and name.isalnum() and name[0].isalpha()):
            return None
        fields, at = tables.setdefault(name[:cut], ([], []))
        fields.append(name[cut:])
        at.append(i)
    return tuple((t, tuple(f), tuple(a)) for t, (f, a) in tables.items())


def parse_snmp6(text: str, on_error: OnError = None, pick: Pick = None) -> list[SnmpTable]:
    """Every table of /proc/net/snmp6, in file order. A malformed line is one error.

    A well-formed file (every line one name and one number) is read in one
    split of the whole text; any other is read line by line.
    """
    words = text.split()
    names, values = tuple(words[0::2]), words[1::2]
    lines = text.count("\n") + (not text.endswith("\n"))
    layout = _tables6(names) if len(words) % 2 == 0 and lines == len(names) else None
    joined = "".join(values)
    if layout is not None and joined.isascii() and joined.isdigit():
        try:
            return _picked6(layout, values, pick)
        except ValueError:
            pass  # beyond int()'s digit limit: named line by line below
    good: list[tuple[str, int]] = []
    for line in text.split("\n"):
        f = line.split()
        if not f:
            continue
        try:
            if len(f) != 2 or _tables6((f[0],)) is None:
                raise ParseError(f"snmp6: {excerpt(line)}: expected 'Name value'")
            good.append((f[0], _value("snmp6", line, f[1], signed=False)))
        except ParseError as err:
            report(on_error, err)
    layout = _tables6(tuple(n for n, _ in good))
    assert layout is not None  # every name passed the same check
    return _picked6(layout, [v for _, v in good], pick)


def _picked6(layout, values: Sequence, pick: Pick) -> list[SnmpTable]:
    out: list[SnmpTable] = []
    for table, fields, at in layout:
        keep = pick(table, fields) if pick is not None else None
        if keep is not None:
            fields = tuple(fields[k] for k in keep)
            at = tuple(at[k] for k in keep)
        if at:
            out.append(SnmpTable(table, fields, tuple(int(values[p]) for p in at)))
    return out
