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

from typing import Callable, NamedTuple, Optional, Sequence

from ._common import OnError, ParseError, excerpt, report

Pick = Optional[Callable[[str, tuple], Optional[Sequence[int]]]]


class SnmpTable(NamedTuple):
    """One table: its name as the kernel prints it (``Tcp``, ``TcpExt``, ``Ip6``), the fields picked
    and their values."""

    name: str
    fields: tuple[str, ...]
    values: tuple[int, ...]


def _value(source: str, line: str, word: str) -> int:
    digits = word[1:] if word[:1] == "-" else word
    if not (digits.isdigit() and digits.isascii()):
        raise ParseError(f"{source}: {excerpt(line)}: {excerpt(word)} is not a number")
    try:
        return int(word)
    except ValueError as exc:  # beyond int()'s digit limit
        raise ParseError(f"{source}: {excerpt(line)}: {exc}") from None


def _table(source: str, line: str, name: str, fields: tuple, words: Sequence[str], pick: Pick) -> SnmpTable:
    at = pick(name, fields) if pick is not None else None
    if at is None:
        return SnmpTable(name, fields, tuple(_value(source, line, w) for w in words))
    return SnmpTable(name, tuple(fields[i] for i in at), tuple(_value(source, line, words[i]) for i in at))


def _header(line: str) -> Optional[tuple[str, tuple[str, ...]]]:
    """(table, field names) of a header line, or None when it is not one."""
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
        if not sep or tag != name or _header(values) is not None:
            report(on_error, ParseError(f"{source}: {excerpt(line)}: no '{name}:' values line follows"))
            i += 1
            continue
        i += 2
        words = rest.split()
        if len(words) != len(fields):
            report(on_error, ParseError(
                f"{source}: {excerpt(values)}: {len(words)} values for {len(fields)} fields of {name}"))
            continue
        try:
            table = _table(source, values, name, fields, words, pick)
        except ParseError as err:
            report(on_error, err)
            continue
        if table.fields:
            out.append(table)
    return out


def parse_snmp6(text: str, on_error: OnError = None, pick: Pick = None) -> list[SnmpTable]:
    """Every table of /proc/net/snmp6, in file order. A malformed line is one error."""
    tables: dict[str, tuple[list[str], list[int]]] = {}
    for line in text.split("\n"):
        f = line.split()
        if not f:
            continue
        name = f[0]
        cut = name.find("6") + 1
        try:
            if (len(f) != 2 or cut < 2 or cut == len(name) or not (name.isascii() and name.isalnum())
                    or f[1][:1] == "-"):
                raise ParseError(f"snmp6: {excerpt(line)}: expected 'Name value'")
            value = _value("snmp6", line, f[1])
        except ParseError as err:
            report(on_error, err)
            continue
        fields, values = tables.setdefault(name[:cut], ([], []))
        fields.append(name[cut:])
        values.append(value)
    out: list[SnmpTable] = []
    for table, (fields, values) in tables.items():
        at = pick(table, tuple(fields)) if pick is not None else None
        if at is None:
            out.append(SnmpTable(table, tuple(fields), tuple(values)))
        elif at:
            out.append(SnmpTable(table, tuple(fields[i] for i in at), tuple(values[i] for i in at)))
    return out
