"""fs on NFS mounts: sizes from statvfs in a thread, `responsive`, and a server that never answers.

A mount table in a fake proc root lists NFS mounts on directories of
tmp_path; statvfs is real for them, and a stand-in that blocks on an Event
plays the dead server.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import pytest

from carbon_client.collectors import fs as fs_module
from carbon_client.collectors.fs import Filesystems, Statvfs
from carbon_client.config import build
from carbon_client.lines import Renderer
from carbon_client.naming import DefaultLayout, mount_component
from carbon_client.sampling import Sampler
from carbon_client.source import Source

TIMEOUT = 0.2


class Server:
    """statvfs as a server decides: answers, hangs until released, or fails."""

    def __init__(self) -> None:
        self.hung: dict[str, threading.Event] = {}
        self.errors: dict[str, int] = {}
        self.answers: dict[str, os.statvfs_result] = {}
        self.calls: list[str] = []

    def __call__(self, path: str) -> os.statvfs_result:
        self.calls.append(path)
        if path in self.hung:
            self.hung[path].wait()
        if path in self.errors:
            raise OSError(self.errors[path], os.strerror(self.errors[path]))
        return self.answers[path] if path in self.answers else os.statvfs(path)

    def hang(self, path: str) -> None:
        self.hung[path] = threading.Event()

    def release(self, path: str) -> None:
        self.hung.pop(path).set()


class Host:
    def __init__(self, tmp: Path, names=("a", "b"), **options) -> None:
        self.tmp = tmp
        self.proc = tmp / "proc"
        (self.proc / "self").mkdir(parents=True)
        (self.proc / "filesystems").write_text("nodev\tproc\nnodev\tnfs\nnodev\tnfs4\n\text4\n")
        self.dirs = {n: tmp / "mnt" / n for n in names}
        for d in self.dirs.values():
            d.mkdir(parents=True)
        self.mount(*names)
        config = build(None, {"proc_root": str(self.proc), "nfs_statvfs_timeout": TIMEOUT, **options})
        self.fs = Filesystems(Source(str(self.proc), str(tmp)), config)
        self.server = Server()
        self.fs.statvfs = Statvfs(self.server)
        self.sampler = Sampler(self.fs)
        self.renderer = Renderer(DefaultLayout("h"))

    def mount(self, *names: str, fstype: str = "nfs4") -> None:
        lines = ["proc /proc proc rw 0 0"] + [f"srv:/{n} {self.dirs[n]} {fstype} rw,vers=4.2 0 0" for n in names]
        (self.proc / "self/mounts").write_text("\n".join(lines) + "\n")

    def name(self, n: str) -> str:
        return mount_component(str(self.dirs[n]))

    def read(self) -> dict[str, float]:
        out: list[str] = []
        self.renderer.render(self.sampler.update(self.fs.read(), time.monotonic()), 1, out)
        return {p: float(v) for p, v, _ in (line.split(" ") for line in out)}

    def of(self, values: dict[str, float], n: str) -> dict[str, float]:
        head = f"h.fs.{self.name(n)}."
        return {k[len(head):]: v for k, v in values.items() if k.startswith(head)}


# bsize frsize blocks bfree bavail files ffree favail flag namemax
ANSWER = os.statvfs_result((4096, 4096, 1000, 400, 300, 500, 200, 150, 4096, 255))


def test_answering_mounts_send_sizes_and_responsive_1(tmp_path):
    host = Host(tmp_path)
    host.server.answers[str(host.dirs["a"])] = ANSWER
    got = host.of(host.read(), "a")
    # psutil.disk_usage's arithmetic in frsize units: size = blocks, used = blocks - bfree, free = bavail;
    # used_percent = used / (used + free); inodes used = files - ffree, free = favail
    assert got == {"size": 1000 * 4096, "used": 600 * 4096, "free": 300 * 4096,
                   "used_percent": pytest.approx(600 * 100 / 900), "inodes_total": 500, "inodes_used": 300,
                   "inodes_free": 150, "responsive": 1}
    # each NFS mount point is its own instance, though both sit on one local device here
    assert host.of(host.read(), "b")["responsive"] == 1


def statvfs_threads() -> int:
    """statvfs threads alive, once those whose call returned have had time to end."""
    deadline = time.monotonic() + 2
    while True:
        n = sum(1 for t in threading.enumerate() if t.name.startswith("statvfs "))
        if n <= 1 or time.monotonic() > deadline:
            return n
        time.sleep(0.005)


def test_a_dead_server_costs_one_wait_then_none(tmp_path):
    host = Host(tmp_path)
    path = str(host.dirs["a"])
    host.server.hang(path)
    t0 = time.monotonic()
    got = host.read()
    first = time.monotonic() - t0
    assert TIMEOUT <= first < TIMEOUT + 1.0
    assert host.of(got, "a") == {"responsive": 0}, "no sizes from a mount that did not answer"
    assert host.of(got, "b")["responsive"] == 1
    for _ in range(5):
        t0 = time.monotonic()
        assert host.of(host.read(), "a") == {"responsive": 0}
        assert time.monotonic() - t0 < TIMEOUT / 2, "a mount still hanging is not waited for again"
        assert statvfs_threads() == 1, "no thread piles up behind the dead server"
    assert host.server.calls.count(path) == 1, "nor asked again"
    host.server.release(path)
    deadline = time.monotonic() + 5
    while path in host.fs.statvfs.pending and time.monotonic() < deadline:
        host.read()
        time.sleep(0.01)
    assert host.of(host.read(), "a")["responsive"] == 1
    assert host.server.calls.count(path) >= 2


def test_two_dead_mounts_share_one_deadline(tmp_path):
    host = Host(tmp_path, names=("a", "b", "c"))
    for n in ("a", "b", "c"):
        host.server.hang(str(host.dirs[n]))
    t0 = time.monotonic()
    got = host.read()
    assert time.monotonic() - t0 < 2 * TIMEOUT
    assert {n: host.of(got, n) for n in "abc"} == {n: {"responsive": 0} for n in "abc"}
    for n in "abc":
        host.server.release(str(host.dirs[n]))


def test_errors(tmp_path):
    host = Host(tmp_path, names=("gone", "stale", "denied"))
    host.server.errors = {str(host.dirs["gone"]): errno.ENOENT, str(host.dirs["stale"]): errno.ESTALE,
                          str(host.dirs["denied"]): errno.EACCES}
    got = host.read()
    assert host.of(got, "stale") == {"responsive": 0}
    assert host.of(got, "gone") == {} and host.of(got, "denied") == {}, "unmounted since, or not ours to see"


def test_nfs_mounts_chooses_and_other_network_types_are_not_nfs(tmp_path):
    host = Host(tmp_path, names=("a", "b"), nfs_mounts=["*/mnt/a"])
    got = host.read()
    assert host.of(got, "a")["responsive"] == 1 and host.of(got, "b") == {}
    host2 = Host(tmp_path / "two", names=("c",))
    host2.mount("c", fstype="cifs")
    assert host2.read() == {}


def test_the_cap_on_hanging_calls(tmp_path, monkeypatch):
    monkeypatch.setattr(fs_module, "MAX_HUNG", 2)
    server = Server()
    s = Statvfs(server)
    for p in ("/x1", "/x2"):
        server.hang(p)
    assert s.ask(["/x1", "/x2"], 0.05) == {"/x1": None, "/x2": None}
    # two calls hang: a third mount is not asked while they do
    assert s.ask(["/x1", "/x2", str(tmp_path)], 0.05) == {"/x1": None, "/x2": None, str(tmp_path): None}
    assert server.calls == ["/x1", "/x2"]
    server.release("/x1")
    server.release("/x2")
    time.sleep(0.05)
    got = s.ask([str(tmp_path)], 1.0)
    assert isinstance(got[str(tmp_path)], os.statvfs_result) and s.pending == {}


def test_a_call_that_returns_late_is_dropped_and_the_mount_asked_again(tmp_path):
    server = Server()
    s = Statvfs(server)
    p = str(tmp_path)
    server.hang(p)
    assert s.ask([p], 0.01) == {p: None}
    server.release(p)
    time.sleep(0.05)
    got = s.ask([p], 1.0)
    assert isinstance(got[p], os.statvfs_result)
    assert server.calls == [p, p] and s.pending == {}


# -- fs_mounts, fs_mounts_exclude, fs_types, fs_types_exclude -----------------------------------

def local_mounts(tmp: Path, mounts: dict[str, str], **options) -> Filesystems:
    """fs over a mount table of local directories, each ``name: fstype``. They all sit on
    tmp_path's device, so fs reports the first one chosen (each device once)."""
    proc = tmp / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "filesystems").write_text("nodev\tproc\nnodev\ttmpfs\nnodev\tnfs4\n\text4\n\txfs\n\tvfat\n")
    lines = ["proc /proc proc rw 0 0"]
    for name, fstype in mounts.items():
        (tmp / name).mkdir()
        lines.append(f"/dev/x {tmp / name} {fstype} rw 0 0")
    (proc / "self/mounts").write_text("\n".join(lines) + "\n")
    config = build(None, {"proc_root": str(proc), **options})
    return Filesystems(Source(str(proc), str(tmp)), config)


MOUNTS = {"boot": "vfat", "data": "ext4", "scratch": "tmpfs", "srv": "xfs"}


@pytest.mark.parametrize("options,first", [
    ({}, "boot"),  # block-backed types by default: not tmpfs
    ({"fs_types_exclude": ["vfat"]}, "data"),
    ({"fs_types": ["tmpfs"]}, "scratch"),  # named, tmpfs is reported
    ({"fs_types": ["x*"]}, "srv"),
    ({"fs_mounts_exclude": ["*/boot", "*data"]}, "srv"),
    ({"fs_mounts": ["*/srv"]}, "srv"),
    ({"fs_mounts": ["*/scratch"]}, None),  # the mount is chosen, its type is not
    ({"fs_mounts": ["*/scratch", "*/data"], "fs_types": ["tmpfs", "ext4"], "fs_types_exclude": ["ext*"]},
     "scratch"),
])
def test_mounts_and_types_choose_what_fs_reports(tmp_path, options, first):
    fs = local_mounts(tmp_path, MOUNTS, **options)
    got = list(fs.read())
    assert got == ([] if first is None else [mount_component(str(tmp_path / first))])


def test_fs_mounts_exclude_applies_to_nfs_mounts_too(tmp_path):
    host = Host(tmp_path, fs_mounts_exclude=["*/b"])
    host.server.answers[str(host.dirs["a"])] = ANSWER
    values = host.read()
    assert host.of(values, "a")["responsive"] == 1
    assert host.of(values, "b") == {}
