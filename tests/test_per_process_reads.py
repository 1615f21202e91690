"""Source.proc_listdir and Source.read_each: per-process files read once, never kept open,
a process gone between the listing and the read skipped."""

from __future__ import annotations

import os

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
