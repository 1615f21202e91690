#!/usr/bin/env python3
"""The cost of one cycle of nfsmount, fs on NFS mounts and nfsd's pool, on synthetic trees.

- ``nfsmount``: a /proc/self/mountstats of ``--mounts`` (default 50) NFSv4.2
  mounts, each with every procedure a 6.x client lists (69, RPC iostats 1.1,
  one tcp transport), between ordinary mounts; before each cycle a snapshot
  whose every counter grew is written (outside the timing), so every rate
  and every average per call is computed. Timed: the collector's read
  (read and parse the file, build the raw tuples), the sampler (rates and
  derived values) and the renderer (the Carbon lines), apart and together;
  also with ``nfsmount_ops`` naming six procedures.
- ``fs``: ``--mounts`` NFS mounts on local directories (statvfs in a thread
  each, every one answering).
- ``nfsd pool``: /proc/net/rpc/nfsd and a pool_stats of 4 pools.

Prints mean and median wall time (``time.perf_counter``) and mean CPU time
(``time.process_time``) per cycle in ms, and lines per cycle.

    .venv/bin/python bench/nfs_groups.py [--mounts 50] [--cycles 200]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from benchlib import print_machine  # noqa: E402

from carbon_client.collectors.fs import Filesystems  # noqa: E402
from carbon_client.collectors.nfs import Nfsd  # noqa: E402
from carbon_client.collectors.nfsmount import NfsMounts  # noqa: E402
from carbon_client.config import build  # noqa: E402
from carbon_client.lines import Renderer  # noqa: E402
from carbon_client.naming import DefaultLayout  # noqa: E402
from carbon_client.sampling import Sampler  # noqa: E402
from carbon_client.source import Source  # noqa: E402

# include/linux/nfs4.h's client procedures as mountstats names them (6.x: 69).
V4_OPS = (
    "NULL READ WRITE COMMIT OPEN OPEN_CONFIRM OPEN_NOATTR OPEN_DOWNGRADE CLOSE SETATTR FSINFO RENEW "
    "SETCLIENTID SETCLIENTID_CONFIRM LOCK LOCKT LOCKU ACCESS GETATTR LOOKUP LOOKUP_ROOT REMOVE RENAME LINK "
    "SYMLINK CREATE PATHCONF STATFS READLINK READDIR SERVER_CAPS DELEGRETURN GETACL SETACL FS_LOCATIONS "
    "RELEASE_LOCKOWNER SECINFO FSID_PRESENT EXCHANGE_ID CREATE_SESSION DESTROY_SESSION SEQUENCE "
    "GET_LEASE_TIME RECLAIM_COMPLETE LAYOUTGET GETDEVICEINFO LAYOUTCOMMIT LAYOUTRETURN SECINFO_NO_NAME "
    "TEST_STATEID FREE_STATEID GETDEVICELIST BIND_CONN_TO_SESSION DESTROY_CLIENTID SEEK ALLOCATE DEALLOCATE "
    "LAYOUTSTATS CLONE COPY OFFLOAD_CANCEL LOOKUPP LAYOUTERROR COPY_NOTIFY GETXATTR SETXATTR LISTXATTRS "
    "REMOVEXATTR READ_PLUS"
).split()


def mountstats(mounts: int, k: int) -> str:
    """``mounts`` NFSv4.2 blocks (and a few other mounts), counters grown by ``k`` cycles."""
    out = ["device sysfs mounted on /sys with fstype sysfs\n", "device proc mounted on /proc with fstype proc\n",
           "device /dev/vda1 mounted on / with fstype ext4\n"]
    for m in range(mounts):
        b = 1000 * (m + 1) + 17 * k
        out.append(
            f"device srv{m % 4}:/export/vol{m} mounted on /mnt/nfs/vol{m} with fstype nfs4 statvers=1.1\n"
            "\topts:\trw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,"
            "sec=sys,local_lock=none\n"
            f"\tage:\t{86400 + k}\n"
            "\timpl_id:\tname='',domain='',date='0,0'\n"
            "\tcaps:\tcaps=0x3ffdf,wtmult=512,dtsize=1048576,bsize=0,namlen=255\n"
            "\tnfsv4:\tbm0=0xfdffbfff,bm1=0x40f9be3e,bm2=0x60803,acl=0x3,sessions,pnfs=not configured,"
            "lease_time=90,lease_expired=0\n"
            "\tsec:\tflavor=1,pseudoflavor=1\n"
            "\tevents:\t" + " ".join(str(b * (i + 1)) for i in range(27)) + " \n"
            "\tbytes:\t" + " ".join(str(b * 4096 * (i + 1)) for i in range(8)) + " \n"
            "\tRPC iostats version: 1.1  p/v: 100003/4 (nfs)\n"
            f"\txprt:\ttcp 875 0 2 0 3 {b * 70} {b * 70} 0 {b * 140} 0 64 {b * 3} {b * 5}\n"
            "\tper-op statistics\n"
            + "".join(f"\t{op:>12}: {b + i} {b + i + k // 10} 0 {b * 200} {b * 120} {b * 2} {b * 3} {b * 6} 0\n"
                      for i, op in enumerate(V4_OPS))
            + "\n"
        )
    return "".join(out)


def timed(fn, cycles: int, before=None) -> tuple[list[float], list[float], int]:
    walls, cpus, lines = [], [], 0
    for k in range(cycles + 2):
        if before is not None:
            before(k)
        c0, w0 = time.process_time(), time.perf_counter()
        lines = fn(k)
        w1, c1 = time.perf_counter(), time.process_time()
        if k >= 2:  # the first two: no rates yet, then the first with rates
            walls.append((w1 - w0) * 1000)
            cpus.append((c1 - c0) * 1000)
    return walls, cpus, lines


def row(name: str, walls: list[float], cpus: list[float], lines) -> None:
    print(f"| {name} | {statistics.fmean(walls):.2f} | {statistics.median(walls):.2f} | "
          f"{statistics.fmean(cpus):.2f} | {lines} |")


def bench_nfsmount(tmp: Path, mounts: int, cycles: int, options: dict, label: str) -> None:
    proc = tmp / "proc"
    (proc / "self").mkdir(parents=True, exist_ok=True)
    c = NfsMounts(Source(str(proc), str(tmp)), build(None, {"proc_root": str(proc), **options}))
    sampler = Sampler(c)
    renderer = Renderer(DefaultLayout("bench"))
    parts: dict[str, list[float]] = {"read": [], "sample": [], "render": []}

    def cycle(k: int) -> int:
        t0 = time.perf_counter()
        raw = c.read()
        t1 = time.perf_counter()
        sample = sampler.update(raw, float(k))
        t2 = time.perf_counter()
        out: list[str] = []
        n = renderer.render(sample, 1_700_000_000 + k, out)
        t3 = time.perf_counter()
        if k >= 2:
            for key, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
                parts[key].append(dt * 1000)
        return n

    walls, cpus, lines = timed(cycle, cycles,
                               before=lambda k: (proc / "self/mountstats").write_text(mountstats(mounts, k)))
    row(f"nfsmount, {mounts} mounts{label}: read + sample + render", walls, cpus, lines)
    for key, values in parts.items():
        print(f"| &nbsp;&nbsp;{key} | {statistics.fmean(values):.2f} | {statistics.median(values):.2f} | | |")


def bench_fs(tmp: Path, mounts: int, cycles: int) -> None:
    proc = tmp / "proc"
    (proc / "self").mkdir(parents=True)
    lines = []
    for m in range(mounts):
        d = tmp / "mnt" / f"vol{m}"
        d.mkdir(parents=True)
        lines.append(f"srv:/vol{m} {d} nfs4 rw,vers=4.2 0 0\n")
    (proc / "self/mounts").write_text("".join(lines))
    (proc / "filesystems").write_text("nodev\tnfs\nnodev\tnfs4\n\text4\n")
    c = Filesystems(Source(str(proc), str(tmp)), build(None, {"proc_root": str(proc)}))
    sampler = Sampler(c)
    renderer = Renderer(DefaultLayout("bench"))

    def cycle(k: int) -> int:
        out: list[str] = []
        return renderer.render(sampler.update(c.read(), float(k)), 1_700_000_000 + k, out)

    walls, cpus, n = timed(cycle, cycles)
    row(f"fs, {mounts} NFS mounts (statvfs in a thread each)", walls, cpus, n)


def bench_pool(tmp: Path, cycles: int) -> None:
    proc = tmp / "proc"
    (proc / "net/rpc").mkdir(parents=True)
    (proc / "fs/nfsd").mkdir(parents=True)
    shutil.copyfile(ROOT / "tests/fixtures/procfs/net/rpc/nfsd", proc / "net/rpc/nfsd")
    c = Nfsd(Source(str(proc), str(tmp)))
    sampler = Sampler(c)
    renderer = Renderer(DefaultLayout("bench"))
    head = "# pool packets-arrived sockets-enqueued threads-woken threads-timedout\n"

    def write(k: int) -> None:
        (proc / "fs/nfsd/pool_stats").write_text(
            head + "".join(f"{p} {100 * k} {3 * k} {97 * k} 0\n" for p in range(4)))

    def cycle(k: int) -> int:
        out: list[str] = []
        return renderer.render(sampler.update(c.read(), float(k)), 1_700_000_000 + k, out)

    walls, cpus, n = timed(cycle, cycles, before=write)
    row("nfsd with pool (4 pools)", walls, cpus, n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mounts", type=int, default=50)
    ap.add_argument("--cycles", type=int, default=200)
    args = ap.parse_args()
    print_machine()
    print("\n| what | wall mean ms | wall median ms | CPU mean ms | lines |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_nfsmount(tmp / "all", args.mounts, args.cycles, {}, "")
        bench_nfsmount(tmp / "six", args.mounts, args.cycles,
                       {"nfsmount_ops": ["read", "write", "getattr", "lookup", "access", "commit"]},
                       ", nfsmount_ops: 6 procedures")
        bench_nfsmount(tmp / "one", 1, args.cycles, {}, "")
        bench_fs(tmp / "fs", args.mounts, args.cycles)
        bench_pool(tmp / "pool", args.cycles)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
