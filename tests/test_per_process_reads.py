"""Source.proc_listdir, Source.read_each (per-process files read once, never kept open) and
Source.read_kept (kept open on a real procfs, re-read with pread); a process gone between the
listing and the read skipped."""

from __future__ import annotations

import os
import subprocess
import time

from carbon_client import source
from carbon_client.source import Source


def test_read_each_skips_what_vanished_and_keeps_nothing_open(tmp_path):
    for pid in ("1", "42"):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "stat").write_text(f"{pid} (x) S\n")
    (tmp_path / "43").mkdir()  # exited: its directory listed, its files gone
    src = Source(str(tmp_path))
    before = len(os.listdir("/proc/self/fd"))
    names = sorted(n for n in src.proc_listdir() if n.isdigit())
    assert names == ["1", "42", "43"]
    got = dict(src.read_each(f"{n}/stat" for n in names))
    assert got == {"1/stat": "1 (x) S\n", "42/stat": "42 (x) S\n"}
    assert len(os.listdir("/proc/self/fd")) == before


def test_read_each_on_the_real_procfs():
    src = Source()
    pid = str(os.getpid())
    (rel, text), = src.read_each([f"{pid}/stat", "999999999/stat"])
    assert rel == f"{pid}/stat" and text.startswith(f"{pid} (")


def fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_read_kept_on_a_fixture_tree_keeps_nothing_open(tmp_path):
    # A file of a fixture tree kept open would still read after its "process" is removed.
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "stat").write_text("7 (x) S\n")
    src = Source(str(tmp_path))
    before = fds()
    assert src.read_kept("t", ["7/stat", "8/stat"]) == [("7/stat", "7 (x) S\n")]
    assert fds() == before
    (tmp_path / "7" / "stat").unlink()
    assert src.read_kept("t", ["7/stat"]) == []


def test_read_kept_on_the_real_procfs_follows_processes(monkeypatch):
    monkeypatch.setattr(source, "KEPT_MOST", 2)
    children = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    for c in children:  # asleep in sleep(1), not still between fork and exec
        deadline = time.monotonic() + 10
        while not open(f"/proc/{c.pid}/stat").read().startswith(f"{c.pid} (sleep) S"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
    src = Source()
    try:
        rels = [f"{c.pid}/stat" for c in children]
        before = fds()
        got = src.read_kept("t", rels)
        assert [rel for rel, _ in got] == rels
        assert all(text.startswith(f"{c.pid} (sleep) S") for (_, text), c in zip(got, children))
        assert len(fds() - before) == 2  # the first two kept, the third closed
        # Read again: the kept files are re-read, not opened again.
        assert [rel for rel, _ in src.read_kept("t", rels)] == rels and len(fds() - before) == 2
        # The first child exits and is reaped: its kept file reads ESRCH, is closed, and its pid
        # is skipped; the second, no longer asked for, is closed too.
        children[0].kill()
        children[0].wait()
        assert [rel for rel, _ in src.read_kept("t", [rels[0], rels[2]])] == [rels[2]]
        assert len(fds() - before) == 1  # the third's file, kept now there is room
        # A zombie still has its /proc entry: read as such (state Z), as ps shows it.
        children[2].kill()
        time.sleep(0.2)
        (_, text), = src.read_kept("t", [rels[2]])
        assert text.startswith(f"{children[2].pid} (sleep) Z")
        src.close()
        assert fds() == before
    finally:
        for c in children:
            c.kill()
            c.wait()


def test_proc_is_listed_once_a_cycle(tmp_path):
    (tmp_path / "1").mkdir()
    src = Source(str(tmp_path))
    assert src.proc_listdir() == ("1",)
    (tmp_path / "2").mkdir()  # kernel and processes, read in one cycle, count the same pids
    assert src.proc_listdir() == ("1",)
    src.new_cycle()
    assert sorted(src.proc_listdir()) == ["1", "2"]


def test_close_while_a_worker_reads_leaves_nothing_open():
    # processes reads off the host cycle: the agent may close its Source (a stop) while a
    # read_kept is under way on a worker thread. Nothing in use is closed under it, nothing
    # is left open after it.
    import threading

    src = Source()
    me = f"{os.getpid()}/stat"
    before = fds()
    src.read_kept("t", [me])  # one file kept
    asked, go = threading.Event(), threading.Event()

    def rels():
        yield me
        asked.set()
        go.wait(10)
        yield "1/stat"

    got, errors = [], []

    def read():
        try:
            got.extend(rel for rel, _ in src.read_kept("t", rels()))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    t = threading.Thread(target=read)
    t.start()
    assert asked.wait(10)
    src.close()
    go.set()
    t.join(10)
    assert errors == [] and got == [me, "1/stat"]
    assert fds() == before
