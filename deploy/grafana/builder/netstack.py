"""The network stack: TCP, UDP, IP, sockets, softnet and connection tracking."""

from __future__ import annotations

from .panels import BASE, PERCENT_WARN, alias, percent, row, stat, timeseries


def network_stack() -> list[dict]:
    n = f"{BASE}.netstat"
    return [
        row("TCP"),
        timeseries("Segments", [alias(f"{n}.tcp.{{InSegs,OutSegs}}", -1)], "pps",
                   "TCP segments received and sent (retransmissions excluded)."),
        timeseries("Retransmissions", [alias(f"{n}.tcp.RetransSegs", -1), alias(
            f"{n}.tcpext.{{TCPLostRetransmit,TCPTimeouts,TCPSynRetrans,TCPFastRetrans,TCPSlowStartRetrans,"
            "TCPRetransFail}", -1)], "pps",
                   "Segments retransmitted, and why: timeouts (RTO), fast retransmits, SYN retries; lost "
                   "retransmits were lost again."),
        timeseries("Retransmitted (percent of segments sent)",
                   [percent(f"{n}.tcp.RetransSegs", f"{n}.tcp.OutSegs")], "percent",
                   "A few tenths of a percent is normal on the internet; more on a LAN means loss or "
                   "congestion.", w=8),
        timeseries("Established connections", [alias(f"{n}.tcp.CurrEstab", -1)], "short",
                   "TCP connections established or closing now.", w=8),
        timeseries("Connection churn", [alias(f"{n}.tcp.{{ActiveOpens,PassiveOpens,AttemptFails}}", -1),
                                        alias(f"{n}.tcpext.TW", -1)], "cps",
                   "Connections opened by this host and accepted, attempts that failed, and connections "
                   "that finished TIME_WAIT.", w=8),
        timeseries("Listen queue drops", [
            alias(f"{n}.tcpext.{{ListenOverflows,ListenDrops,TCPReqQFullDrop,SyncookiesSent,SyncookiesFailed}}", -1),
        ], "cps", "Connections a listener dropped: its accept queue was full (the application does not accept "
                  "fast enough, or the backlog is too small), or the SYN queue was (syncookies)."),
        timeseries("Resets and aborts", [alias(f"{n}.tcp.{{EstabResets,OutRsts}}", -1),
                                         alias(f"{n}.tcpext.TCPAbort*", -1)], "cps",
                   "Established connections reset, RSTs sent, and why connections were aborted (data after "
                   "close, unread data at close, memory, timeouts)."),
        timeseries("Receive errors and drops", [
            alias(f"{n}.tcp.{{InErrs,InCsumErrors}}", -1),
            alias(f"{n}.tcpext.{{TCPBacklogDrop,TCPRcvQDrop,PruneCalled,TCPOFODrop,TCPMemoryPressures}}", -1),
        ], "pps", "Bad segments, and segments dropped for lack of socket memory or backlog room.", w=24),
        row("UDP"),
        timeseries("Datagrams", [alias(f"{n}.{{udp,udp6}}.{{InDatagrams,OutDatagrams}}", -2, -1)], "pps",
                   "UDP datagrams delivered to sockets and sent, IPv4 and IPv6."),
        timeseries("UDP errors", [
            alias(f"{n}.{{udp,udp6}}.{{InErrors,NoPorts,RcvbufErrors,SndbufErrors,InCsumErrors}}", -2, -1),
        ], "pps", "RcvbufErrors: a socket's receive buffer was full (the application reads too slowly, or "
                  "rmem is too small). NoPorts: nobody listened on the port."),
        row("IP"),
        timeseries("IP traffic", [alias(f"{n}.{{ipext,ip6}}.{{InOctets,OutOctets}}", -2, -1)], "Bps",
                   "Bytes received and sent over IPv4 and IPv6, every interface."),
        timeseries("IP packets", [alias(f"{n}.ip.{{InReceives,InDelivers,OutRequests,ForwDatagrams}}", -2, -1),
                                  alias(f"{n}.ip6.{{InReceives,OutRequests}}", -2, -1)], "pps"),
        timeseries("IP errors and drops", [
            alias(f"{n}.ip.{{InDiscards,OutDiscards,OutNoRoutes,InHdrErrors,InAddrErrors,ReasmFails,FragFails}}",
                  -2, -1),
            alias(f"{n}.ip6.{{InDiscards,OutNoRoutes}}", -2, -1),
        ], "pps"),
        timeseries("ICMP", [alias(f"{n}.icmp.{{InMsgs,OutMsgs,InErrors,InDestUnreachs,OutDestUnreachs}}", -1)],
                   "pps", "Destination unreachable sent: datagrams to closed UDP ports, among others."),
        row("Sockets"),
        timeseries("Sockets in use", [alias(f"{BASE}.sockstat.*.{{inuse,used}}", -2, -1)], "short",
                   "By protocol (v6 ones end in 6); sockets.used counts every protocol.", w=8),
        timeseries("TCP sockets", [alias(f"{BASE}.sockstat.tcp.{{orphan,tw,alloc}}", -1)], "short",
                   "Orphans (closed by their process, still sending), TIME_WAIT, and all allocated.", w=8),
        timeseries("Socket memory", [alias(f"{BASE}.sockstat.*.{{mem,memory}}", -2, -1)], "bytes",
                   "Socket buffers of TCP and UDP, and fragments waiting for reassembly.", w=8),
        row("Softnet"),
        timeseries("Packets processed", [alias(f"{BASE}.softnet.{{processed,received_rps}}", -1)], "pps",
                   "Packets the network softirq processed, summed over the CPUs, and RPS interrupts.", w=8),
        timeseries("Drops and squeezes", [alias(f"{BASE}.softnet.{{dropped,time_squeeze,flow_limit_count}}", -1)],
                   "cps", "dropped: a CPU's backlog was full (net.core.netdev_max_backlog); time_squeeze: the "
                          "softirq ran out of budget (net.core.netdev_budget).", w=8),
        timeseries("Backlog", [alias(f"{BASE}.softnet.backlog", -1)], "short",
                   "Packets waiting in the CPUs' backlogs (kernel 5.10+).", w=8),
        timeseries("Per CPU: drops and squeezes", [alias(f"{BASE}.softnet.*.{{dropped,time_squeeze}}", -2, -1)],
                   "cps", "With softnet_per_cpu: true. One CPU dropping while others idle: spread the "
                          "interrupts (RSS, RPS, irqbalance)."),
        timeseries("Per CPU: packets and backlog",
                   [alias(f"{BASE}.softnet.*.{{processed,received_rps,flow_limit_count,backlog}}", -2, -1)],
                   "short", "With softnet_per_cpu: true."),
        row("Connection tracking"),
        stat("Conntrack table used", f"{BASE}.conntrack.used_percent", "percent",
             "Tracked connections in percent of nf_conntrack_max: new connections are dropped when full.",
             thresholds=PERCENT_WARN),
        timeseries("Conntrack entries", [alias(f"{BASE}.conntrack.{{count,max}}", -1)], "short", w=9),
        timeseries("Conntrack table used", [alias(f"{BASE}.conntrack.used_percent", -1)], "percent", w=9, max=100),
        timeseries("Conntrack drops and failures", [
            alias(f"{BASE}.conntrack.{{drop,early_drop,insert_failed,invalid,search_restart,clashres,chainlength}}",
                  -1)], "cps", "drop: the table was full; early_drop: entries evicted to make room."),
        timeseries("Conntrack lookups and inserts", [alias(f"{BASE}.conntrack.{{found,insert,icmp_error}}", -1)],
                   "cps"),
    ]
