"""`carbon-client top` on two snapshots of the fixture /proc, with a fake clock (tests/top/snapshots.py)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from carbon_client.top.command import main
from tests.conftest import FIXTURES
from tests.top.snapshots import HEADER, Clock, bump, swap_in, top


def test_snapshot_bumps_apply():
    snaps_text = (FIXTURES / "procfs" / "net/dev").read_text()
    assert "eth0: 874355587 " in bump(snaps_text, "eth0", 0, {1: 1000})


def test_default_groups_one_row(snaps):
    rc, out, err, clock = top(snaps, "1", "1")
    assert rc == 0, err
    # cpu: usr = user+nice+irq+softirq = 100 of 1000 ticks; sys 40; idl 800; wai 50; stl 10
    # dsk/total: sda 1048576 + ram0 1024 read; sda 1536 + vda 512 written (not sda1, nvme0n1p1, dm-0)
    # net/total (no /sys: all but lo, bonds, VLANs): eth0 + docker0 = 1002000 received (978.5k),
    # eth0 + veth = 512 sent
    # paging: 10 pages swapped in; system: 1500 interrupts, 12345 context switches
    row = f" 10   4  80   5   1|1025k 2048B| 979k  512B|{swap_in()}    0 |1500    12k\n"
    assert out == HEADER + row
    assert clock.waits == [1.0]
    assert err == ""


def test_delay_divides_by_the_interval(snaps):
    rc, out, _, clock = top(snaps, "-dy", "2", "1")
    assert rc == 0
    # the same deltas over 2 s: 1049600/2 = 524800 B/s = 512.5k -> 512 (half to even); 1024 B;
    # 750 interrupts, 6172.5 context switches (fits in 4 digits; half to even)
    assert out.splitlines()[2] == " 512k 1024B| 750  6172 "
    assert clock.waits == [2.0]


def test_rows_land_on_multiples_of_delay_the_first_covering_the_time_since_the_start(snaps):
    # started at 1003 with DELAY 5: the first row at 1005 covers 2 s, the second 1005-1010
    rc, out, _, clock = top(snaps, "-y", "5", "2", clock=Clock(snaps, t=1003.0))
    assert rc == 0
    assert clock.waits == [2.0, 5.0]
    assert out.splitlines()[2:] == [" 750  6172 ", "   0     0 "]


def test_missed_ticks_are_skipped_not_bunched(snaps):
    clock = Clock(snaps)

    def stalled(seconds: float) -> bool:
        clock.wait(seconds)
        if len(clock.waits) == 1:
            clock.t += 5.5  # suspended during the first wait
        return False

    out = io.StringIO()
    argv = ["--proc-root", str(snaps.proc), "--sys-root", str(snaps.sys), "-y", "1", "3"]
    assert main(argv, out, io.StringIO(), monotonic=clock, wall=clock, wait=stalled, tty=False) == 0
    # awake at 1006.5: a row at once, covering the 6.5 s since the start (1500 / 6.5, 12345 / 6.5),
    # then rows at 1007 and 1008; no burst of catch-up rows for 1002-1006
    assert clock.waits == [1.0, 0.5, 1.0]
    assert out.getvalue().splitlines()[2:] == [" 231  1899 ", "   0     0 ", "   0     0 "]


def test_gauges_and_devices(snaps):
    rc, out, err, _ = top(snaps, "-lms", "-d", "-D", "total,sda,sda1,/dev/dm-0,nosuch",
                          "-n", "-N", "lo,eth0", "1", "1")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "---load-avg--- ------memory-usage----- ----swap--- "
        "-dsk/total- --dsk/sda-- --dsk/sda1- --dsk/dm-0- -dsk/nosuch "
        "---net/lo-- --net/eth0-"
    )
    assert lines[1] == (
        " 1m   5m  15m | used  free  buff  cach| used  free"
        "| read  writ: read  writ: read  writ: read  writ: read  writ"
        "| recv  send: recv  send"
    )
    # memory: used = 15666184 - 440324 - 1020128 - 12007640 - 1738124 + 1308 (Shmem) kB = 450.5M
    # free 430.0M, buffers 996.2M, cached 11.45G; no swap
    # sda1: 100000 sectors read = 48.8M; dm-0: 100000 sectors written; nosuch: no such device
    # lo: 5000000 B each way = 4882.8k; eth0: 1000000 B in = 976.6k, 500 B out
    assert lines[2] == (
        "0.02 0.04 0.05| 450M  430M  996M 11.5G|   0     0 "
        "|1025k 2048B:1024k 1536B:  49M    0 :   0    49M:   -     - "
        "|4883k 4883k: 977k  500B"
    )


def test_net_total_is_the_net_groups_physical_nics(snaps):
    for nic in ("eth0", "docker0", "vethf345468", "lo"):
        (snaps.sys / "class/net" / nic).mkdir(parents=True)
    (snaps.sys / "class/net/eth0/device").mkdir()
    rc, out, err, _ = top(snaps, "-n", "-N", "total,docker0,vethf345468", "1", "1")
    assert rc == 0, err
    # total: eth0 only (1000000 B in, 500 B out); the bridge and the veth show by name
    assert out.splitlines()[2] == " 977k  500B:2000B    0 :   0    12B"


def test_nfs_columns_every_version(snaps):
    rc, out, err, _ = top(snaps, "--nfs", "--nfsd", "1", "1")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "-------------nfs-client------------ -------------nfs-server------------"
    assert lines[1] == " read  writ  rdir  othr   fs   cmmt| read  writ  rdir  inod   fs   cmmt"
    # client: read 30 (v3) + 3 (v4), write 20, readdirplus 5, getattr 100, fsinfo 2, commit 1
    # (null not counted); server: read 8 (v3) + 2 (v4 op), putfh 50 (compound itself not counted)
    assert lines[2] == "  33    20     5   100     2     1 |  10     0     0    50     0     0 "


def test_unavailable_group_is_reported_not_shown(snaps):
    (snaps.proc / "net/rpc/nfsd").unlink()
    rc, out, err, _ = top(snaps, "-c", "--nfsd", "-y", "1", "1")
    assert rc == 0
    assert err == (
        f"carbon-client top: --nfsd: not available: {snaps.proc / 'net/rpc/nfsd'} does not exist\n"
    )
    assert out.splitlines() == [
        "--total-cpu-usage-- ---system--",
        "usr sys idl wai stl| int   csw ",
        " 10   4  80   5   1|1500    12k",
    ]


def test_nothing_available_exits_8(snaps):
    (snaps.proc / "net/rpc/nfsd").unlink()
    rc, out, err, _ = top(snaps, "--nfsd", "1", "1")
    assert rc == 8
    assert out == ""
    assert "--nfsd: not available" in err
    assert "none of the stats you selected are available" in err


def test_csv_output(snaps, tmp_path):
    csv = tmp_path / "out.csv"
    rc, out, err, _ = top(snaps, "-c", "-d", "-D", "total,sda", "-y", "--output", str(csv), "1", "1")
    assert rc == 0, err
    lines = csv.read_text().splitlines()
    assert lines[0] == '"carbon-client 0.1.0 CSV output"'
    assert lines[1] == f'"Source:","{snaps.proc}",,,,"Delay:","1"'
    assert lines[2].startswith('"Host:","') and ',,,,"User:","' in lines[2]
    assert lines[3].startswith('"Cmdline:","carbon-client top --proc-root ')
    assert ',,,,"Date:","' in lines[3]
    assert lines[4] == '"total cpu usage",,,,,"dsk/total",,"dsk/sda",,"system",'
    assert lines[5] == (
        '"usr","sys","idl","wai","stl","dsk/total:read","dsk/total:writ",'
        '"dsk/sda:read","dsk/sda:writ","int","csw"'
    )
    assert lines[6] == "10,4,80,5,1,1049600,2048,1048576,1536,1500,12345"
    assert len(lines) == 7
    # a second run appends, as dstat does: two blank lines, host and command line, the titles
    top(snaps, "-c", "--output", str(csv), "1", "1")
    lines = csv.read_text().splitlines()
    assert lines[7:9] == ["", ""]
    assert lines[9].startswith('"Host:"')
    assert lines[11:13] == ['"total cpu usage",,,,', '"usr","sys","idl","wai","stl"']
    assert lines[13] == ",,,,"  # snapshot 2 again: no CPU time passed, no percentages


def test_bad_arguments(snaps):
    rc, _, err, _ = top(snaps, "0")
    assert rc == 2
    assert "DELAY must be an integer greater than zero" in err
    with pytest.raises(SystemExit) as exc:
        top(snaps, "one")
    assert exc.value.code == 2


WB_LINE = (FIXTURES / "writeboost" / "dmsetup_status.issue141.real.txt").read_text().splitlines()[0]


def test_writeboost_columns(snaps, tmp_path, monkeypatch):
    # a stand-in dmsetup first on PATH prints the listing (with the "mylv: " prefix)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    listing = tmp_path / "listing"
    listing.write_text(WB_LINE + "\n")
    exe = bin_dir / "dmsetup"
    exe.write_text(f"#!/bin/sh\nexec cat {listing}\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    # stat[i] is token 11 + i: read miss (1) +20, read hit (5) +300, write miss (9) +4000,
    # write hit (13) +7 over the interval
    snaps.second[str(listing)] = bump(WB_LINE, "mylv", 0, {12: 20, 16: 300, 20: 4000, 24: 7})
    rc, out, err, _ = top(snaps, "--writeboost", "1", "1")
    assert rc == 0, err
    assert out.splitlines() == [
        "--------------wb/mylv--------------",
        " rhit  rmis  whit  wmis dirty  lag ",
        # dirty: 1680144 of 111085757 blocks = 1.5 %; lag: 13843 - 448 = 13395 segments
        " 300    20     7  4000      2   13k",  # dirty is a percent: no unit column
    ]


def test_dm_devices_by_kernel_or_dm_name(snaps):
    (snaps.sys / "block/dm-0/dm").mkdir(parents=True)
    (snaps.sys / "block/dm-0/dm/name").write_text("vg-root\n")
    rc, out, err, _ = top(snaps, "-d", "-D", "dm-0,vg-root", "1", "1")
    assert rc == 0, err
    assert out.splitlines() == [
        "--dsk/dm-0- dsk/vg-root",
        " read  writ: read  writ",
        "   0    49M:   0    49M",
    ]


def test_full_lists_devices_with_io(snaps):
    rc, out, err, _ = top(snaps, "-f", "-dn", "1", "1")
    assert rc == 0, err
    # whole devices that did I/O (not partitions, dm, or never-used ram/loop/sr0);
    # interfaces with packets, but lo
    assert out.splitlines()[0] == (
        "--dsk/fd0-- dsk/mmcblk0 dsk/nvme0n1 --dsk/sda-- --dsk/sdb-- --dsk/sdc-- --dsk/vda-- "
        "net/docker0 --net/eth0- net/vethf34"  # titles cut to the block's width, as dstat
    )


def test_config_file_gives_the_roots(snaps, tmp_path):
    cfg = tmp_path / "carbon-client.yaml"
    cfg.write_text(f"proc_root: {snaps.proc}\nsys_root: {snaps.sys}\ndisks: [sda]\n")
    out, err, clock = io.StringIO(), io.StringIO(), Clock(snaps)
    rc = main(["--config", str(cfg), "-dy", "1", "1"], out, err, monotonic=clock, wall=clock,
              wait=clock.wait, tty=False)
    assert rc == 0, err.getvalue()
    # the file's disk list does not narrow dstat's total
    assert out.getvalue().splitlines()[2] == "1025k 2048B|1500    12k"


def test_config_error_exits_2(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("proc_rot: /proc\n")
    out, err = io.StringIO(), io.StringIO()
    assert main(["--config", str(cfg), "1", "1"], out, err) == 2
    assert err.getvalue().startswith("carbon-client top: config error: ")
    assert "proc_rot" in err.getvalue() and "proc_root" in err.getvalue()


def test_closed_pipe_ends_quietly(snaps):
    exe = shutil.which("carbon-client", path=str(Path(sys.executable).parent))
    top_proc = subprocess.Popen(
        [exe, "top", "--proc-root", str(snaps.proc), "--sys-root", str(snaps.sys), "-y", "1", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    top_proc.stdout.readline()
    top_proc.stdout.close()  # as `| head -1` does
    _, err = top_proc.communicate(timeout=20)
    assert top_proc.returncode == 0
    assert err == b""


def test_command_line_entry(snaps):
    exe = shutil.which("carbon-client", path=str(Path(sys.executable).parent))
    assert exe is not None
    proc = subprocess.run(
        [exe, "top", "--proc-root", str(snaps.proc), "--sys-root", str(snaps.sys), "--noheaders",
         "-cy", "1", "1"],
        capture_output=True, text=True, timeout=20,
    )
    assert proc.returncode == 0, proc.stderr
    # real time, unchanged files: no CPU time passed (no percentages), no interrupts
    assert proc.stdout.splitlines() == [
        "--total-cpu-usage-- ---system--", "usr sys idl wai stl| int   csw ",
        "  -   -   -   -   -|   0     0 ",
    ]
