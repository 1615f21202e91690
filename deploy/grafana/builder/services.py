"""The agent itself, probes, containers and services, process groups."""

from __future__ import annotations

from .panels import BASE, CONNECTED, DESTINATION, alias, row, stat, timeseries


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
