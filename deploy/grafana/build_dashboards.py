#!/usr/bin/env python3
"""Writes the Grafana dashboards in deploy/grafana/dashboards/ from the tables below.

    python3 deploy/grafana/build_dashboards.py          # rewrite the JSON files
    python3 deploy/grafana/build_dashboards.py --check  # exit 1 if a file is stale

Every dashboard reads the paths carbon-client sends in its default layout,
``[prefix.]host.group[.instance].key``, as the agent sends them (rates are
already per second: no derivative() anywhere). Variables: ``prefix`` (a textbox:
the agent's ``prefix`` followed by a dot, empty by default), ``host`` (the
hosts that send the dashboard's group, found with /metrics/expand), and per
dashboard ``disk``, ``nic`` or ``dev``. Aliases use negative node indices, so
they do not depend on how many levels the prefix has.

Stdlib only; the output is stable (sorted keys, fixed ids) so a diff shows
exactly what changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

OUT = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 39
DS = {"type": "graphite", "uid": "graphite"}
TAG = "carbon-client"
BASE = "${prefix}$host"

# -- variables ------------------------------------------------------------------


def prefix_var() -> dict:
    return {
        "type": "textbox",
        "name": "prefix",
        "label": "Prefix",
        "description": "The agent's `prefix` followed by a dot (servers.dc1.), or empty.",
        "query": "",
        "current": {"selected": False, "text": "", "value": ""},
        "options": [{"selected": True, "text": "", "value": ""}],
        "hide": 0,
    }


def host_var(group: str) -> dict:
    """Hosts that send ``group``: expand ``${prefix}*.group`` and keep the host level."""
    query = f"expand(${{prefix}}*.{group})"
    return {
        "type": "query",
        "name": "host",
        "label": "Host",
        "datasource": DS,
        "query": query,
        "definition": query,
        "regex": f"/([^.]+)\\.{group}$/",
        "refresh": 2,
        "sort": 1,
        "multi": False,
        "includeAll": False,
        "current": {},
        "options": [],
        "hide": 0,
    }


def instance_var(name: str, label: str, group: str, skip_total: bool) -> dict:
    """The instances of a per-device group (all selected by default)."""
    query = f"{BASE}.{group}.*"
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DS,
        "query": query,
        "definition": query,
        "regex": "/^(?!total$).*/" if skip_total else "",
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


# -- panels -----------------------------------------------------------------------


def alias(expr: str, *nodes: int) -> str:
    return f"aliasByNode({expr}, {', '.join(str(n) for n in nodes)})"


def _targets(targets: list[str]) -> list[dict]:
    return [
        {"refId": chr(ord("A") + i), "datasource": DS, "target": t, "hide": False}
        for i, t in enumerate(targets)
    ]


def timeseries(
    title: str,
    targets: list[str],
    unit: str,
    description: str = "",
    *,
    w: int = 12,
    h: int = 8,
    stack: bool = False,
    min: Optional[float] = 0,
    max: Optional[float] = None,
) -> dict:
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 25 if stack else 8,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
            "axisSoftMin": min,
        },
    }
    if max is not None:
        defaults["max"] = max
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": _targets(targets),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {
                "showLegend": True,
                "displayMode": "table",
                "placement": "bottom",
                "calcs": ["mean", "max", "lastNotNull"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "_size": (w, h),
    }


def stat(
    title: str,
    target: str,
    unit: str,
    description: str = "",
    *,
    w: int = 6,
    h: int = 4,
    thresholds: tuple[tuple[str, Optional[float]], ...] = (("green", None),),
    mappings: Optional[list] = None,
) -> dict:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": _targets([target]),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": {
                    "mode": "absolute",
                    "steps": [{"color": c, "value": v} for c, v in thresholds],
                },
                "mappings": mappings or [],
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
            "justifyMode": "auto",
            "orientation": "auto",
        },
        "_size": (w, h),
    }


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_size": (24, 1)}


# What dm-writeboost v2.0 .. v2.2 report (v1.0 and pre-1.0 targets report other keys).
WRITEBOOST_TUNABLES = (
    "writeback_threshold", "nr_cur_batched_writeback", "sync_data_interval",
    "update_sb_record_interval", "read_cache_threshold",
)
PERCENT_WARN = (("green", None), ("orange", 80.0), ("red", 90.0))
# connected: destinations connected now (0 or 1 in failover mode, up to N with mode: all).
CONNECTED = [{"type": "value", "options": {"0": {"text": "disconnected", "color": "red", "index": 0}}}]
# destination: which --carbon destination is in use, 1 for the first; 0 for none.
DESTINATION = [{"type": "value", "options": {"0": {"text": "none", "color": "red", "index": 0}}}]

# -- dashboards -----------------------------------------------------------------


def host_overview() -> list[dict]:
    b = BASE
    return [
        row("Now"),
        stat("CPU busy", f"alias(offset(scale({b}.cpu.total.idle, -1), 100), 'busy')", "percent",
             "100 - idle, percent of all CPUs.", thresholds=PERCENT_WARN),
        stat("Load (1 min)", f"{b}.load.1m", "short"),
        stat("Memory used", f"{b}.memory.used_percent", "percent", thresholds=PERCENT_WARN),
        stat("Carbon connection", f"{b}.carbon_client.connected", "none",
             "Carbon destinations the agent has connected now.",
             thresholds=(("red", None), ("green", 1.0)), mappings=CONNECTED),
        row("CPU and memory"),
        timeseries("CPU", [alias(f"{b}.cpu.total.{{user,nice,system,iowait,irq,softirq,steal}}", -1)],
                   "percent", "Time by state, percent of all CPUs (idle not shown).",
                   stack=True, max=100),
        timeseries("Load", [alias(f"{b}.load.{{1m,5m,15m}}", -1)], "short",
                   "Load averages over 1, 5 and 15 minutes."),
        timeseries("Memory", [alias(f"{b}.memory.{{used,cached,buffers,free}}", -1)], "bytes",
                   "used = total - free - buffers - cached - reclaimable slab.", stack=True),
        timeseries("Memory available", [alias(f"{b}.memory.{{total,available}}", -1)], "bytes",
                   "MemAvailable: memory new work can get without swapping."),
        timeseries("Memory details", [
            alias(f"{b}.memory.{{shared,slab_reclaimable,slab_unreclaimable,active,inactive,dirty,writeback}}", -1),
        ], "bytes", "Shmem, slab, active/inactive lists, and pages waiting for or under writeback."),
        timeseries("Swap", [alias(f"{b}.swap.{{total,used,free,cached}}", -1)], "bytes",
                   "cached: swapped out and back in, still in swap."),
        timeseries("Memory and swap used", [alias(f"{b}.{{memory,swap}}.used_percent", -2)], "percent",
                   max=100),
        row("Activity"),
        timeseries("Paging and swapping", [alias(f"{b}.paging.{{page_in,page_out,swap_in,swap_out}}", -1)],
                   "Bps", "Bytes paged in/out from block devices and swapped in/out."),
        timeseries("Page faults", [alias(f"{b}.paging.{{faults,major_faults}}", -1)], "cps",
                   "Major faults needed I/O."),
        timeseries("Context switches, interrupts, forks",
                   [alias(f"{b}.system.{{context_switches,interrupts,softirqs,forks}}", -1)], "cps"),
        timeseries("Tasks", [alias(f"{b}.system.{{procs_running,procs_blocked}}", -1)], "short",
                   "Runnable and blocked-on-I/O tasks now."),
        row("Storage and network"),
        timeseries("Disk throughput (all disks)", [alias(f"{b}.disk.total.{{read_bytes,write_bytes}}", -1)],
                   "Bps", "Whole disks not stacked on others, so no byte is counted twice."),
        timeseries("Busiest disk", [alias(f"{b}.disk.total.busy_percent", -1)], "percent",
                   "Percent of time the busiest device had I/O in flight.", max=100),
        timeseries("Network traffic (physical NICs)", [alias(f"{b}.net.total.{{rx_bytes,tx_bytes}}", -1)],
                   "Bps", "Sum over interfaces with a device (no veth, bridge or bond double counting).",
                   w=24),
        row("Filesystems"),
        timeseries("Filesystems used", [alias(f"{b}.fs.*.used_percent", -2)], "percent",
                   "Used space as df prints Use%.", max=100, w=8),
        timeseries("Filesystem space", [alias(f"{b}.fs.*.{{size,used,free}}", -2, -1)], "bytes",
                   "free: available to unprivileged users.", w=8),
        timeseries("Inodes", [alias(f"{b}.fs.*.{{inodes_total,inodes_used,inodes_free}}", -2, -1)], "short",
                   w=8),
        *pressure_and_kernel(),
    ]


PROCESS_STATES = "running,sleeping,disk_sleep,stopped,tracing_stop,zombie,dead,idle,parked,other"


def pressure_and_kernel() -> list[dict]:
    """The host overview's pressure, kernel and processes rows."""
    b = BASE
    return [
        row("Pressure"),
        timeseries("Pressure (10 s average)", [alias(f"{b}.pressure.*.*.avg10", -3, -2)], "percent",
                   "Percent of time some (some) or all (full) non-idle tasks waited for the CPU, memory, "
                   "I/O or IRQs, as the kernel's 10 s average.", w=8, max=100),
        timeseries("Stall time", [alias(f"{b}.pressure.*.*.total", -3, -2)], "percent",
                   "Percent of each interval stalled, from the kernel's microsecond counter.", w=8, max=100),
        timeseries("Pressure (1 and 5 min averages)", [alias(f"{b}.pressure.*.*.{{avg60,avg300}}", -3, -2, -1)],
                   "percent", "Sustained pressure: full memory or I/O pressure here means the host is thrashing "
                   "or its disks are saturated.", w=8, max=100),
        row("Kernel and processes"),
        stat("Uptime", f"{b}.kernel.uptime", "s", "Time since boot."),
        stat("CPUs online", f"{b}.kernel.cpus", "short"),
        stat("File handles used", f"{b}.kernel.file_handles_used_percent", "percent",
             "Allocated file handles in percent of fs.file-max.", thresholds=PERCENT_WARN),
        stat("Entropy", f"{b}.kernel.entropy_avail", "suffix:bits", "Bits in the input pool (256 on 5.18+)."),
        timeseries("Processes by state", [alias(f"{b}.processes.{{{PROCESS_STATES}}}", -1)], "short",
                   "From every process's /proc/<pid>/stat: D is uninterruptible sleep (usually I/O), Z exited "
                   "but not reaped, I idle kernel threads.", stack=True),
        timeseries("Processes and threads", [alias(f"{b}.kernel.{{processes,threads}}", -2, -1),
                                             alias(f"{b}.processes.threads", -2, -1)], "short",
                   "kernel.threads counts every task, kernel threads included (/proc/loadavg); "
                   "processes.threads sums the thread counts of the processes listed in /proc."),
        timeseries("File handles", [alias(f"{b}.kernel.{{file_handles_allocated,file_handles_max}}", -1)], "short",
                   "Allocated file handles and the limit (fs.file-max).", w=24),
    ]


def disks() -> list[dict]:
    def panels(d: str, suffix: str, nodes: tuple[int, ...]) -> list[dict]:
        one = nodes[:-1] or (-1,)
        return [
            timeseries(f"Throughput{suffix}", [alias(f"{d}.{{read_bytes,write_bytes,discard_bytes}}", *nodes)],
                       "Bps", "Bytes read, written and discarded per second."),
            timeseries(f"IOPS{suffix}", [alias(f"{d}.{{reads,writes,discards}}", *nodes)], "iops",
                       "Completed requests per second (discards: kernel 4.18+)."),
            timeseries(f"Busy{suffix}", [alias(f"{d}.busy_percent", *one)], "percent",
                       "Percent of time with I/O in flight (iostat %util); for total, the busiest "
                       "device.", max=100),
            timeseries(f"Wait per request{suffix}", [alias(f"{d}.{{await,read_await,write_await}}", *nodes)],
                       "ms", "Average time per completed request, queueing included (iostat await)."),
            timeseries(f"Queue{suffix}", [alias(f"{d}.{{avg_queue,in_progress}}", *nodes)], "short",
                       "Average requests in flight over the interval (aqu-sz) and in flight now."),
            timeseries(f"Merged requests{suffix}", [alias(f"{d}.{{reads_merged,writes_merged}}", *nodes)],
                       "iops", "Adjacent requests merged before reaching the device."),
            timeseries(f"Time spent{suffix}", [alias(f"{d}.{{read_time,write_time,io_time}}", *nodes)],
                       "suffix:ms/s", "Milliseconds of I/O per second (read/write summed over requests).",
                       w=24),
        ]

    return [
        row("Per disk"),
        *panels(f"{BASE}.disk.$disk", "", (-2, -1)),
        row("All disks"),
        *panels(f"{BASE}.disk.total", " (total)", (-1,)),
    ]


def network() -> list[dict]:
    def panels(n: str, suffix: str, nodes: tuple[int, ...]) -> list[dict]:
        return [
            timeseries(f"Traffic{suffix}", [alias(f"{n}.{{rx_bytes,tx_bytes}}", *nodes)], "Bps"),
            timeseries(f"Packets{suffix}", [alias(f"{n}.{{rx_packets,tx_packets}}", *nodes)], "pps"),
            timeseries(f"Errors{suffix}", [alias(f"{n}.{{rx_errors,tx_errors}}", *nodes)], "pps"),
            timeseries(f"Drops{suffix}", [alias(f"{n}.{{rx_drop,tx_drop}}", *nodes)], "pps"),
        ]

    return [
        row("Per interface"),
        *panels(f"{BASE}.net.$nic", "", (-2, -1)),
        row("Physical interfaces"),
        *panels(f"{BASE}.net.total", " (total)", (-1,)),
    ]


def nfs_client() -> list[dict]:
    c = f"{BASE}.nfs"
    return [
        row("RPC"),
        timeseries("RPC calls", [alias(f"{c}.rpc.{{calls,retrans,authrefresh}}", -1)], "ops",
                   "Calls sent, retransmitted and credential refreshes per second."),
        timeseries("Retransmissions", [f"alias(asPercent({c}.rpc.retrans, {c}.rpc.calls), 'retrans')"],
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
                   [f"alias(asPercent({p}.sockets_enqueued, {p}.packets_arrived), 'enqueued')"], "percent",
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


def writeboost() -> list[dict]:
    w = f"{BASE}.writeboost.$dev"
    return [
        row("Cache"),
        timeseries("Hit ratio", [alias(f"{w}.{{read_hit_ratio,write_hit_ratio}}", -2, -1)], "percent",
                   "Hits in percent of requests over the interval.", max=100),
        timeseries("Dirty blocks", [alias(f"{w}.dirty_ratio", -2, -1)], "percent",
                   "Cache blocks not yet written back, in percent of all cache blocks.", max=100),
        timeseries("Requests", [alias(f"{w}.{{read_hits,read_misses,write_hits,write_misses}}", -2, -1)],
                   "iops"),
        timeseries("Writeback lag", [alias(f"{w}.writeback_lag", -2)], "suffix:segments",
                   "Segments written to the cache but not yet back to the backing device "
                   "(current_id - last_writeback_id)."),
        row("Segments"),
        timeseries("Segment ids", [alias(f"{w}.{{current_id,last_flushed_id,last_writeback_id}}", -2, -1)],
                   "short", "Current segment, last flushed to the cache device, last written back."),
        timeseries("Dirty cache blocks", [alias(f"{w}.nr_dirty_cache_blocks", -2)], "short"),
        timeseries("Partial flushes", [alias(f"{w}.nr_partial_flushes", -2)], "ops",
                   "Segments flushed before they were full (fsync, barriers)."),
        timeseries("Cache geometry", [alias(f"{w}.{{cursor_pos,nr_cache_blocks,nr_segments}}", -2, -1)],
                   "short", "Cache blocks and segments of the cache device, and the write cursor."),
        row("Detail"),
        timeseries("Requests by kind", [alias(f"{w}.*_{{partial,full}}", -2, -1)], "iops",
                   "The 16 counters: read|write, hit|miss, found on the RAM buffer or not, covering "
                   "a whole 4 KiB cache block (full) or not (partial).", w=24, h=10),
        timeseries("Tunables", [alias(f"{w}.{{{','.join(WRITEBOOST_TUNABLES)}}}", -2, -1)], "short",
                   "As the target reports them (dm-writeboost v2.x keys).", w=24),
    ]


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
                   [f"alias(asPercent({n}.tcp.RetransSegs, {n}.tcp.OutSegs), 'retransmitted')"], "percent",
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


def agent_health() -> list[dict]:
    a = f"{BASE}.carbon_client"
    return [
        row("Delivery"),
        stat("Connected destinations", f"{a}.connected", "none",
             "Carbon destinations connected now (0 or 1 in failover mode).", w=4,
             thresholds=(("red", None), ("green", 1.0)), mappings=CONNECTED),
        stat("Destination in use", f"{a}.destination", "none",
             "Which --carbon destination failover mode is using: 1 for the first.", w=4,
             thresholds=(("red", None), ("green", 1.0), ("orange", 2.0)), mappings=DESTINATION),
        stat("Buffered", f"{a}.buffered", "suffix:lines", "Lines waiting in memory.", w=5),
        stat("Spooled", f"{a}.spooled", "suffix:lines", "Lines waiting in the disk spool.", w=5),
        stat("Dropped", f"{a}.dropped", "suffix:lines/s", "Lost: buffer and spool full.", w=6,
             thresholds=(("green", None), ("red", 0.001))),
        timeseries("Lines", [alias(f"{a}.{{sent,resent,dropped}}", -1)], "suffix:lines/s",
                   "Sent, sent again after a reconnect (at-least-once), and dropped."),
        timeseries("Backlog", [alias(f"{a}.{{buffered,spooled}}", -1)], "suffix:lines"),
        timeseries("Reconnects and skipped ticks", [alias(f"{a}.{{reconnects,skipped}}", -1)], "cps",
                   "Connections re-established; ticks skipped because a cycle overran."),
        timeseries("Cycle time", [alias(f"{a}.cycle_ms", -1)], "ms",
                   "Time one collection cycle took."),
        row("Resources"),
        timeseries("CPU", [alias(f"{a}.cpu_percent", -1)], "percent", "Percent of one core."),
        timeseries("Memory (RSS)", [alias(f"{a}.rss_bytes", -1)], "bytes"),
        row("Collectors"),
        timeseries("Read time per collector", [alias(f"{a}.*.duration_ms", -2)], "ms", w=8),
        timeseries("Success per collector", [alias(f"{a}.*.success", -2)], "none",
                   "1 when the last read succeeded.", w=8, max=1),
        timeseries("Errors per collector", [alias(f"{a}.*.errors", -2)], "cps", w=8),
        timeseries("Timeouts per collector", [alias(f"{a}.*.timeouts", -2)], "cps",
                   "Reads off the host cycle that took longer than their timeout (values dropped).", w=8),
        timeseries("Busy ticks per collector", [alias(f"{a}.*.skipped", -2)], "cps",
                   "Ticks at which a collector was still busy with its last read (skipped).", w=8),
        timeseries("Malformed lines per collector", [alias(f"{a}.*.bad_lines", -2)], "cps",
                   "Lines of a collector's source that could not be read, skipped.", w=8),
        timeseries("Clock steps", [alias(f"{a}.repeated", -1)], "cps",
                   "Ticks stamped no later than the one before: the wall clock stepped back.", w=24),
    ]


def probes() -> list[dict]:
    p = f"{BASE}.probe.$probe"
    return [
        row("Up"),
        timeseries("Up", [alias(f"{p}.up", -2)], "none", "1 when the probe succeeded.", w=24, max=1),
        row("Response"),
        timeseries("HTTP response time", [alias(f"{p}.response_ms", -2)], "ms", w=8),
        timeseries("TCP connect time", [alias(f"{p}.connect_ms", -2)], "ms", w=8),
        timeseries("TLS handshake time", [alias(f"{p}.handshake_ms", -2)], "ms", w=8),
        timeseries("HTTP status", [alias(f"{p}.status", -2)], "none", w=12),
        timeseries("Certificate days left", [alias(f"{p}.cert_days_left", -2)], "d",
                   "Days until the served leaf certificate expires (alert: under 14).", w=12, min=None),
    ]


def containers_services() -> list[dict]:
    c = f"{BASE}.cgroup.$cgroup"
    return [
        row("CPU"),
        timeseries("CPU", [alias(f"{c}.cpu_percent", -2)], "percent",
                   "CPU time of each service or container, percent of one core (200 = two cores busy)."),
        timeseries("Throttled periods", [alias(f"{c}.throttled_periods", -2)], "cps",
                   "Enforcement periods per second in which cpu.max (v1 cpu.cfs_quota_us) held the cgroup back."),
        timeseries("Throttled time", [alias(f"{c}.throttled_time", -2)], "suffix:ms/s",
                   "Time its tasks waited for the next period, summed over CPUs, per second.", w=24),
        row("Memory"),
        timeseries("Memory in use", [alias(f"{c}.memory_current", -2)], "bytes",
                   "memory.current (v1 memory.usage_in_bytes): anonymous memory, page cache and kernel memory."),
        timeseries("Memory used of the limit", [alias(f"{c}.memory_percent", -2)], "percent",
                   "memory_current / memory_max: cgroups without a limit are not shown.", max=100),
        timeseries("Anonymous memory and page cache", [alias(f"{c}.{{memory_anon,memory_file}}", -2, -1)],
                   "bytes", "memory.stat anon and file (v1 total_rss and total_cache)."),
        timeseries("Memory limit", [alias(f"{c}.memory_max", -2)], "bytes",
                   "memory.max (v1 memory.limit_in_bytes); unlimited cgroups send none."),
        row("I/O and tasks"),
        timeseries("I/O throughput", [alias(f"{c}.{{io_read_bytes,io_write_bytes}}", -2, -1)], "Bps",
                   "Bytes read from and written to block devices (io.stat; v1 blkio throttle files)."),
        timeseries("I/O operations", [alias(f"{c}.{{io_reads,io_writes}}", -2, -1)], "iops"),
        timeseries("Tasks", [alias(f"{c}.pids", -2)], "short", "Processes and threads (pids.current).", w=24),
        row("Pressure"),
        timeseries("Pressure, 10 s average", [alias(f"{c}.pressure_*_avg10", -2, -1)], "percent",
                   "Share of time some (or, for full, every non-idle) task of the cgroup stalled on CPU, "
                   "memory or I/O, as the kernel averages it over 10 s.", max=100),
        timeseries("Stall time", [alias(f"{c}.pressure_*_stall", -2, -1)], "percent",
                   "Share of the interval spent stalled, from the pressure files' total.", max=100),
    ]


def process_groups() -> list[dict]:
    g = f"{BASE}.process.$group"
    return [
        row("Process groups"),
        timeseries("Processes", [alias(f"{g}.count", -2)], "short",
                   "Processes in each group now; 0 when none runs.", w=8),
        timeseries("CPU", [alias(f"{g}.cpu_percent", -2)], "percent",
                   "CPU time of the group's processes, percent of one core.", w=16),
        timeseries("Resident memory", [alias(f"{g}.rss_bytes", -2)], "bytes",
                   "RSS summed over the group (shared pages counted once per process)."),
        timeseries("Disk I/O", [alias(f"{g}.{{read_bytes,write_bytes}}", -2, -1)], "Bps",
                   "Bytes the processes made the block layer read and write (/proc/<pid>/io)."),
        timeseries("Open files", [alias(f"{g}.fds", -2)], "short", "Open file descriptors."),
        timeseries("Threads", [alias(f"{g}.threads", -2)], "short"),
    ]


DASHBOARDS = [
    # uid, file, title, group of the host variable, instance variables, panels, description
    ("cc-host", "host-overview", "carbon-client / Host overview", "carbon_client", [], host_overview,
     "CPU, memory, paging, disks, network, filesystems, pressure, kernel and processes of one host."),
    ("cc-disks", "disks", "carbon-client / Disks", "disk",
     [("disk", "Disk", "disk", True)], disks, "Block devices from /proc/diskstats."),
    ("cc-network", "network", "carbon-client / Network", "net",
     [("nic", "Interface", "net", True)], network, "Interfaces from /proc/net/dev."),
    ("cc-nfs-client", "nfs-client", "carbon-client / NFS client", "nfs", [], nfs_client,
     "NFS client RPC calls from /proc/net/rpc/nfs."),
    ("cc-nfs-server", "nfs-server", "carbon-client / NFS server", "nfsd", [], nfs_server,
     "NFS server from /proc/net/rpc/nfsd."),
    ("cc-writeboost", "writeboost", "carbon-client / dm-writeboost", "writeboost",
     [("dev", "Device", "writeboost", False)], writeboost, "dm-writeboost caches (dmsetup status)."),
    ("cc-nfs-mounts", "nfs-mounts", "carbon-client / NFS client per mount", "nfsmount",
     [("mount", "Mount", "nfsmount", False)], nfs_mounts,
     "NFS mounts from /proc/self/mountstats: calls, throughput, times per call, transports; "
     "responsiveness and space from fs."),
    ("cc-agent", "agent-health", "carbon-client / Agent health", "carbon_client", [], agent_health,
     "The agent itself: delivery to Carbon, its own cost, and each collector."),
    ("cc-probes", "probes", "carbon-client / Probes", "probe",
     [("probe", "Probe", "probe", False)], probes, "HTTP, TCP and TLS probes (`probes` in the config)."),
    ("cc-cgroups", "cgroups", "carbon-client / Containers and services", "cgroup",
     [("cgroup", "Service or container", "cgroup", False)], containers_services,
     "systemd services and containers from their cgroups: CPU, throttling, memory, I/O, tasks, pressure."),
    ("cc-process-groups", "process-groups", "carbon-client / Processes", "process",
     [("group", "Process group", "process", False)], process_groups,
     "The process groups configured in process_groups: processes, CPU, memory, I/O, files, threads."),
    ("cc-netstack", "network-stack", "carbon-client / Network stack", "netstat", [], network_stack,
     "TCP, UDP and IP protocol counters, sockets, softnet drops and connection tracking."),
]


def _layout(panels: list[dict]) -> list[dict]:
    """Grid positions left to right, wrapping at 24 columns; ids in order."""
    x = y = line_h = 0
    out = []
    for i, p in enumerate(panels, start=1):
        w, h = p.pop("_size")
        if x + w > 24 or p["type"] == "row":
            y += line_h
            x = line_h = 0
        p["id"] = i
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x += w
        line_h = max(line_h, h)
        if p["type"] == "row":
            y += h
            x = line_h = 0
        out.append(p)
    return out


def build(uid: str, title: str, group: str, instance_vars: list, panels_fn, description: str) -> dict:
    variables = [prefix_var(), host_var(group)]
    variables += [instance_var(*v) for v in instance_vars]
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [TAG],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "links": [
            {
                "type": "dashboards",
                "tags": [TAG],
                "title": "carbon-client",
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }
        ],
        "templating": {"list": variables},
        "panels": _layout(panels_fn()),
    }


def render_all() -> dict[str, str]:
    """file name -> JSON text."""
    out = {}
    for uid, name, title, group, ivars, fn, desc in DASHBOARDS:
        out[f"{name}.json"] = json.dumps(build(uid, title, group, ivars, fn, desc), indent=2, sort_keys=True) + "\n"
    return out


def main(argv: list[str]) -> int:
    files = render_all()
    if argv[1:] == ["--check"]:
        stale = [n for n, text in files.items()
                 if not (OUT / n).exists() or (OUT / n).read_text() != text]
        for n in stale:
            print(f"stale: {OUT / n} (run {argv[0]})", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(exist_ok=True)
    for n, text in files.items():
        (OUT / n).write_text(text)
        print(OUT / n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
