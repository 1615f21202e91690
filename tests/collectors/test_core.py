"""Core collectors on two fake /proc snapshots in tmp_path: exact rates, resets, hot-plug, names."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbon_client.agent import Agent
from carbon_client.collectors.basic import PAGE_SIZE, Cpu, Load, Memory, Paging, Swap, System
from carbon_client.collectors.devices import Disk, Net
from carbon_client.config import build
from carbon_client.lines import Renderer
from carbon_client.metrics import Unavailable
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from carbon_client.source import Source

NETDEV_HEAD = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|"
    "bytes    packets errs drop fifo colls carrier compressed\n"
)


def netdev(rows: dict[str, tuple[int, ...]]) -> str:
    """rows: name -> (rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop)."""
    out = [NETDEV_HEAD]
    for name, (rb, rp, re_, rd, tb, tp, te, td) in rows.items():
        out.append(f"{name:>6}: {rb} {rp} {re_} {rd} 0 0 0 0 {tb} {tp} {te} {td} 0 0 0 0\n")
    return "".join(out)


def diskline(major, minor, name, reads, rsect, rms, writes, wsect, wms, inflight, io_ms, wio_ms):
    # 14-field layout (pre-4.18): merged counts 2 and 3 for reads/writes
    return (f"{major:4d} {minor:7d} {name} {reads} 2 {rsect} {rms} {writes} 3 {wsect} {wms} "
            f"{inflight} {io_ms} {wio_ms}\n")


class Root:
    """A fake proc root and sys root the test rewrites between snapshots."""

    def __init__(self, tmp: Path) -> None:
        self.proc = tmp / "proc"
        self.sys = tmp / "sys"
        (self.proc / "net").mkdir(parents=True)
        self.sys.mkdir()

    def write(self, rel: str, text: str) -> None:
        p = self.proc / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def block(self, name: str, partition_of: str | None = None, dm_name: str | None = None,
              slaves: tuple[str, ...] = ()) -> None:
        cls = self.sys / "class" / "block" / name
        cls.mkdir(parents=True)
        if partition_of:
            (cls / "partition").write_text("1\n")
            return
        blk = self.sys / "block" / name
        (blk / "slaves").mkdir(parents=True)
        for s in slaves:
            (blk / "slaves" / s).write_text("")
        if dm_name:
            (blk / "dm").mkdir()
            (blk / "dm" / "name").write_text(dm_name + "\n")

    def nic(self, name: str, physical: bool) -> None:
        d = self.sys / "class" / "net" / name
        d.mkdir(parents=True)
        if physical:
            (d / "device").mkdir()

    def source(self) -> Source:
        return Source(str(self.proc), str(self.sys))


@pytest.fixture
def root(tmp_path):
    return Root(tmp_path)


def two_samples(collector, first, second, root, t0=100.0, t1=102.0, counters="rate"):
    """Write snapshot 1, read at t0, write snapshot 2, read at t1; return the second Sampled."""
    s = Sampler(collector, want_totals=counters != "rate")
    first()
    collector.source.new_cycle()
    s.update(collector.read(), t0)
    second()
    collector.source.new_cycle()
    return s, s.update(collector.read(), t1)


def values_by_key(sampled, instance):
    schema = sampled.schemas[instance]
    return {m.key: v for m, v in zip(schema.metrics, sampled.values[instance])}


# -- disk ------------------------------------------------------------------------


def test_disk_rates_selection_dm_names_and_total(root):
    root.block("sda")
    root.block("sda1", partition_of="sda")
    root.block("sdb")
    root.block("dm-0", dm_name="vg0-data", slaves=("sda1",))
    root.block("loop0")

    def snap(k):
        root.write("diskstats", "".join([
            diskline(8, 0, "sda", 100 * k, 800 * k, 50 * k, 10 * k, 80 * k, 20 * k, 1, 400 * k, 700 * k),
            diskline(8, 1, "sda1", 90 * k, 700 * k, 40 * k, 9 * k, 70 * k, 10 * k, 0, 300 * k, 500 * k),
            diskline(8, 16, "sdb", 20 * k, 160 * k, 10 * k, 0, 0, 0, 0, 1000 * k, 1000 * k),
            diskline(252, 0, "dm-0", 90 * k, 700 * k, 40 * k, 9 * k, 70 * k, 10 * k, 0, 300 * k, 500 * k),
            diskline(7, 0, "loop0", 5 * k, 5 * k, 5 * k, 0, 0, 0, 0, 5 * k, 5 * k),
        ]))

    disk = Disk(root.source(), build(None, {"proc_root": str(root.proc)}))
    _, out = two_samples(disk, lambda: snap(1), lambda: snap(3), root)
    assert set(out.values) == {"sda", "sdb", "vg0-data", "total"}  # no partition, no loop
    sda = values_by_key(out, "sda")
    # deltas over 2.0 s: reads 200, sectors read 1600, read ms 100, writes 20, sectors written 160
    assert sda["reads"] == pytest.approx(100.0)
    assert sda["read_bytes"] == pytest.approx(1600 * 512 / 2)
    assert sda["writes"] == pytest.approx(10.0)
    assert sda["write_bytes"] == pytest.approx(160 * 512 / 2)
    assert sda["reads_merged"] == 0  # merged counts did not change
    assert sda["read_time"] == pytest.approx(50.0)
    assert sda["io_time"] == pytest.approx(400.0)
    assert sda["busy_percent"] == pytest.approx(40.0)
    assert sda["avg_queue"] == pytest.approx(0.7)
    assert sda["await"] == pytest.approx((100 + 40) / 220)  # (read ms + write ms) / ops
    assert sda["read_await"] == pytest.approx(0.5)
    assert sda["write_await"] == pytest.approx(2.0)
    assert sda["in_progress"] == 1
    sdb = values_by_key(out, "sdb")
    assert sdb["busy_percent"] == 100.0  # 1000 ms of I/O per second, capped
    total = values_by_key(out, "total")
    # total = sda + sdb; dm-0 is stacked on sda1, so counting it would count bytes twice
    assert total["reads"] == pytest.approx(100.0 + 20.0)
    assert total["read_bytes"] == pytest.approx((1600 + 320) * 512 / 2)
    assert total["busy_percent"] == 100.0  # the busiest device
    assert total["await"] == pytest.approx((100 + 40 + 20) / (220 + 40))


def test_disk_globs_select_by_kernel_or_dm_name(root):
    root.block("sda")
    root.block("sda1", partition_of="sda")
    root.block("dm-3", dm_name="vg0-home")
    root.write("diskstats", diskline(8, 0, "sda", 1, 1, 1, 1, 1, 1, 0, 1, 1)
               + diskline(8, 1, "sda1", 1, 1, 1, 1, 1, 1, 0, 1, 1)
               + diskline(252, 3, "dm-3", 1, 1, 1, 1, 1, 1, 0, 1, 1))
    pick = Disk(root.source(), build(None, {"disks": "sda1,vg0-*"}))
    assert set(pick.read()) == {"sda1", "vg0-home"}
    every = Disk(root.source(), build(None, {"disks": "*"}))
    assert set(every.read()) == {"sda", "sda1", "vg0-home"}


def test_disk_instance_names_by_kernel_name_of_the_devices_present(root):
    root.block("sda")
    root.block("dm-3", dm_name="vg0-home")
    sda = diskline(8, 0, "sda", 1, 1, 1, 1, 1, 1, 0, 1, 1)
    root.write("diskstats", sda + diskline(252, 3, "dm-3", 1, 1, 1, 1, 1, 1, 0, 1, 1)
               + diskline(7, 0, "loop0", 1, 1, 1, 1, 1, 1, 0, 1, 1))
    disk = Disk(root.source(), build())
    assert disk.instance_names == {}
    disk.read()
    assert disk.instance_names == {"sda": "sda", "dm-3": "vg0-home"}  # loop0 is not selected
    root.write("diskstats", sda)
    disk.read()
    assert disk.instance_names == {"sda": "sda"}


def test_disk_without_sys_uses_name_rules(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "diskstats").write_text("".join(
        diskline(259, i, n, 1, 1, 1, 1, 1, 1, 0, 1, 1)
        for i, n in enumerate(["nvme0n1", "nvme0n1p1", "vda", "vda2", "mmcblk0", "mmcblk0p1",
                               "zram0", "ram1", "loop3", "md0", "dm-1"])
    ))
    disk = Disk(Source(str(proc), str(tmp_path / "nosys")), build())
    assert set(disk.read()) == {"nvme0n1", "vda", "mmcblk0", "md0", "dm-1"}
    assert {i for i in ("nvme0n1", "vda", "mmcblk0", "md0", "dm-1") if disk.in_aggregate(i)} == {
        "nvme0n1", "vda", "mmcblk0"}


def test_disk_hotplug_appears_next_cycle_without_a_spike_and_vanishes(root):
    root.block("sda")
    root.block("sdz")
    disk = Disk(root.source(), build())
    s = Sampler(disk)
    root.write("diskstats", diskline(8, 0, "sda", 10, 10, 10, 10, 10, 10, 0, 10, 10))
    s.update(disk.read(), 0.0)
    root.write("diskstats", diskline(8, 0, "sda", 20, 20, 20, 20, 20, 20, 0, 20, 20)
               + diskline(65, 144, "sdz", 10 ** 9, 10 ** 9, 1, 1, 1, 1, 0, 1, 1))
    out = s.update(disk.read(), 1.0)
    assert values_by_key(out, "sdz")["reads"] is None  # first sample of the new disk
    assert values_by_key(out, "total")["reads"] == pytest.approx(10.0)  # no jump from sdz
    root.write("diskstats", diskline(8, 0, "sda", 30, 30, 30, 30, 30, 30, 0, 30, 30))
    out = s.update(disk.read(), 2.0)
    assert "sdz" not in out.values


def test_disk_malformed_line_costs_that_line_only(root, caplog):
    root.block("sda")
    root.block("sdb")
    root.write("diskstats", diskline(8, 0, "sda", 1, 1, 1, 1, 1, 1, 0, 1, 1)
               + "   8      16 sdb 1 2 three 4\n")
    disk = Disk(root.source(), build())
    assert set(disk.read()) == {"sda"}
    assert "sdb 1 2 three 4" in caplog.text


# -- net -------------------------------------------------------------------------


def test_net_rates_default_selection_and_physical_total(root):
    root.nic("eth0", physical=True)
    root.nic("eth1", physical=True)
    root.nic("docker0", physical=False)
    root.nic("veth12", physical=False)
    root.nic("lo", physical=False)
    root.nic("flannel.1", physical=False)

    def snap(k):
        root.write("net/dev", netdev({
            "lo": (1000 * k,) * 8,
            "eth0": (1000 * k, 10 * k, 1 * k, 0, 500 * k, 5 * k, 0, 2 * k),
            "eth1": (3000 * k, 30 * k, 0, 0, 1500 * k, 15 * k, 0, 0),
            "docker0": (777 * k, 7 * k, 0, 0, 777 * k, 7 * k, 0, 0),
            "veth12": (777 * k, 7 * k, 0, 0, 777 * k, 7 * k, 0, 0),
            "flannel.1": (4 * k, 1 * k, 0, 0, 4 * k, 1 * k, 0, 0),
        }))

    net = Net(root.source(), build())
    s, out = two_samples(net, lambda: snap(1), lambda: snap(5), root, t0=10.0, t1=14.0)
    assert set(out.values) == {"eth0", "eth1", "docker0", "veth12", "flannel.1", "total"}
    eth0 = values_by_key(out, "eth0")
    assert eth0 == {
        "rx_bytes": 1000.0, "tx_bytes": 500.0, "rx_packets": 10.0, "tx_packets": 5.0,
        "rx_errors": 1.0, "tx_errors": 0.0, "rx_drop": 0.0, "tx_drop": 2.0,
    }
    total = values_by_key(out, "total")
    assert total["rx_bytes"] == 4000.0  # eth0 + eth1 only: bridge/veth traffic is not counted twice
    lines = []
    Renderer(DefaultLayout("h"), "rate").render(out, 0, lines)
    text = "".join(lines)
    assert "h.net.flannel_1.rx_bytes 4 0\n" in text
    assert "h.net.lo." not in text


def test_net_names_with_colons_and_non_ascii_are_sanitized(root):
    root.write("net/dev", NETDEV_HEAD + "ibr10:30: 1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n"
               "💩0:5 6 0 0 0 0 0 0 7 8 0 0 0 0 0 0\n")
    net = Net(root.source(), build())
    s = Sampler(net, want_totals=True)
    out = s.update(net.read(), 0.0)
    assert set(out.values) == {"ibr10:30", "💩0", "total"}
    lines = []
    Renderer(DefaultLayout("h"), "both").render(s.update(net.read(), 1.0), 1, lines)
    text = "".join(lines)
    assert "h.net.ibr10_30.rx_bytes_total 1 1\n" in text
    assert "h.net._0.tx_packets_total 8 1\n" in text


def test_net_glob_selection_includes_lo_when_asked(root):
    root.write("net/dev", netdev({"lo": (1,) * 8, "eth0": (1,) * 8, "wlan0": (1,) * 8}))
    assert set(Net(root.source(), build(None, {"nics": "lo,eth*"})).read()) == {"lo", "eth0"}
    assert set(Net(root.source(), build(None, {"nics": "*"})).read()) == {"lo", "eth0", "wlan0"}


# -- host-wide groups ----------------------------------------------------------------


STAT = """cpu  {u} 0 {s} {i} {w} 0 0 0 0 0
cpu0 {u} 0 {s} {i} {w} 0 0 0 0 0
intr {intr} 1 2 3
ctxt {ctxt}
btime 1418183276
processes {forks}
procs_running 3
procs_blocked 1
softirq {sirq} 1 1
"""


def test_cpu_percentages_and_system_rates(root):
    def snap(u, s, i, w, intr, ctxt, forks, sirq):
        root.write("stat", STAT.format(u=u, s=s, i=i, w=w, intr=intr, ctxt=ctxt, forks=forks, sirq=sirq))

    src = root.source()
    cpu = Cpu(src, build(None, {"cpu_per_core": True}))
    _, out = two_samples(cpu, lambda: snap(100, 50, 800, 50, 1000, 5000, 10, 7),
                         lambda: snap(130, 60, 850, 60, 3000, 9000, 30, 17), root)
    total = values_by_key(out, "total")
    # deltas: user 30, system 10, idle 50, iowait 10 -> of 100 ticks
    assert total["user"] == pytest.approx(30.0)
    assert total["system"] == pytest.approx(10.0)
    assert total["idle"] == pytest.approx(50.0)
    assert total["iowait"] == pytest.approx(10.0)
    assert total["steal"] == 0.0
    assert set(out.values) == {"total", "cpu0"}

    system = System(src, build())
    _, out = two_samples(system, lambda: snap(1, 1, 1, 1, 1000, 5000, 10, 7),
                         lambda: snap(1, 1, 1, 1, 3000, 9000, 30, 17), root)
    assert values_by_key(out, None) == {
        "context_switches": 2000.0, "interrupts": 1000.0, "softirqs": 5.0, "forks": 10.0,
        "procs_running": 3, "procs_blocked": 1,
    }


MEMINFO = """MemTotal:       16000 kB
MemFree:         4000 kB
MemAvailable:   10000 kB
Buffers:         1000 kB
Cached:          5000 kB
SwapCached:       100 kB
Active:          3000 kB
Inactive:        2000 kB
SwapTotal:       8000 kB
SwapFree:        6000 kB
Dirty:             12 kB
Writeback:          0 kB
Shmem:            300 kB
SReclaimable:     500 kB
SUnreclaim:       200 kB
"""


def test_memory_and_swap_in_bytes(root):
    root.write("meminfo", MEMINFO)
    src = root.source()
    mem = Sampler(Memory(src)).update(Memory(src).read(), 0.0)
    m = values_by_key(mem, None)
    kb = 1024
    assert m["total"] == 16000 * kb
    assert m["available"] == 10000 * kb
    assert m["used"] == (16000 - 4000 - 1000 - 5000 - 500) * kb
    assert m["used_percent"] == pytest.approx(5500 / 16000 * 100)
    assert m["slab_unreclaimable"] == 200 * kb
    sw = values_by_key(Sampler(Swap(src)).update(Swap(src).read(), 0.0), None)
    assert sw == {"total": 8000 * kb, "free": 6000 * kb, "used": 2000 * kb, "cached": 100 * kb,
                  "used_percent": 25.0}


def test_memory_without_memavailable_falls_back(root):
    root.write("meminfo", MEMINFO.replace("MemAvailable:   10000 kB\n", ""))
    m = values_by_key(Sampler(Memory(root.source())).update(Memory(root.source()).read(), 0), None)
    assert m["available"] == (4000 + 1000 + 5000) * 1024


def test_paging_rates(root):
    def snap(k):
        root.write("vmstat", f"nr_free_pages 5\npgpgin {10 * k}\npgpgout {20 * k}\npswpin {k}\n"
                             f"pswpout {2 * k}\npgfault {100 * k}\npgmajfault {k}\n")

    _, out = two_samples(Paging(root.source()), lambda: snap(1), lambda: snap(2), root, 0.0, 1.0)
    assert values_by_key(out, None) == {
        "page_in": 10 * 1024.0, "page_out": 20 * 1024.0, "swap_in": float(PAGE_SIZE),
        "swap_out": 2.0 * PAGE_SIZE, "faults": 100.0, "major_faults": 1.0,
    }


def test_load(root):
    root.write("loadavg", "0.02 0.04 0.05 1/497 11947\n")
    out = Sampler(Load(root.source())).update(Load(root.source()).read(), 0)
    assert values_by_key(out, None) == {"1m": 0.02, "5m": 0.04, "15m": 0.05}


def test_missing_source_disables_collector(root):
    with pytest.raises(Unavailable):
        Load(root.source()).probe()


# -- the agent over a whole fixture tree ------------------------------------------------


def test_agent_on_the_shared_capture(fixtures):
    config = build(None, {"proc_root": str(fixtures / "procfs"), "sys_root": str(fixtures),
                          "hostname": "fx", "collectors": "load,cpu,system,memory,swap,disk,net"})
    clock = iter([0.0, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007] * 10)
    agent = Agent(config, monotonic=lambda: next(clock), health=False)
    text = agent.cycle(60).data.decode()
    assert "fx.load.1m 0.02 60\n" in text
    assert "fx.memory.total 16042172416 60\n" in text
    assert "fx.net.eth0." not in text  # first sample: no rates yet
    assert "fx.disk.sda.reads " not in text
    assert "fx.disk.sda.in_progress 0 60\n" in text  # gauges are sent from the first sample
    assert set(agent.enabled) == {"load", "cpu", "system", "memory", "swap", "disk", "net"}
