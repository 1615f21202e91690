"""Per-device dashboards: disks, network interfaces, dm-writeboost caches."""

from __future__ import annotations

from .panels import BASE, WRITEBOOST_TUNABLES, alias, row, timeseries


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
