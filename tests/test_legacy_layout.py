"""``layout: legacy``: the original carbon-client script's paths, values and units.

For the same two /proc snapshots (and the same dmsetup output) the expected
lines are what the original script would have sent, worked out by hand from
how it read its sources:

- ``host.sysdata.load``: the first field of /proc/loadavg;
- ``host.sysdata.memTotal|memFree|memAvail|memCached``: /proc/meminfo lines
  0, 1, 2 and 3 taken by position, in kB as printed. Line 3 is Buffers on
  every kernel with MemAvailable, so the script's memCached was Buffers; this
  agent sends Cached there (the one intended difference, issue 3);
- ``host.dstat.disks.<d>.read|write``: dstat's sectors delta * 512 / elapsed;
- ``host.dstat.nets.<n>.recv|send``: dstat's bytes delta / elapsed;
- ``host.writeboost.<key>``: wbstatus's ``key = value`` lines of
  ``dmsetup status DEV``, ``# of`` -> ``nr`` and spaces -> ``_``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from carbon_client.agent import Agent
from carbon_client.config import Config, build
from carbon_client.naming import LAYOUTS, DefaultLayout, LegacyLayout, make_layout
from carbon_client.source import Source
from tests.collectors.test_writeboost import FakeDmsetup, status_line

INTERVAL = 10.0

LOADAVG = ["0.52 0.58 0.59 2/480 12345\n", "0.61 0.60 0.59 3/481 12399\n"]

MEMINFO = """\
MemTotal:       16303320 kB
MemFree:         {free} kB
MemAvailable:    {avail} kB
Buffers:          345676 kB
Cached:          {cached} kB
SwapCached:            0 kB
Active:          5123456 kB
Inactive:        4234567 kB
SwapTotal:       2097148 kB
SwapFree:        2097148 kB
Dirty:               124 kB
Writeback:             0 kB
Shmem:            123456 kB
SReclaimable:     456789 kB
SUnreclaim:       123456 kB
"""
MEM = [
    MEMINFO.format(free=1203124, avail=9876540, cached=7654320),
    MEMINFO.format(free=1100000, avail=9800000, cached=7700000),
]


def disk(major, minor, name, sect_read, sect_written):
    # 14-field line: reads, merged, sectors read, ms, writes, merged, sectors written, ms, ...
    return f"{major:4d} {minor:7d} {name} 100 0 {sect_read} 50 200 0 {sect_written} 70 0 90 120\n"


DISKSTATS = [
    disk(8, 0, "sda", 1_000_000, 2_000_000) + disk(8, 1, "sda1", 500_000, 10)
    + disk(8, 16, "sdb", 3_000, 4_000) + disk(252, 0, "dm-0", 900_000, 1_900_000),
    disk(8, 0, "sda", 1_020_480, 2_040_960) + disk(8, 1, "sda1", 520_480, 10)
    + disk(8, 16, "sdb", 3_000, 6_000) + disk(252, 0, "dm-0", 920_480, 1_940_960),
]

NETDEV_HEAD = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|"
    "bytes    packets errs drop fifo colls carrier compressed\n"
)


def nic(name, rx_bytes, tx_bytes):
    return f"{name:>6}: {rx_bytes} 10 0 0 0 0 0 0 {tx_bytes} 20 0 0 0 0 0 0\n"


NETDEV = [
    NETDEV_HEAD + nic("lo", 5_000, 5_000) + nic("eth0", 10_000_000, 3_000_000),
    NETDEV_HEAD + nic("lo", 9_000, 9_000) + nic("eth0", 11_250_000, 3_250_000),
]

WB_STATS = (0, 159, 0, 0, 1, 446, 0, 0, 0, 1735997, 0, 0, 0, 259, 0, 0)
WB = [
    status_line(cursor_pos=1757999, nr_cache_blocks=111085757, nr_segments=874691, current_id=13843,
                last_flushed_id=13842, last_writeback_id=448, nr_dirty_cache_blocks=1680144,
                stats=WB_STATS, nr_partial_flushes=93),
    status_line(cursor_pos=1758100, nr_cache_blocks=111085757, nr_segments=874691, current_id=13845,
                last_flushed_id=13844, last_writeback_id=450, nr_dirty_cache_blocks=1680000,
                stats=WB_STATS, nr_partial_flushes=97),
]

# wbstatus's "key = value" lines (dm-writeboost-tools), with the token each prints.
WBSTATUS_KEYS = [
    ("cursor pos", 3), ("# of cache blocks", 4), ("# of segments", 5), ("current id", 6),
    ("last flushed id", 7), ("last writeback id", 8), ("# of dirty cache blocks", 9),
    ("# of partial flushes", 26),
]


def script_key(wbstatus_key: str) -> str:
    return wbstatus_key.replace("# of", "nr").replace(" ", "_")


def script_would_send(snapshot: int, elapsed: float, host: str = "web1") -> dict[str, float]:
    """The original script's metrics for the second snapshot, by its own reading."""
    s = snapshot
    mem_lines = [ln.split() for ln in MEM[s].splitlines()]
    out = {
        f"{host}.sysdata.load": float(LOADAVG[s].split()[0]),
        f"{host}.sysdata.memTotal": float(mem_lines[0][1]),
        f"{host}.sysdata.memFree": float(mem_lines[1][1]),
        f"{host}.sysdata.memAvail": float(mem_lines[2][1]),
        f"{host}.sysdata.memCached": float(mem_lines[3][1]),  # Buffers, by position
    }
    # dstat: (sectors now - sectors before) * 512 / elapsed, sectors at split() fields 5 and 9.
    before = {ln.split()[2]: ln.split() for ln in DISKSTATS[s - 1].splitlines()}
    now = {ln.split()[2]: ln.split() for ln in DISKSTATS[s].splitlines()}
    for d in ("sda", "sdb"):
        out[f"{host}.dstat.disks.{d}.read"] = (int(now[d][5]) - int(before[d][5])) * 512.0 / elapsed
        out[f"{host}.dstat.disks.{d}.write"] = (int(now[d][9]) - int(before[d][9])) * 512.0 / elapsed
    # dstat 0.7.3 "total": every disk not matching its diskfilter (partitions, dm-*, md*).
    for col, f in (("read", 5), ("write", 9)):
        out[f"{host}.dstat.disks.total.{col}"] = sum(
            (int(now[d][f]) - int(before[d][f])) * 512.0 / elapsed for d in now if d in ("sda", "sdb")
        )
    rx_before = {ln.split(":")[0].strip(): ln.split(":")[1].split() for ln in NETDEV[s - 1].splitlines()[2:]}
    rx_now = {ln.split(":")[0].strip(): ln.split(":")[1].split() for ln in NETDEV[s].splitlines()[2:]}
    out[f"{host}.dstat.nets.eth0.recv"] = (int(rx_now["eth0"][0]) - int(rx_before["eth0"][0])) / elapsed
    out[f"{host}.dstat.nets.eth0.send"] = (int(rx_now["eth0"][8]) - int(rx_before["eth0"][8])) / elapsed
    toks = WB[s].split()
    for key, tok in WBSTATUS_KEYS:
        out[f"{host}.writeboost.{script_key(key)}"] = float(toks[tok])
    return out


def test_hand_derived_script_values():
    """The reference above, spelled out for the second snapshot (10 s apart)."""
    ref = script_would_send(1, INTERVAL)
    assert ref["web1.sysdata.load"] == 0.61
    assert ref["web1.sysdata.memCached"] == 345676  # the script's Buffers value
    assert ref["web1.dstat.disks.sda.read"] == 20480 * 512 / 10 == 1048576.0
    assert ref["web1.dstat.disks.sda.write"] == 40960 * 512 / 10 == 2097152.0
    assert ref["web1.dstat.disks.sdb.read"] == 0.0
    assert ref["web1.dstat.disks.sdb.write"] == 2000 * 512 / 10 == 102400.0
    assert ref["web1.dstat.disks.total.write"] == 2097152.0 + 102400.0
    assert ref["web1.dstat.nets.eth0.recv"] == 1_250_000 / 10 == 125000.0
    assert ref["web1.dstat.nets.eth0.send"] == 25000.0
    assert ref["web1.writeboost.cursor_pos"] == 1758100
    assert ref["web1.writeboost.nr_partial_flushes"] == 97
    assert {script_key(k) for k, _ in WBSTATUS_KEYS} == LegacyLayout.WRITEBOOST_KEYS


class Host:
    def __init__(self, tmp: Path) -> None:
        self.proc = tmp / "proc"
        (self.proc / "net").mkdir(parents=True)
        self.sys = tmp / "sys"
        self.sys.mkdir()

    def snapshot(self, i: int, dmsetup: FakeDmsetup) -> None:
        (self.proc / "loadavg").write_text(LOADAVG[i])
        (self.proc / "meminfo").write_text(MEM[i])
        (self.proc / "diskstats").write_text(DISKSTATS[i])
        (self.proc / "net" / "dev").write_text(NETDEV[i])
        dmsetup.device("wbdev", WB[i] + "\n")
        dmsetup.listing(f"wbdev: {WB[i]}\n")


@pytest.fixture
def dmsetup(tmp_path, monkeypatch) -> FakeDmsetup:
    fake = FakeDmsetup(tmp_path)
    monkeypatch.setenv("PATH", f"{fake.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}")
    return fake


def run_two_cycles(tmp_path, dmsetup, **config) -> tuple[list[str], dict[str, tuple[float, int]]]:
    host = Host(tmp_path)
    host.snapshot(0, dmsetup)
    cfg = replace(
        Config(), proc_root=str(host.proc), sys_root=str(host.sys), hostname="web1", layout="legacy",
        collectors=("load", "cpu", "memory", "swap", "disk", "net", "writeboost"),
        **config,
    )
    now = [1000.0]
    agent = Agent(cfg, workers=0, source=Source(str(host.proc), str(host.sys), command_timeout=5.0),
                  monotonic=lambda: now[0])
    assert "writeboost" in agent.enabled
    agent.cycle(1_700_000_000)
    host.snapshot(1, dmsetup)
    now[0] += INTERVAL
    lines = agent.cycle(1_700_000_010).data.decode().splitlines()
    got = {}
    for ln in lines:
        path, value, ts = ln.split(" ")
        assert path not in got, f"{path} sent twice"
        got[path] = (float(value), int(ts))
    return lines, got


def test_same_input_same_lines_as_the_script(tmp_path, dmsetup):
    lines, got = run_two_cycles(tmp_path, dmsetup, disks=("sda", "sdb", "total"), nics=("eth0",),
                                writeboost=("wbdev",))
    want = script_would_send(1, INTERVAL)
    # The one intended difference: memCached is Cached, in kB.
    want["web1.sysdata.memCached"] = 7700000.0
    assert set(got) == set(want)  # no health lines, no cpu/swap, no tunables, no nets.total
    for path, value in want.items():
        assert got[path][0] == pytest.approx(value, rel=1e-12), path
        assert got[path][1] == 1_700_000_010
    assert len(lines) == len(want)


def test_discovered_devices_and_unconfigured_lists(tmp_path, dmsetup):
    _, got = run_two_cycles(tmp_path, dmsetup)
    # writeboost discovered (`dmsetup status --target writeboost`, "wbdev: " prefix): the
    # script always named its device; discovered devices keep their dm name
    assert got["web1.writeboost.wbdev.cursor_pos"][0] == 1758100
    assert got["web1.writeboost.wbdev.nr_partial_flushes"][0] == 97
    assert "web1.writeboost.cursor_pos" not in got
    # no disks/nics lists: every whole disk and NIC but lo, and the totals (dstat's default is total)
    assert got["web1.dstat.disks.total.read"][0] == pytest.approx(1048576.0)
    assert got["web1.dstat.nets.total.recv"][0] == pytest.approx(125000.0)
    assert got["web1.dstat.disks.dm-0.read"][0] == pytest.approx(1048576.0)
    assert "web1.dstat.disks.sda1.read" not in got
    assert "web1.dstat.nets.lo.recv" not in got


def test_several_writeboost_devices_keep_their_dm_name(tmp_path, dmsetup):
    host = Host(tmp_path)
    host.snapshot(0, dmsetup)
    dmsetup.device("wb.two", WB[0] + "\n")
    cfg = replace(Config(), proc_root=str(host.proc), sys_root=str(host.sys), hostname="web1",
                  layout="legacy", collectors=("writeboost",), writeboost=("wbdev", "wb.two"))
    agent = Agent(cfg, workers=0, monotonic=lambda: 0.0)
    got = dict(ln.split(" ")[:2] for ln in agent.cycle(60).data.decode().splitlines())
    assert got == {
        **{f"web1.writeboost.wbdev.{k}": v for k, v in _wb_values(WB[0]).items()},
        **{f"web1.writeboost.wb_two.{k}": v for k, v in _wb_values(WB[0]).items()},
    }


def _wb_values(line: str) -> dict[str, str]:
    toks = line.split()
    return {script_key(k): toks[t] for k, t in WBSTATUS_KEYS}


def test_counters_both_adds_nothing(tmp_path, dmsetup):
    _, got = run_two_cycles(tmp_path, dmsetup, disks=("sda", "sdb", "total"), nics=("eth0",),
                            writeboost=("wbdev",), counters="both")
    assert not [p for p in got if p.endswith("_total")]
    assert len(got) == len(script_would_send(1, INTERVAL))


# -- the layout on its own --------------------------------------------------------------


@pytest.mark.parametrize(
    "group,instance,key,expected",
    [
        ("load", None, "1m", ("h.sysdata.load", 1.0)),
        ("load", None, "5m", None),
        ("memory", None, "total", ("h.sysdata.memTotal", 1 / 1024)),
        ("memory", None, "free", ("h.sysdata.memFree", 1 / 1024)),
        ("memory", None, "available", ("h.sysdata.memAvail", 1 / 1024)),
        ("memory", None, "cached", ("h.sysdata.memCached", 1 / 1024)),
        ("memory", None, "buffers", None),
        ("disk", "sda", "read_bytes", ("h.dstat.disks.sda.read", 1.0)),
        ("disk", "sda", "write_bytes", ("h.dstat.disks.sda.write", 1.0)),
        ("disk", "sda", "reads", None),
        ("disk", "sda", "read_bytes_total", None),
        ("disk", "total", "read_bytes", ("h.dstat.disks.total.read", 1.0)),
        ("disk", "vg.root", "read_bytes", ("h.dstat.disks.vg_root.read", 1.0)),
        ("net", "eth0", "rx_bytes", ("h.dstat.nets.eth0.recv", 1.0)),
        ("net", "flannel.1", "tx_bytes", ("h.dstat.nets.flannel_1.send", 1.0)),
        ("net", "eth0", "rx_packets", None),
        ("writeboost", "wbdev", "cursor_pos", ("h.writeboost.cursor_pos", 1.0)),
        ("writeboost", "wbdev", "nr_partial_flushes", None),
        ("writeboost", "wbdev", "nr_partial_flushes_total", ("h.writeboost.nr_partial_flushes", 1.0)),
        ("writeboost", "wb.sample", "nr_dirty_cache_blocks", ("h.writeboost.wb_sample.nr_dirty_cache_blocks", 1.0)),
        ("writeboost", "wbdev", "read_hits", None),
        ("writeboost", "wbdev", "read_hits_total", None),
        ("writeboost", "wbdev", "writeback_threshold", None),
        ("writeboost", "wb", "dirty_ratio", None),
        ("carbon_client", None, "sent", None),
        ("carbon_client", "disk", "duration_ms", None),
        ("cpu", "total", "user", None),
        ("nfs", "v3", "read", None),
    ],
)
def test_legacy_paths(group, instance, key, expected):
    # configured like the script: one writeboost device, named wbdev
    assert LegacyLayout("h", writeboost=["wbdev"]).path(group, instance, key) == expected


def test_prefix_and_host_are_sanitized():
    layout = make_layout("legacy", "web.1", "dc1.prod")
    assert layout.path("load", None, "1m") == ("dc1.prod.web_1.sysdata.load", 1.0)


@pytest.mark.parametrize(
    "disks,sent",
    [(None, True), (("sda", "total"), True), (("sda",), False), (("sd*",), False)],
)
def test_total_only_when_listed_or_no_list(disks, sent):
    layout = LegacyLayout("h", disks=disks, nics=disks)
    assert (layout.path("disk", "total", "read_bytes") is not None) is sent
    assert (layout.path("net", "total", "rx_bytes") is not None) is sent
    assert layout.path("disk", "sda", "read_bytes") is not None


def test_registry_and_make_layout_options():
    assert LAYOUTS["legacy"] is LegacyLayout and LAYOUTS["default"] is DefaultLayout
    # options a layout does not take are dropped: the default layout is unchanged
    d = make_layout("default", "h", "", disks=("sda",), nics=None)
    assert type(d) is DefaultLayout and d.path("disk", "sda", "read_bytes") == ("h.disk.sda.read_bytes", 1.0)


def test_config_accepts_legacy():
    assert build(None, {"layout": "legacy"}).layout == "legacy"
