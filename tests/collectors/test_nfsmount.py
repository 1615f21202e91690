"""nfsmount on fake proc roots: exact rates and averages per call, paths, layouts, mounts coming and going.

Expected numbers are worked out by hand from the captures' text (the
differences between the two RHEL 6 samples are quoted next to each).
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import pytest

from carbon_client.agent import Agent
from carbon_client.collectors.nfsmount import NfsMounts
from carbon_client.config import build
from carbon_client.lines import Renderer
from carbon_client.metrics import Unavailable
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from carbon_client.source import Source
from tests.conftest import FIXTURES
from tests.parsers.test_mountstats import block

WAVE2 = FIXTURES / "wave2"
REL = "self/mountstats"


def capture(name: str) -> str:
    return (WAVE2 / name / "proc" / REL).read_text()


class Run:
    """nfsmount on a proc root in ``tmp``, sampled and rendered as the agent does."""

    def __init__(self, tmp: Path, counters: str = "rate", **options) -> None:
        self.proc = tmp / "proc"
        (self.proc / "self").mkdir(parents=True)
        config = build(None, {"proc_root": str(self.proc), **options})
        self.collector = NfsMounts(Source(str(self.proc), str(tmp)), config)
        self.sampler = Sampler(self.collector, want_totals=counters != "rate")
        self.renderer = Renderer(DefaultLayout("host"), counters)

    def step(self, text: str, t: float) -> dict[str, float]:
        (self.proc / REL).write_text(text)
        out: list[str] = []
        self.renderer.render(self.sampler.update(self.collector.read(), t), 1, out)
        values = {}
        for line in out:
            path, value, _ = line.split(" ")
            assert path not in values
            values[path] = float(value)
        return values


def mount(values: dict[str, float], name: str) -> dict[str, float]:
    head = f"host.nfsmount.{name}."
    return {k[len(head):]: v for k, v in values.items() if k.startswith(head)}


def test_exact_rates_and_averages_between_two_samples(tmp_path):
    run = Run(tmp_path)
    first = run.step(capture("procfs-diamond-rhel6-statvers1.0-t0"), 0.0)
    # counters have no rate yet: the gauges only
    assert mount(first, "mnt_path1") == {"age": 15860876, "xprt_idle_time": 0, "xprt_count": 1}
    # the second sample: age 15860876 -> 15913327, so 52451 s apart
    dt = 52451.0
    got = mount(run.step(capture("procfs-diamond-rhel6-statvers1.0-t1"), dt), "mnt_path1")
    want = {
        "age": 15913327,
        # GETATTR 11022678 -> 11049788 (+27110), rtt 4401769 -> 4452788 (+51019),
        # execute 5971984 -> 6023400 (+51416), queue 1432547 -> 1432639 (+92)
        "getattr_ops": 27110 / dt,
        "getattr_rtt_ms": 51019 / 27110,
        "getattr_exec_ms": 51416 / 27110,
        "getattr_queue_ms": 92 / 27110,
        "getattr_retrans": 0.0,  # ntrans 11022695 -> 11049805: +27110 too
        # READ: one call, rtt +36, execute +37, queue +0; bytes sent +176, received +888
        "read_ops": 1 / dt,
        "read_rtt_ms": 36.0,
        "read_exec_ms": 37.0,
        "read_queue_ms": 0.0,
        "read_sent_bytes": 176 / dt,
        "read_recv_bytes": 888 / dt,
        "read_bytes": (176 + 888) / dt,
        # WRITE: sent 2727618648048 -> 2727618720284 (+72236), received +2312
        "write_bytes": (72236 + 2312) / dt,
        # calls of every op: +27110 +23 +481 +2988 +1 +16 +20 +8 +3 +10 +58 +4375
        "ops": 35093 / dt,
        "retrans": 0.0,
        "timeouts": 0.0,
        # xprt: sends 137593048 -> 137628141 (+35093), req_u +11896527, idle 7 s
        "xprt_sends": 35093 / dt,
        "xprt_request_queue": 11896527 / 35093,
        "xprt_backlog_queue": 0.0,
        "xprt_idle_time": 7,
        "xprt_count": 1,
        # events[4] vfsopen 3166454 -> 3166672; bytes[5] serverwritebytes 2712398781106 -> 2712398850566
        "events_vfsopen": 218 / dt,
        "serverwritebytes": 69460 / dt,
    }
    assert {k: got[k] for k in want} == pytest.approx(want, rel=1e-9)
    # no call, no average: MKNOD stayed at 0
    assert got["mknod_ops"] == 0 and "mknod_rtt_ms" not in got and "mknod_exec_ms" not in got
    # RPC iostats 1.0: no errors; statvers 1.0: no max_slots and no sending/pending queues
    assert not [k for k in got if k.endswith("errors") or "slots" in k or "sending" in k or "pending" in k]
    # 22 NFSv3 procedures, each with ops retrans timeouts sent_bytes recv_bytes (+ 3 averages when called)
    assert len([k for k in got if k.endswith("_ops")]) == 22


NFSV3 = "procfs-pcp-el8-4.18.0-105"
WRITE_T0 = "WRITE: 16 16 0 2099456 2176 101 81 183 8"


XPRT_T0 = "xprt:\ttcp 782 1 1 0 21 23 23 0 42 0 6 28 19"


def test_iostats_1_1_errors_retransmissions_and_statvers_1_1_queues(tmp_path):
    run = Run(tmp_path)
    text = capture(NFSV3)
    assert text.count(WRITE_T0) == 1 and text.count(XPRT_T0) == 1
    run.step(text, 100.0)
    # 10 s later: 4 more WRITEs, 5 more transmissions, 1 timeout, 524288 bytes more sent,
    # 544 received, queue +10 ms, rtt +20 ms, execute +40 ms, 1 more error;
    # the transport: 4 sends, req_u +20, bklog_u +2, sending_u +8, pending_u +12, max_slots 7
    later = (text.replace(WRITE_T0, "WRITE: 20 21 1 2623744 2720 111 101 223 9")
             .replace(XPRT_T0, "xprt:\ttcp 782 1 1 0 3 27 27 0 62 2 7 36 31"))
    got = mount(run.step(later, 110.0), "mnt_nfsv3")
    want = {
        "write_ops": 0.4, "write_retrans": 0.1, "write_timeouts": 0.1, "write_errors": 0.1,
        "write_sent_bytes": 52428.8, "write_recv_bytes": 54.4,
        "write_queue_ms": 2.5, "write_rtt_ms": 5.0, "write_exec_ms": 10.0,
        "write_bytes": 52483.2, "ops": 0.4, "retrans": 0.1, "timeouts": 0.1, "errors": 0.1,
        "xprt_sends": 0.4, "xprt_request_queue": 5.0, "xprt_backlog_queue": 0.5,
        "xprt_sending_queue": 2.0, "xprt_pending_queue": 3.0,
        "xprt_max_slots": 7, "xprt_idle_time": 3,
    }
    assert {k: got[k] for k in want} == pytest.approx(want)


def test_nconnect_transports_are_summed_and_the_last_mount_on_a_point_wins(tmp_path):
    run = Run(tmp_path, counters="raw")
    got = mount(run.step(capture("procfs-pcp-el8.7-rdma"), 0.0), "storage_prod")
    # /storage/prod is listed twice; the second block's 8 rdma lines:
    # sends 27117 + 27117 + 27114 + 27113 + 27115 + 27113 + 27115 + 27113
    # write chunks 3 + 5 + 1 + 2 + 2 + 4 + 3 + 2, rdma request bytes 44329 + 110959 + 13215 + 61752
    # + 24412 + 24016 + 118321 + 75257, idle times 120 120 28 28 120 120 120 120
    assert got["xprt_sends_total"] == 216917
    assert got["xprt_write_chunk_count_total"] == 22
    assert got["xprt_total_rdma_request_total"] == 472261
    assert (got["xprt_idle_time"], got["xprt_count"], got["age"]) == (28, 8, 1166720)
    # GETATTR: 216327 216327 0 19911140 24228624 790 44005 48809 0
    assert (got["getattr_ops_total"], got["getattr_sent_bytes_total"]) == (216327, 19911140)
    names = {k.split(".")[2] for k in run.step(capture("procfs-pcp-el8.7-rdma"), 1.0)}
    assert len(names) == 7  # 10 blocks, 3 mount points listed twice


def test_every_capture_reads_and_names_its_mounts(tmp_path):
    expect = {
        "procfs-pcp-el8-4.18.0-80": {"mnt_nfsv4_2", "mnt_nfsv4_1", "mnt_nfsv4_0", "mnt_nfsv3"},
        "procfs-pcp-nasbox-10xnfs3": {"nasbox_music", "nasbox_newmovies", "nasbox_Public", "nasbox_assets",
                                      "nasbox_movies", "nasbox_downloads", "nasbox_books", "nasbox_Web",
                                      "nasbox_scan", "nasbox_photos"},
        "procfs-pcp-nfs3-nfs4.0-nfs4.1": {"ifs", "mnt_nfsv4", "ifsfoo", "mnt_nfs41"},
        "procfs-pcp-nfs4.2-krb5p": {"home"},
    }
    for name, mounts in expect.items():
        run = Run(tmp_path / name)
        run.step(capture(name), 0.0)
        got = run.step(capture(name), 1.0)
        assert {k.split(".")[2] for k in got} == mounts, name
    krb = mount(got, "home")
    # NFSv4.2 on this kernel lists 60 ops, NULL .. COPY; mountstats' spelling, in lower case
    assert len([k for k in krb if k.endswith("_ops")]) == 60
    assert {"setclientid_confirm_ops", "getdeviceinfo_ops", "copy_ops", "open_downgrade_ops"} <= set(krb)


def test_a_counter_that_went_backwards_voids_that_counter_only(tmp_path):
    run = Run(tmp_path)
    text = capture(NFSV3)
    run.step(text, 0.0)
    # WRITE's rtt 81 -> 70: backwards; its calls 16 -> 18 still count
    got = mount(run.step(text.replace(WRITE_T0, "WRITE: 18 18 0 2099456 2176 101 70 185 8"), 1.0), "mnt_nfsv3")
    assert got["write_ops"] == 2 and got["write_exec_ms"] == 1.0
    assert "write_rtt_ms" not in got
    got = mount(run.step(text.replace(WRITE_T0, "WRITE: 19 19 0 2099456 2176 101 74 186 8"), 2.0), "mnt_nfsv3")
    assert got["write_rtt_ms"] == 4.0  # 70 -> 74 over one call


def test_mounts_appear_and_vanish_and_their_history_goes(tmp_path):
    run = Run(tmp_path)
    a = block(head="device srv:/a mounted on /mnt/a with fstype nfs statvers=1.1\n")
    b = block(head="device srv:/b mounted on /mnt/b with fstype nfs statvers=1.1\n")
    assert set(mount(run.step(a, 0.0), "mnt_a")) == {"age", "xprt_idle_time", "xprt_max_slots", "xprt_count"}
    got = run.step(a + b, 1.0)
    assert mount(got, "mnt_a")["read_ops"] == 0 and "read_ops" not in mount(got, "mnt_b")  # b is new
    got = run.step(b, 2.0)
    assert not mount(got, "mnt_a") and mount(got, "mnt_b")["read_ops"] == 0
    got = run.step(a + b, 3.0)
    assert "read_ops" not in mount(got, "mnt_a"), "a came back: a first sample again"
    assert run.step("device proc mounted on /proc with fstype proc\n", 4.0) == {}
    assert run.collector._schema_of == {} and run.collector._layouts == {}


def test_memory_stays_flat_when_mount_names_churn(tmp_path):
    run = Run(tmp_path)

    def cycle(i: int) -> None:
        text = "".join(block(head=f"device srv:/x mounted on /mnt/c{i}_{j} with fstype nfs statvers=1.1\n")
                       for j in range(5))
        run.step(text, float(i))

    # Objects the collector, sampler and renderer keep, counted by the garbage collector
    # (tracemalloc would count CPython's free lists of small tuples too).
    for i in range(100):
        cycle(i)
    gc.collect()
    at_100 = len(gc.get_objects())
    for i in range(100, 400):
        cycle(i)
    gc.collect()
    assert len(gc.get_objects()) - at_100 < 50, "1500 mounts came and went; nothing of them may stay"
    assert len(run.collector._schema_of) == 5 and len(run.collector._layouts) == 1
    assert len(run.sampler._prev) == 5


def test_one_schema_object_per_layout_kept_while_used(tmp_path):
    run = Run(tmp_path)
    text = capture(NFSV3)
    run.step(text, 0.0)
    s1 = run.collector.schema("mnt_nfsv3")
    run.step(text, 1.0)
    assert run.collector.schema("mnt_nfsv3") is s1
    # the three NFSv4 mounts on this kernel print the same 61 ops: one layout
    assert run.collector.schema("mnt_nfsv4_2") is run.collector.schema("mnt_nfsv4_0")


def test_nfs_mounts_and_nfsmount_ops_choose(tmp_path):
    run = Run(tmp_path, nfs_mounts=["/mnt/nfsv3", "mnt_nfsv4_*"], nfsmount_ops=["READ", "get*"])
    text = capture(NFSV3)
    run.step(text, 0.0)
    got = run.step(text, 1.0)
    assert {k.split(".")[2] for k in got} == {"mnt_nfsv3", "mnt_nfsv4_2", "mnt_nfsv4_1", "mnt_nfsv4_0"}
    v3 = {k for k in mount(got, "mnt_nfsv3") if k.endswith("_ops")}
    assert v3 == {"read_ops", "getattr_ops"}
    v4 = {k for k in mount(got, "mnt_nfsv4_2") if k.endswith("_ops")}
    assert v4 == {"read_ops", "getattr_ops", "get_lease_time_ops", "getacl_ops", "getdeviceinfo_ops",
                  "getdevicelist_ops"}
    # the mount-wide figures count every op: NULL 2 + GETATTR 8 + ... on /mnt/nfsv3, unchanged -> 0/s
    assert mount(got, "mnt_nfsv3")["ops"] == 0 and mount(got, "mnt_nfsv3")["write_bytes"] == 0


def test_a_later_iostats_version_sends_the_known_fields(tmp_path):
    run = Run(tmp_path)
    later = block(rpc="\tRPC iostats version: 1.2  p/v: 100003/3 (nfs)\n",
                  ops="\t        READ: 2 3 0 200 9000 1 4 6 1 5\n")
    run.step(later, 0.0)
    got = mount(run.step(later.replace("READ: 2 3 0 200 9000 1 4 6 1 5", "READ: 4 5 0 300 9100 3 8 10 2 9"),
                         1.0), "mnt_x")
    assert (got["read_ops"], got["read_rtt_ms"], got["read_errors"]) == (2, 2.0, 1)
    assert not [k for k in got if k.endswith(("_9", "op9"))]


def test_source_missing_or_without_nfs(tmp_path):
    c = NfsMounts(Source(str(tmp_path), str(tmp_path)))
    with pytest.raises(Unavailable, match="mountstats does not exist"):
        c.probe()
    (tmp_path / "self").mkdir()
    (tmp_path / REL).write_text(capture("procfs-pcp-no-nfs"))
    with pytest.raises(Unavailable, match="no NFS mount in"):
        c.probe()
    (tmp_path / REL).write_text(capture(NFSV3))
    c.probe()
    c.read()
    chosen = NfsMounts(Source(str(tmp_path), str(tmp_path)), build(None, {"nfs_mounts": ["/nothing/*"]}))
    with pytest.raises(Unavailable, match="no NFS mount matching nfs_mounts"):
        chosen.probe()
    (tmp_path / REL).unlink()
    with pytest.raises(Unavailable):
        c.read()


def test_agent_disables_it_with_one_line_without_nfs(tmp_path, caplog):
    (tmp_path / "self").mkdir()
    (tmp_path / REL).write_text(capture("procfs-pcp-no-nfs"))
    config = build(None, {"proc_root": str(tmp_path), "collectors": "nfsmount"})
    with caplog.at_level(logging.INFO, logger="carbon_client"):
        agent = Agent(config, health=False, workers=0)
    assert agent.unavailable() == {"nfsmount": f"no NFS mount in {tmp_path / REL}"}
    assert [r.getMessage() for r in caplog.records if "nfsmount" in r.getMessage()] == [
        f"collector nfsmount disabled: no NFS mount in {tmp_path / REL}"]


def test_a_malformed_mount_costs_that_mount_only(tmp_path, caplog):
    run = Run(tmp_path)
    bad = block(head="device srv:/b mounted on /mnt/b with fstype nfs statvers=1.1\n", ops="\t  READ: x\n")
    with caplog.at_level(logging.WARNING, logger="carbon_client"):
        run.step(block() + bad, 0.0)
        got = run.step(block() + bad, 1.0)
    assert {k.split(".")[2] for k in got} == {"mnt_x"}
    assert len([r for r in caplog.records if "mountstats: skipping malformed line" in r.getMessage()]) == 1
