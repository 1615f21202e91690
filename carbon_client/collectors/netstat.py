"""Protocol counters of /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6:
`host.netstat.<table>.<Field>`.

Tables are lowercased (`tcp`, `tcpext`, `ip6`), fields keep the kernel's
names (`RetransSegs`). `netstat_fields` picks them: `default` (the fields
declared below, what operators alert on), `all`, or a list of `Table.Field`
globs (`TcpExt.TCP*Retrans*`; the table part matches in any case) that may
include `default`. Which fields a kernel prints is read from its header
lines, so a field it lacks is simply not sent; the selection of a header is
worked out once and kept.
"""

from __future__ import annotations

import logging
from fnmatch import fnmatchcase
from typing import Optional, Sequence

from carbon_client.logonce import BadLines
from carbon_client.metrics import COUNTER, Collector, Metric, Raw, Schema, counter, gauge
from carbon_client.parsers.snmp import parse_snmp, parse_snmp6

log = logging.getLogger("carbon_client.collectors")

# Fields that are values now, not counters (net/ipv4/proc.c snmp4_ipstats_list, snmp4_tcp_list).
GAUGES = {
    ("Ip", "Forwarding"): ("", "1 when the host forwards IPv4 (a router), 2 when not"),
    ("Ip", "DefaultTTL"): ("", "default TTL of IPv4 datagrams sent"),
    ("Tcp", "RtoAlgorithm"): ("", "retransmission timeout algorithm (1: other, Linux's)"),
    ("Tcp", "RtoMin"): ("ms", "minimum retransmission timeout"),
    ("Tcp", "RtoMax"): ("ms", "maximum retransmission timeout"),
    ("Tcp", "MaxConn"): ("", "limit of TCP connections (-1: dynamic)"),
    ("Tcp", "CurrEstab"): ("", "TCP connections established or closing now"),
}

# (table as the kernel prints it, field) -> (unit, meaning): the `default` selection, in order.
DEFAULT = {
    ("Ip", "InReceives"): ("1/s", "IPv4 datagrams received, errors included"),
    ("Ip", "InDelivers"): ("1/s", "IPv4 datagrams delivered to the protocols (TCP, UDP, ICMP...)"),
    ("Ip", "OutRequests"): ("1/s", "IPv4 datagrams the protocols handed down to send"),
    ("Ip", "ForwDatagrams"): ("1/s", "IPv4 datagrams forwarded (routers)"),
    ("Ip", "InDiscards"): ("1/s", "IPv4 datagrams received and dropped for lack of resources"),
    ("Ip", "OutDiscards"): ("1/s", "IPv4 datagrams to send dropped for lack of resources"),
    ("Ip", "OutNoRoutes"): ("1/s", "IPv4 datagrams dropped: no route to the destination"),
    ("Ip", "InHdrErrors"): ("1/s", "IPv4 datagrams dropped for a bad header"),
    ("Ip", "InAddrErrors"): ("1/s", "IPv4 datagrams dropped for a bad destination address"),
    ("Ip", "ReasmFails"): ("1/s", "IPv4 reassemblies that failed (fragments lost or timed out)"),
    ("Ip", "FragFails"): ("1/s", "IPv4 datagrams not fragmented though needed (DF set)"),
    ("IpExt", "InOctets"): ("B/s", "IPv4 bytes received"),
    ("IpExt", "OutOctets"): ("B/s", "IPv4 bytes sent"),
    ("Icmp", "InMsgs"): ("1/s", "ICMP messages received"),
    ("Icmp", "OutMsgs"): ("1/s", "ICMP messages sent"),
    ("Icmp", "InErrors"): ("1/s", "ICMP messages received with errors"),
    ("Icmp", "InDestUnreachs"): ("1/s", "ICMP destination unreachable received"),
    ("Icmp", "OutDestUnreachs"): ("1/s", "ICMP destination unreachable sent (closed UDP ports...)"),
    ("Tcp", "ActiveOpens"): ("1/s", "TCP connections opened by this host (connect)"),
    ("Tcp", "PassiveOpens"): ("1/s", "TCP connections accepted from peers"),
    ("Tcp", "AttemptFails"): ("1/s", "TCP connection attempts that failed (refused, timed out, reset)"),
    ("Tcp", "EstabResets"): ("1/s", "established TCP connections reset"),
    ("Tcp", "CurrEstab"): GAUGES["Tcp", "CurrEstab"],
    ("Tcp", "InSegs"): ("1/s", "TCP segments received, errors included"),
    ("Tcp", "OutSegs"): ("1/s", "TCP segments sent, retransmissions excluded"),
    ("Tcp", "RetransSegs"): ("1/s", "TCP segments retransmitted"),
    ("Tcp", "InErrs"): ("1/s", "TCP segments received with errors (bad checksum...)"),
    ("Tcp", "OutRsts"): ("1/s", "TCP segments sent with RST"),
    ("Tcp", "InCsumErrors"): ("1/s", "TCP segments received with a bad checksum (3.10+)"),
    ("TcpExt", "ListenOverflows"): ("1/s", "connections dropped: a listener's accept queue was full"),
    ("TcpExt", "ListenDrops"): ("1/s", "SYNs and connections dropped by listeners, overflows included"),
    ("TcpExt", "TCPReqQFullDrop"): ("1/s", "SYNs dropped: the SYN queue was full and no syncookies"),
    ("TcpExt", "SyncookiesSent"): ("1/s", "syncookies sent: the SYN queue overflowed"),
    ("TcpExt", "SyncookiesFailed"): ("1/s", "ACKs carrying an invalid syncookie"),
    ("TcpExt", "TCPLostRetransmit"): ("1/s", "retransmitted segments lost again"),
    ("TcpExt", "TCPTimeouts"): ("1/s", "retransmission timeouts (RTO fired)"),
    ("TcpExt", "TCPSynRetrans"): ("1/s", "SYN and SYN-ACK retransmissions"),
    ("TcpExt", "TCPFastRetrans"): ("1/s", "fast retransmissions (after duplicate ACKs or SACK)"),
    ("TcpExt", "TCPSlowStartRetrans"): ("1/s", "retransmissions in slow start after a loss"),
    ("TcpExt", "TCPRetransFail"): ("1/s", "retransmissions that could not be sent"),
    ("TcpExt", "TCPAbortOnData"): ("1/s", "connections reset: data arrived after close"),
    ("TcpExt", "TCPAbortOnClose"): ("1/s", "connections reset: closed with unread data"),
    ("TcpExt", "TCPAbortOnMemory"): ("1/s", "connections reset: out of socket memory"),
    ("TcpExt", "TCPAbortOnTimeout"): ("1/s", "connections reset: retransmissions or keepalives timed out"),
    ("TcpExt", "TCPAbortOnLinger"): ("1/s", "connections reset: linger timeout after close"),
    ("TcpExt", "TCPAbortFailed"): ("1/s", "resets that could not be sent (out of memory)"),
    ("TcpExt", "TCPBacklogDrop"): ("1/s", "segments dropped: the socket backlog was full"),
    ("TcpExt", "TCPRcvQDrop"): ("1/s", "segments dropped: the receive queue was over its memory limit"),
    ("TcpExt", "PruneCalled"): ("1/s", "receive queues pruned for lack of socket memory"),
    ("TcpExt", "TCPOFODrop"): ("1/s", "out-of-order segments dropped for lack of memory"),
    ("TcpExt", "TCPMemoryPressures"): ("1/s", "times TCP entered memory pressure (tcp_mem)"),
    ("TcpExt", "TW"): ("1/s", "connections that ended their TIME_WAIT"),
    ("Udp", "InDatagrams"): ("1/s", "UDP datagrams delivered to sockets"),
    ("Udp", "OutDatagrams"): ("1/s", "UDP datagrams sent"),
    ("Udp", "NoPorts"): ("1/s", "UDP datagrams to a port nobody listens on"),
    ("Udp", "InErrors"): ("1/s", "UDP datagrams dropped on receive (buffers full, bad checksum...)"),
    ("Udp", "RcvbufErrors"): ("1/s", "UDP datagrams dropped: the socket's receive buffer was full"),
    ("Udp", "SndbufErrors"): ("1/s", "UDP datagrams dropped: the send buffer was full"),
    ("Udp", "InCsumErrors"): ("1/s", "UDP datagrams with a bad checksum (3.10+)"),
    ("Ip6", "InReceives"): ("1/s", "IPv6 datagrams received, errors included"),
    ("Ip6", "OutRequests"): ("1/s", "IPv6 datagrams the protocols handed down to send"),
    ("Ip6", "InOctets"): ("B/s", "IPv6 bytes received"),
    ("Ip6", "OutOctets"): ("B/s", "IPv6 bytes sent"),
    ("Ip6", "InDiscards"): ("1/s", "IPv6 datagrams received and dropped for lack of resources"),
    ("Ip6", "OutNoRoutes"): ("1/s", "IPv6 datagrams dropped: no route to the destination"),
    ("Udp6", "InDatagrams"): ("1/s", "UDP over IPv6 datagrams delivered to sockets"),
    ("Udp6", "OutDatagrams"): ("1/s", "UDP over IPv6 datagrams sent"),
    ("Udp6", "NoPorts"): ("1/s", "UDP over IPv6 datagrams to a port nobody listens on"),
    ("Udp6", "InErrors"): ("1/s", "UDP over IPv6 datagrams dropped on receive"),
    ("Udp6", "RcvbufErrors"): ("1/s", "UDP over IPv6 datagrams dropped: receive buffer full"),
    ("Udp6", "SndbufErrors"): ("1/s", "UDP over IPv6 datagrams dropped: send buffer full"),
}

FILES = (("net/snmp", "snmp"), ("net/netstat", "netstat"), ("net/snmp6", "snmp6"))


def _metric(table: str, field: str) -> Metric:
    if (table, field) in GAUGES:
        unit, text = GAUGES[table, field]
        return gauge(field, unit, text)
    unit, text = DEFAULT.get((table, field), ("B/s" if field.endswith("Octets") else "1/s", ""))
    return counter(field, unit, text or f"{table} {field}")


def table_schema(table: str, fields: Sequence[str]) -> Schema:
    metrics = tuple(_metric(table, f) for f in fields)
    return Schema(tuple(fields), frozenset(m.source for m in metrics if m.kind == COUNTER), metrics)


class Selection:
    """Which `Table.Field` names `netstat_fields` asks for: the table part of a glob
    matches in any case (Graphite shows it lowercased), the field part as printed."""

    def __init__(self, items: Optional[Sequence[str]]) -> None:
        items = tuple(items or ("default",))
        self.all = "all" in items
        pairs = list(DEFAULT) if "default" in items else []
        pairs += [(t, f) for t, _, f in (g.partition(".") for g in items if g not in ("default", "all"))]
        self.globs = tuple((t.lower(), f) for t, f in pairs)

    def positions(self, table: str, fields: Sequence[str]) -> Optional[tuple[int, ...]]:
        """The positions of ``fields`` selected (None: all of them)."""
        if self.all:
            return None
        low = table.lower()
        mine = [f for t, f in self.globs if fnmatchcase(low, t)]
        return tuple(i for i, name in enumerate(fields) if any(fnmatchcase(name, f) for f in mine))


class Netstat(Collector):
    name = group = "netstat"
    description = (
        "Protocol counters from /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6 "
        "(`host.netstat.<table>.<Field>`, the table lowercased, the field as the kernel names "
        "it), as rates; Ip Forwarding and DefaultTTL, Tcp RtoAlgorithm, RtoMin, RtoMax, MaxConn "
        "and CurrEstab are values. `netstat_fields` picks the fields: `default` (listed below: "
        "segments, octets, retransmissions, resets, listen queue drops, UDP buffer errors), "
        "`all`, or `Table.Field` globs. A field the kernel does not print is not sent."
    )
    instances = "the table: `ip`, `icmp`, `tcp`, `udp`, `tcpext`, `ipext`, `ip6`, `udp6`..."
    source_path = "net/snmp"

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self.selection = Selection(getattr(options, "netstat_fields", None))
        # Beyond the default fields, which ones exist is up to the kernel (check-config).
        self.open_keys = self.selection.all or self.selection.globs != Selection(None).globs
        self._errors = {rel: BadLines(log, rel, self) for rel, _ in FILES}
        self._positions: dict[tuple[str, tuple], Optional[tuple[int, ...]]] = {}
        self._schemas: dict[tuple[str, tuple], Schema] = {}
        self._current: dict[str, Schema] = {}

    @classmethod
    def reference(cls) -> dict[Optional[str], Schema]:
        """The default selection's schema of each table (for docs)."""
        tables: dict[str, list[str]] = {}
        for t, f in DEFAULT:
            tables.setdefault(t, []).append(f)
        return {t.lower(): table_schema(t, fields) for t, fields in tables.items()}

    def schema(self, instance: Optional[str]) -> Schema:
        return self._current[instance]

    def _pick(self, table: str, fields: tuple) -> Optional[tuple[int, ...]]:
        key = (table, fields)
        try:
            return self._positions[key]
        except KeyError:
            at = self._positions[key] = self.selection.positions(table, fields)
            return at

    def _schema(self, table: str, fields: tuple) -> Schema:
        key = (table, fields)
        s = self._schemas.get(key)
        if s is None:
            s = self._schemas[key] = table_schema(table, fields)
        return s

    def read(self) -> Raw:
        out: dict[Optional[str], tuple] = {}
        current: dict[str, Schema] = {}
        for rel, kind in FILES:
            try:
                text = self.source.read_proc(rel)
            except FileNotFoundError:
                continue  # no IPv6 (snmp6), or an old kernel without netstat
            errors = self._errors[rel]
            if kind == "snmp6":
                tables = parse_snmp6(text, errors, self._pick)
            else:
                tables = parse_snmp(text, errors, self._pick, source=kind)
            errors.end()
            for t in tables:
                inst = t.name.lower()
                out[inst] = t.values
                current[inst] = self._schema(t.name, t.fields)
        self._current = current
        return out
