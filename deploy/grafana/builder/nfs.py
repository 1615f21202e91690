"""NFS: the client's RPC calls, the server, and the client per mount."""

from __future__ import annotations

from .panels import BASE, alias, percent, row, stat, timeseries


def nfs_client() -> list[dict]:
    c = f"{BASE}.nfs"
    return [
        row("RPC"),
        timeseries("RPC calls", [alias(f"{c}.rpc.{{calls,retrans,authrefresh}}", -1)], "ops",
                   "Calls sent, retransmitted and credential refreshes per second."),
        timeseries("Retransmissions", [percent(f"{c}.rpc.retrans", f"{c}.rpc.calls")],
                   "percent", "Retransmitted calls in percent of calls: a server or network too slow "
                   "to answer in time."),
        timeseries("RPC transport", [alias(f"{c}.net.{{packets,udp,tcp,tcpconn}}", -1)], "pps",
                   "Packets (UDP, TCP) and TCP connections made."),
        row("Operations"),
        timeseries("NFSv3 operations", [alias(f"highestAverage({c}.v3.*, 10)", -1)], "ops",
                   "The 10 busiest NFSv3 procedures."),
        timeseries("NFSv4 operations", [alias(f"highestAverage({c}.v4.*, 10)", -1)], "ops",
                   "The 10 busiest NFSv4 client operations."),
        timeseries("NFSv2 operations", [alias(f"highestAverage({c}.v2.*, 10)", -1)], "ops"),
    ]


def nfs_server() -> list[dict]:
    s = f"{BASE}.nfsd"
    return [
        row("Server"),
        stat("nfsd threads", f"{s}.threads", "short", "Server threads running."),
        timeseries("I/O", [alias(f"{s}.io.{{read_bytes,write_bytes}}", -1)], "Bps",
                   "Bytes read from and written to exported filesystems.", w=18),
        timeseries("RPC calls", [alias(f"{s}.rpc.*", -1)], "ops",
                   "Calls received and calls rejected (malformed, bad auth, unknown client)."),
        timeseries("Reply cache", [alias(f"{s}.rc.{{hits,misses,nocache}}", -1)], "ops",
                   "Hits are retransmitted calls answered from the cache."),
        timeseries("Stale file handles", [alias(f"{s}.fh.stale", -1)], "ops"),
        timeseries("RPC transport", [alias(f"{s}.net.{{packets,udp,tcp,tcpconn}}", -1)], "pps",
                   "Packets (UDP, TCP) and TCP connections accepted."),
        row("Operations"),
        timeseries("NFSv3 operations", [alias(f"highestAverage({s}.v3.*, 10)", -1)], "ops",
                   "The 10 busiest NFSv3 procedures."),
        timeseries("NFSv4 operations in compounds", [alias(f"highestAverage({s}.v4ops.*, 10)", -1)], "ops",
                   "The 10 busiest NFSv4 operations."),
        timeseries("NFSv4 calls", [alias(f"{s}.v4.{{null,compound}}", -1)], "ops"),
        timeseries("NFSv2 operations", [alias(f"highestAverage({s}.v2.*, 10)", -1)], "ops"),
    ] + nfsd_pools()


def nfsd_pools() -> list[dict]:
    p = f"{BASE}.nfsd.pool"
    return [
        row("Thread pools"),
        stat("Pools", f"{p}.pools", "short", "nfsd thread pools (one unless pool_mode is percpu or pernode).", w=4),
        timeseries("Pool activity", [alias(f"{p}.{{packets_arrived,threads_woken,sockets_enqueued,threads_timedout}}",
                                           -1)], "ops",
                   "/proc/fs/nfsd/pool_stats summed over the pools: data arriving on transports, idle threads "
                   "woken for it, transports queued because no thread was free, idle timeouts.", w=10),
        timeseries("Transports that waited for a thread",
                   [percent(f"{p}.sockets_enqueued", f"{p}.packets_arrived")], "percent",
                   "sockets_enqueued in percent of packets_arrived: before 6.x kernels, a sign of too few nfsd "
                   "threads (6.x queues every transport).", w=10),
    ]


# The procedures shown one by one on the per-mount dashboard (NFSv3 and NFSv4 names alike).
MAIN_OPS = "read,write,getattr,lookup,access,commit"
RDMA_COUNTS = (
    "read_chunk_count,write_chunk_count,reply_chunk_count,pullup_copy_count,fixup_copy_count,"
    "hardway_register_count,failed_marshal_count,bad_reply_count,nomsg_call_count,mrs_recycled,mrs_orphaned,"
    "mrs_allocated,local_inv_needed,empty_sendctx_q,reply_waits_for_send"
)


def nfs_mounts() -> list[dict]:
    m = f"{BASE}.nfsmount.$mount"
    f = f"{BASE}.fs.$mount"
    return [
        row("Per mount"),
        timeseries("Operations", [alias(f"{m}.ops", -2)], "ops", "RPC calls per second, every procedure.", w=8),
        timeseries("Throughput", [alias(f"{m}.{{read_bytes,write_bytes}}", -2, -1)], "Bps",
                   "READ and WRITE calls' bytes on the wire, RPC headers included (nfsiostat's read and "
                   "write kB/s).", w=8),
        timeseries("Responsive", [alias(f"{f}.responsive", -2)], "none",
                   "1 when statvfs answered within nfs_statvfs_timeout (fs group); 0 while the server does "
                   "not answer.", w=8, max=1),
        timeseries("Retransmissions, timeouts, errors", [alias(f"{m}.{{retrans,timeouts,errors}}", -2, -1)], "ops",
                   "Transmissions beyond the first of each call, major timeouts, calls that ended in an "
                   "error (RPC iostats 1.1)."),
        timeseries("Calls: main procedures", [alias(f"{m}.{{{MAIN_OPS}}}_ops", -2, -1)], "ops"),
        timeseries("RTT per call: main procedures", [alias(f"{m}.{{{MAIN_OPS}}}_rtt_ms", -2, -1)], "ms",
                   "Average round trip per call over the interval; no point without a call."),
        timeseries("Execution time per call: main procedures", [alias(f"{m}.{{{MAIN_OPS}}}_exec_ms", -2, -1)],
                   "ms", "Average time from queueing to the reply per call (nfsiostat's avg exe)."),
        row("Every procedure"),
        timeseries("Busiest procedures", [alias(f"highestAverage({m}.*_ops, 10)", -2, -1)], "ops"),
        timeseries("Bytes by procedure", [alias(f"highestAverage({m}.*_{{sent,recv}}_bytes, 10)", -2, -1)],
                   "Bps", "Sent and received, RPC headers included."),
        timeseries("Slowest procedures: RTT", [alias(f"highestAverage({m}.*_rtt_ms, 10)", -2, -1)], "ms"),
        timeseries("Slowest procedures: execution", [alias(f"highestAverage({m}.*_exec_ms, 10)", -2, -1)], "ms"),
        timeseries("Queue time by procedure", [alias(f"highestAverage({m}.*_queue_ms, 10)", -2, -1)], "ms",
                   "Average time from queueing to transmission per call."),
        timeseries("Retransmissions by procedure", [alias(f"highestMax({m}.*_retrans, 10)", -2, -1)], "ops"),
        timeseries("Timeouts by procedure", [alias(f"highestMax({m}.*_timeouts, 10)", -2, -1)], "ops"),
        timeseries("Errors by procedure", [alias(f"highestMax({m}.*_errors, 10)", -2, -1)], "ops",
                   "RPC iostats 1.1 (5.3+, RHEL 8) only."),
        row("Client"),
        timeseries("Page cache, direct and server bytes", [alias(
            f"{m}.{{normal,direct,server}}{{read,write}}bytes", -2, -1)], "Bps",
            "normal: through the page cache; direct: O_DIRECT; server: READ and WRITE payloads."),
        timeseries("Pages", [alias(f"{m}.{{readpages,writepages}}", -2, -1)], "suffix:pages/s"),
        timeseries("VFS and client events", [alias(f"highestAverage({m}.events_*, 10)", -2, -1)], "ops",
                   "The 10 most frequent of the client's event counters (mountstats events:)."),
        timeseries("Mount age", [alias(f"{m}.age", -2)], "s"),
        row("Transport"),
        timeseries("RPC sends and receives", [alias(f"{m}.xprt_{{sends,recvs,bad_xids}}", -2, -1)], "ops",
                   "Summed over the mount's transports (nconnect)."),
        timeseries("Queue lengths per send", [alias(f"{m}.xprt_*_queue", -2, -1)], "short",
                   "Average requests in the slot table, the backlog, being sent and awaiting replies, per "
                   "send (nfsiostat's rpc bklog is the backlog)."),
        timeseries("Connections", [alias(f"{m}.xprt_{{connect_count,bind_count,connect_time}}", -2, -1)], "short",
                   "Connections made and rpcbind queries per second, and time spent connecting per second."),
        timeseries("Transport state", [alias(f"{m}.xprt_{{idle_time,max_slots,count}}", -2, -1)], "short",
                   "Seconds since last use, the most RPC slots used at once, transports."),
        timeseries("RDMA", [alias(f"{m}.xprt_{{{RDMA_COUNTS}}}", -2, -1)], "ops", "proto=rdma mounts only."),
        timeseries("RDMA bytes", [alias(f"{m}.xprt_total_rdma_{{request,reply}}", -2, -1)], "Bps",
                   "proto=rdma mounts only."),
        row("Space (fs)"),
        timeseries("Used", [alias(f"{f}.used_percent", -2)], "percent", "As df prints Use%.", w=8, max=100),
        timeseries("Space", [alias(f"{f}.{{size,used,free}}", -2, -1)], "bytes", w=8),
        timeseries("Inodes", [alias(f"{f}.{{inodes_total,inodes_used,inodes_free}}", -2, -1)], "short", w=8),
    ]
