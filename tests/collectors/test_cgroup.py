"""The cgroup group on fake sys roots built from the captures: two snapshots, exact rates.

Each test copies captured cgroup trees into tmp_path, reads, changes some
counters by hand, reads again 2 s later (an injected time) and checks the
values. Expected figures come from the captured files and the changes made,
worked out in the comments (Documentation/admin-guide/cgroup-v2.rst and
cgroup-v1/*.rst for the units: v2 microseconds, v1 nanoseconds).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from carbon_client.cgroupfs import CONTAINER, POD, SERVICE, discover, find_hierarchies
from carbon_client.collectors.cgroup import Cgroup
from carbon_client.config import build
from carbon_client.metrics import Unavailable
from carbon_client.sampling import Sampler
from carbon_client.source import Source
from tests.conftest import FIXTURES

W2 = FIXTURES / "wave2"
FEDORA = W2 / "cgroup2-pcp-fedora/sys/fs/cgroup"
TELEGRAF = W2 / "cgroup2-telegraf-single"
DOCKER_V1 = W2 / "cgroup1-pcp-docker-scope/sys/fs/cgroup"
KUBE_V1 = W2 / "cgroup1-elastic-amzn2-kubepods/sys/fs/cgroup"
DOCKER_ID = "f4d3b90bea1585f216da780c97cc4675827296e1c90fdc957fb2ea0c1db85a6a"
DOCKER = f"system.slice/docker-{DOCKER_ID}.scope"
KUBE_ID = "1d3d308a7d48a27814a68bf33a44acf4441c9c02463ca0bc1cdfdc8c0b4a8496"
KUBE = ("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7a96c459_d529_44ae_9f99_90d3798d6426.slice/"
        f"cri-containerd-{KUBE_ID}.scope")
POD_ID = "9d30caebefaaf8afd150f71505b3bdccd79b6cf8c2a754426e66b0a2c9584d81"


class Tree:
    """A sys root in tmp_path: fs/cgroup filled from captures, files edited between reads."""

    def __init__(self, tmp: Path) -> None:
        self.sys = tmp / "sys"
        self.cg = self.sys / "fs/cgroup"
        self.cg.mkdir(parents=True)
        (tmp / "proc").mkdir()
        self.proc = tmp / "proc"

    def copy(self, src: Path, rel: str = "") -> None:
        shutil.copytree(src, self.cg / rel, dirs_exist_ok=True)

    def write(self, rel: str, text: str) -> None:
        p = self.cg / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def replace(self, rel: str, old: str, new: str) -> None:
        p = self.cg / rel
        text = p.read_text()
        assert old in text, f"{old!r} not in {rel}"
        p.write_text(text.replace(old, new))

    def collector(self, **options) -> Cgroup:
        c = Cgroup(Source(str(self.proc), str(self.sys)), build(None, {"sys_root": str(self.sys), **options}))
        c.probe()
        return c


@pytest.fixture
def tree(tmp_path) -> Tree:
    return Tree(tmp_path)


def values(sample, instance) -> dict:
    schema = sample.schemas[instance]
    return {m.key: v for m, v in zip(schema.metrics, sample.values[instance]) if m.send and v is not None}


def two_reads(c: Cgroup, change, t0=100.0, t1=102.0):
    s = Sampler(c)
    s.update(c.read(), t0)
    change()
    return s.update(c.read(), t1)


# -- v2 -------------------------------------------------------------------------------------


def test_v2_services_and_a_podman_pod(tree):
    tree.copy(FEDORA)
    pod = f"machine.slice/machine-libpod_pod_{POD_ID}.slice"
    tree.write(f"{pod}/io.stat", "8:0 rbytes=1000 wbytes=0 rios=1 wios=0\n")

    def change():
        # sshd: usage_usec 2605960 -> +2 s of CPU; io.pressure some total 3598761 -> +500000 us
        tree.replace("system.slice/sshd.service/cpu.stat", "usage_usec 2605960", "usage_usec 4605960")
        tree.replace("system.slice/crond.service/io.pressure", "total=3598761", "total=4098761")
        tree.write(f"{pod}/io.stat", "8:0 rbytes=5096 wbytes=8192 rios=3 wios=2\n")

    out = two_reads(tree.collector(), change)
    # services under system.slice, and the pod; no slices, no session scope
    assert set(out.values) == {"crond", "sshd", "chronyd", "redis", "NetworkManager", POD_ID[:12]}
    sshd = values(out, "sshd")
    assert sshd["cpu_percent"] == pytest.approx(2_000_000 / 2 / 1e6 * 100)  # 2 s over 2 s: one core
    assert sshd["memory_current"] == 5332992
    assert sshd["pids"] == 1  # pids.current
    # system.slice enables only memory and pids: no io.stat, no throttling; memory.max is "max"
    assert not {"io_read_bytes", "throttled_periods", "memory_max", "memory_percent"} & set(sshd)
    crond = values(out, "crond")
    assert crond["memory_anon"] == 778240 and crond["memory_file"] == 1810432
    assert crond["pressure_io_some_stall"] == pytest.approx(500000 / 2 * 1e-4)  # 25 % of the time
    assert crond["pressure_io_full_stall"] == 0
    assert crond["pressure_cpu_some_avg10"] == 0.0
    assert "pressure_cpu_full_avg10" not in crond  # 5.x: cpu.pressure has no full line
    pod_values = values(out, POD_ID[:12])
    # io.stat: 4096 bytes read, 8192 written, 2 reads, 2 writes over 2 s
    assert (pod_values["io_read_bytes"], pod_values["io_write_bytes"]) == (2048, 4096)
    assert (pod_values["io_reads"], pod_values["io_writes"]) == (1, 1)


def test_v2_limit_and_throttling(tree):
    """The 6.x capture (telegraf) as a service: memory.max set, cpu controller on."""
    tree.write("cgroup.controllers", "cpuset cpu io memory pids\n")
    tree.copy(TELEGRAF, "system.slice/capture.service")

    def change():
        # nr_throttled 6004 -> 6014, throttled_usec 19175137007 -> +1 s
        tree.replace("system.slice/capture.service/cpu.stat", "nr_throttled 6004", "nr_throttled 6014")
        tree.replace("system.slice/capture.service/cpu.stat", "throttled_usec 19175137007",
                     "throttled_usec 19176137007")

    v = values(two_reads(tree.collector(), change), "capture")
    assert v["throttled_periods"] == 5.0
    assert v["throttled_time"] == pytest.approx(500.0)  # 1e6 us over 2 s = 500 ms/s
    assert v["memory_max"] == 103079215104
    assert v["memory_percent"] == pytest.approx(13071106048 * 100 / 103079215104)
    assert v["pids"] == 592
    assert v["pressure_cpu_full_avg10"] == 0.0 and v["cpu_percent"] == 0  # usage did not move


def test_counter_going_backwards_voids_that_rate_only(tree):
    tree.copy(FEDORA)

    def change():
        tree.replace("system.slice/sshd.service/cpu.stat", "usage_usec 2605960", "usage_usec 5960")
        tree.replace("system.slice/sshd.service/cpu.pressure", "total=310", "total=20310")

    v = values(two_reads(tree.collector(), change), "sshd")
    assert "cpu_percent" not in v
    assert v["pressure_cpu_some_stall"] == pytest.approx(20000 / 2 * 1e-4)
    assert v["memory_current"] == 5332992


# -- v1 and hybrid --------------------------------------------------------------------------------


def test_v1_docker_scope(tree):
    tree.copy(DOCKER_V1)

    def change():
        # cpuacct.usage 23675247 ns -> +1e9 ns: 1 s of CPU over 2 s
        tree.write(f"cpu,cpuacct/{DOCKER}/cpuacct.usage", "1023675247\n")
        tree.replace(f"blkio/{DOCKER}/blkio.throttle.io_service_bytes", "8:0 Read 3108864", "8:0 Read 3112960")
        tree.replace(f"blkio/{DOCKER}/blkio.throttle.io_service_bytes", "8:0 Write 0", "8:0 Write 8192")
        tree.replace(f"blkio/{DOCKER}/blkio.throttle.io_serviced", "8:0 Read 39", "8:0 Read 41")

    out = two_reads(tree.collector(), change)
    assert set(out.values) == {DOCKER_ID[:12]}
    v = values(out, DOCKER_ID[:12])
    assert v["cpu_percent"] == pytest.approx(50.0)
    assert v["memory_current"] == 7364608
    # limit 2^64-1: no limit, so neither memory_max nor memory_percent
    assert "memory_max" not in v and "memory_percent" not in v
    assert v["memory_anon"] == 335872 and v["memory_file"] == 7028736  # total_rss, total_cache
    assert v["io_read_bytes"] == 2048.0 and v["io_write_bytes"] == 4096.0
    assert v["io_reads"] == 1.0 and v["io_writes"] == 0
    assert not any(k.startswith("pressure_") for k in v)  # v1: no pressure files
    assert "pids" not in v  # no pids controller in the capture


def test_v1_kubepods_named_by_prefix(tree):
    tree.copy(KUBE_V1)

    def change():
        # v1 cpu.stat throttled_time is ns: 2e6 ns = 2000 us over 2 s = 1 ms/s
        tree.replace(f"cpu,cpuacct/{KUBE}/cpu.stat", "nr_throttled 0\nthrottled_time 0",
                     "nr_throttled 4\nthrottled_time 2000000")

    out = two_reads(tree.collector(cgroup_names={"1d3d308a": "api", "1d": "other"}), change)
    assert set(out.values) == {"api"}  # the longest prefix wins
    v = values(out, "api")
    assert v["throttled_periods"] == 2.0
    assert v["throttled_time"] == pytest.approx(1.0)
    assert v["memory_max"] == 2147483648
    assert v["memory_percent"] == pytest.approx(1215860736 * 100 / 2147483648)
    assert v["memory_anon"] == 1119465472 and v["memory_file"] == 78397440
    assert v["cpu_percent"] == 0


def test_hybrid_pressure_from_the_unified_tree(tree):
    """v1 controllers plus fs/cgroup/unified: pressure and (without cpuacct) usage come from v2."""
    tree.copy(DOCKER_V1)
    sshd = FEDORA / "system.slice/sshd.service"
    tree.write("unified/cgroup.controllers", "")
    for f in ("cpu.pressure", "memory.pressure", "io.pressure"):
        tree.write(f"unified/{DOCKER}/{f}", (sshd / f).read_text())
    tree.write("unified/system.slice/cron.service/cpu.stat", "usage_usec 1000\nuser_usec 600\nsystem_usec 400\n")

    def change():
        tree.write("unified/system.slice/cron.service/cpu.stat", "usage_usec 501000\nuser_usec 1\nsystem_usec 1\n")
        tree.replace(f"unified/{DOCKER}/cpu.pressure", "total=310", "total=40310")

    out = two_reads(tree.collector(), change)
    assert set(out.values) == {DOCKER_ID[:12], "cron"}
    v = values(out, DOCKER_ID[:12])
    assert v["pressure_cpu_some_stall"] == pytest.approx(40000 / 2 * 1e-4)
    assert v["memory_current"] == 7364608  # v1 memory controller
    assert values(out, "cron") == {"cpu_percent": pytest.approx(500000 / 2 / 1e6 * 100)}


# -- which cgroups ------------------------------------------------------------------------------------


def test_include_exclude_and_a_taken_name(tree, caplog):
    tree.copy(FEDORA)
    tree.copy(TELEGRAF, f"system.slice/docker-{'ab' * 32}.scope")
    c = tree.collector(cgroup_include="s*,c*,ab*", cgroup_exclude="chronyd", cgroup_names={"ab": "sshd"})
    with caplog.at_level(logging.WARNING, "carbon_client.collectors"):
        names = set(c.read())
        assert set(c.read()) == names
    # crond and sshd by the include globs, chronyd excluded; the container's configured
    # name is the service's: services keep theirs, the container goes under its id
    assert names == {"crond", "sshd", "ab" * 6}
    assert [r.getMessage() for r in caplog.records] == [
        f"cgroup: system.slice/docker-{'ab' * 32}.scope: 'sshd' is taken by another cgroup; "
        f"sent as {'ab' * 6!r}"]


def test_discover_every_layout(tree):
    cid = [f"{i:x}" * 64 for i in range(1, 9)]
    for rel in (
        "system.slice/sshd.service", "system.slice/system-getty.slice/getty@tty1.service",
        f"system.slice/docker-{cid[0]}.scope", "system.slice/foo.mount", "system.slice/session.scope",
        f"docker/{cid[1]}", "docker/not-an-id",
        f"kubepods.slice/kubepods-pod1_2.slice/cri-containerd-{cid[2]}.scope",
        f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3.slice/crio-{cid[3]}.scope",
        f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3.slice/crio-conmon-{cid[4]}.scope",
        f"kubepods/burstable/pod5/{cid[5]}",
        f"machine.slice/libpod-{cid[6]}.scope", f"machine.slice/libpod-conmon-{cid[6]}.scope",
        f"machine.slice/machine-libpod_pod_{POD_ID}.slice/libpod-{cid[7]}.scope",
        "user.slice/user-1000.slice/session-4.scope", "init.scope",
    ):
        (tree.cg / rel).mkdir(parents=True)
    tree.write("cgroup.controllers", "cpu memory\n")
    found = discover(Source(str(tree.proc), str(tree.sys)), "fs/cgroup")
    assert found == {
        "system.slice/sshd.service": (SERVICE, "sshd"),
        "system.slice/system-getty.slice/getty@tty1.service": (SERVICE, "getty@tty1"),
        f"system.slice/docker-{cid[0]}.scope": (CONTAINER, cid[0]),
        f"docker/{cid[1]}": (CONTAINER, cid[1]),
        f"kubepods.slice/kubepods-pod1_2.slice/cri-containerd-{cid[2]}.scope": (CONTAINER, cid[2]),
        f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3.slice/crio-{cid[3]}.scope":
            (CONTAINER, cid[3]),
        f"kubepods/burstable/pod5/{cid[5]}": (CONTAINER, cid[5]),
        f"machine.slice/libpod-{cid[6]}.scope": (CONTAINER, cid[6]),
        f"machine.slice/machine-libpod_pod_{POD_ID}.slice": (POD, POD_ID),
        f"machine.slice/machine-libpod_pod_{POD_ID}.slice/libpod-{cid[7]}.scope": (CONTAINER, cid[7]),
    }


def test_hierarchies(tree):
    src = Source(str(tree.proc), str(tree.sys))
    assert find_hierarchies(src) is None
    tree.copy(DOCKER_V1)
    h = find_hierarchies(src)
    assert h.v2 is None and h.v1 == {"blkio": "fs/cgroup/blkio", "cpu": "fs/cgroup/cpu,cpuacct",
                                     "cpuacct": "fs/cgroup/cpu,cpuacct", "memory": "fs/cgroup/memory"}
    assert h.roots() == ["fs/cgroup/blkio", "fs/cgroup/cpu,cpuacct", "fs/cgroup/memory"]
    tree.write("unified/cgroup.controllers", "")
    assert find_hierarchies(src).v2 == "fs/cgroup/unified"
    tree.write("cgroup.controllers", "memory\n")
    assert find_hierarchies(src).pure


def test_no_cgroup_hierarchy(tree):
    c = Cgroup(Source(str(tree.proc), str(tree.sys)), build(None, {}))
    with pytest.raises(Unavailable, match="no cgroup hierarchy"):
        c.probe()


# -- churn, and what is forgotten ----------------------------------------------------------------------


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_containers_coming_and_going_are_forgotten(tree):
    tree.write("cgroup.controllers", "cpu memory\n")
    tree.write("system.slice/sshd.service/cpu.stat", "usage_usec 10\n")
    c = tree.collector()
    c.clock = clock = Clock()
    s = Sampler(c)
    for k in range(60):
        clock.t += 10  # a 10 s interval: the cgroups are looked for at every read
        if k:
            shutil.rmtree(tree.cg / f"system.slice/docker-{k - 1:064x}.scope")
        tree.write(f"system.slice/docker-{k:064x}.scope/memory.current", f"{k}\n")
        tree.write(f"system.slice/docker-{k:064x}.scope/memory.stat", "anon 4096\nfile x\n")
        out = s.update(c.read(), 100.0 + k)
        assert set(out.values) == {"sshd", f"{k:064x}"[:12]}
    # what is kept is what is there now: two plans, two sampler entries, one complaint
    # (this cycle's malformed memory.stat), none of the vanished ones
    assert len(c._plans) == 2 and len(s._prev) == 2
    assert list(c._bad.active) == [f"fs/cgroup/system.slice/docker-{59:064x}.scope/memory.stat"]


def test_a_malformed_file_costs_that_value(tree, caplog):
    tree.copy(FEDORA)
    tree.write("system.slice/sshd.service/memory.current", "lots\n")
    c = tree.collector()
    with caplog.at_level(logging.WARNING, "carbon_client.collectors"):
        first, second = c.read(), c.read()
    v = dict(zip(Cgroup.fields, second["sshd"]))
    assert v["memory_current"] is None and v["usage_usec"] == 2605960
    assert len(caplog.records) == 1 and "memory.current" in caplog.records[0].getMessage()
    assert first == second


def test_at_a_short_interval_cgroups_are_looked_for_every_10_s(tree):
    tree.write("cgroup.controllers", "cpu memory\n")
    tree.write("system.slice/sshd.service/cpu.stat", "usage_usec 10\n")
    c = tree.collector()
    c.clock = clock = Clock()
    calls = []
    looked = c._discover
    c._discover = lambda: calls.append(clock.t) or looked()
    cid = "ab" * 32

    def read():
        clock.t += 1  # a 1 s interval
        return set(c.read())

    assert read() == {"sshd"} and calls == [1001]
    tree.write(f"system.slice/docker-{cid}.scope/memory.current", "4096\n")
    # Started after the look: seen at the first read 10 s after it.
    assert [read() for _ in range(9)] == [{"sshd"}] * 9
    assert read() == {"sshd", cid[:12]} and calls == [1001, 1011]
    # sshd restarts between two reads (its cgroup made anew): still read, nothing marked missing.
    shutil.rmtree(tree.cg / "system.slice/sshd.service")
    tree.write("system.slice/sshd.service/cpu.stat", "usage_usec 3\n")
    assert read() == {"sshd", cid[:12]} and c.read()["sshd"][0] == 3
    # The container stops: not sent from the next read, forgotten at the read after it.
    shutil.rmtree(tree.cg / f"system.slice/docker-{cid}.scope")
    assert read() == {"sshd"} and len(c._plans) == 2
    assert read() == {"sshd"} and len(c._plans) == 1 and calls == [1001, 1011, 1014]
    # The clock stepped back: looked for again.
    clock.t -= 100
    assert read() == {"sshd"} and calls[-1] == clock.t
