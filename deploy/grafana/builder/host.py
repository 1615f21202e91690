"""The host overview: CPU, memory, activity, storage, filesystems, pressure, kernel."""

from __future__ import annotations

from .panels import BASE, CONNECTED, PERCENT_WARN, alias, row, stat, timeseries


def host_overview() -> list[dict]:
    b = BASE
    return [
        row("Now"),
        stat("CPU busy", f"offset(scale({b}.cpu.total.idle, -1), 100)", "percent",
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
