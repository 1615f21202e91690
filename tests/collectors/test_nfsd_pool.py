"""nfsd's `pool` instance: /proc/fs/nfsd/pool_stats summed over the pools, beside /proc/net/rpc/nfsd."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from carbon_client.collectors.nfs import Nfsd
from carbon_client.lines import Renderer
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from carbon_client.source import Source
from tests.conftest import FIXTURES

POOL = "fs/nfsd/pool_stats"
HEADER = "# pool packets-arrived sockets-enqueued threads-woken threads-timedout\n"


class Run:
    def __init__(self, tmp: Path) -> None:
        self.proc = tmp / "proc"
        (self.proc / "net/rpc").mkdir(parents=True)
        shutil.copyfile(FIXTURES / "procfs/net/rpc/nfsd", self.proc / "net/rpc/nfsd")
        (self.proc / "fs/nfsd").mkdir(parents=True)
        self.collector = Nfsd(Source(str(self.proc), str(tmp)))
        self.sampler = Sampler(self.collector)
        self.renderer = Renderer(DefaultLayout("h"))

    def step(self, pool: str | None, t: float) -> dict[str, float]:
        if pool is None:
            (self.proc / POOL).unlink(missing_ok=True)
        else:
            (self.proc / POOL).write_text(pool)
        out: list[str] = []
        self.renderer.render(self.sampler.update(self.collector.read(), t), 1, out)
        return {p: float(v) for p, v, _ in (line.split(" ") for line in out)}


def pool(values: dict[str, float]) -> dict[str, float]:
    return {k[len("h.nfsd.pool."):]: v for k, v in values.items() if k.startswith("h.nfsd.pool.")}


def test_exact_rates_from_the_capture(tmp_path):
    run = Run(tmp_path)
    capture = (FIXTURES / "wave2/procfs-pcp-nfsd/proc/fs/nfsd/pool_stats").read_text()
    assert pool(run.step(capture, 10.0)) == {"pools": 1}
    # `0 49 4 45 0` -> `0 69 5 64 0` 2 s later: 20 packets, 1 enqueued, 19 wakeups
    got = pool(run.step(capture.replace("0 49 4 45 0", "0 69 5 64 0"), 12.0))
    assert got == {"packets_arrived": 10.0, "sockets_enqueued": 0.5, "threads_woken": 9.5,
                   "threads_timedout": 0.0, "pools": 1}


def test_pools_are_summed(tmp_path):
    run = Run(tmp_path)
    run.step(HEADER + "0 10 1 9 0\n1 20 2 18 0\n", 0.0)
    got = pool(run.step(HEADER + "0 15 1 14 0\n1 30 4 26 1\n", 1.0))
    # (15 - 10) + (30 - 20) packets, 0 + 2 enqueued, 5 + 8 woken, 0 + 1 timed out
    assert got == {"packets_arrived": 15.0, "sockets_enqueued": 2.0, "threads_woken": 13.0,
                   "threads_timedout": 1.0, "pools": 2}


def test_no_pool_file_or_no_pool_sends_no_pool_only(tmp_path):
    run = Run(tmp_path)
    got = run.step(None, 0.0)
    assert pool(got) == {} and got["h.nfsd.threads"] == 8
    assert pool(run.step(HEADER, 1.0)) == {}, "nfsd not running: no pool yet"


def test_a_kernel_with_other_columns(tmp_path):
    run = Run(tmp_path)
    old = "# pool packets-arrived sockets-enqueued threads-woken overloads-avoided threads-timedout\n"
    run.step(HEADER + "0 10 1 9 0\n", 0.0)
    # another layout: its first sample has no rate
    assert pool(run.step(old + "0 11 1 10 3 0\n", 1.0)) == {"pools": 1}
    assert pool(run.step(old + "0 12 1 11 5 0\n", 2.0))["overloads_avoided"] == 2.0


def test_a_bad_header_is_logged_once_and_costs_the_pool_only(tmp_path, caplog):
    run = Run(tmp_path)
    with caplog.at_level(logging.WARNING, logger="carbon_client"):
        for t in range(3):
            got = run.step("0 49 4 45 0\n", float(t))
            assert pool(got) == {} and "h.nfsd.threads" in got
    assert len([r for r in caplog.records if "pool_stats" in r.getMessage()]) == 1


def test_reference_documents_the_pool():
    keys = [m.key for m in Nfsd.reference()["pool"].metrics]
    assert keys == ["packets_arrived", "sockets_enqueued", "threads_woken", "threads_timedout", "pools"]


def test_the_pool_file_is_not_kept_open():
    """On a real procfs files stay open between reads, but one on the nfsd filesystem would keep
    it from being unmounted: read_proc(keep_open=False) closes it (checked on this host's /proc)."""
    src = Source("/proc", "/sys")
    try:
        assert src.read_proc("self/stat", keep_open=False)
        assert src._fds == {}
        src.read_proc("self/stat")
        assert list(src._fds) == ["self/stat"]
    finally:
        src.close()
