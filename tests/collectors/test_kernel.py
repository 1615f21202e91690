"""kernel and processes on fake /proc trees in tmp_path built from the 6.18 capture: values worked
out by hand from the captured files, missing files, processes vanishing mid-read."""

from __future__ import annotations

import pytest

from carbon_client.collectors.kernel import STATES, Kernel, Processes
from carbon_client.lines import Renderer
from carbon_client.metrics import Unavailable
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from carbon_client.source import Source
from tests.collectors.test_core import Root, values_by_key
from tests.conftest import FIXTURES

LIVE = FIXTURES / "wave2" / "procfs-live-vm618" / "proc"
KERNEL_FILES = ("uptime", "loadavg", "stat", "sys/fs/file-nr", "sys/kernel/random/entropy_avail")
PIDS = ("2", "8683", "8750")


@pytest.fixture
def root(tmp_path):
    r = Root(tmp_path)
    for rel in KERNEL_FILES + tuple(f"{p}/stat" for p in PIDS):
        r.write(rel, (LIVE / rel).read_text())
    return r


def sample(collector) -> dict:
    return values_by_key(Sampler(collector).update(collector.read(), 1.0), None)


def test_kernel_facts_of_the_capture(root):
    k = Kernel(root.source())
    k.probe()
    v = sample(k)
    assert v == {
        "cpus": 2,                          # no /sys here: the cpu0 and cpu1 lines of /proc/stat
        "uptime": 2265.38,                  # "2265.38 3794.89"
        "file_handles_allocated": 464,      # "464\t0\t2466177": allocated 464, free 0
        "file_handles_max": 2466177,
        "file_handles_used_percent": pytest.approx(464 / 2466177 * 100),  # 0.0188 %
        "entropy_avail": 256,               # 5.18+: always 256
        "processes": 3,                     # the pid directories 2, 8683 and 8750
        "threads": 110,                     # loadavg "0.03 0.30 0.29 2/110 8749"
    }
    lines = []
    Renderer(DefaultLayout("host1")).render(Sampler(k).update(k.read(), 1.0), 1000, lines)
    assert "host1.kernel.uptime 2265.38 1000\n" in lines and "host1.kernel.threads 110 1000\n" in lines


def test_kernel_cpus_online_from_sys(root):
    (root.sys / "devices/system/cpu").mkdir(parents=True)
    (root.sys / "devices/system/cpu/online").write_text("0-3,5\n")  # CPU 4 offline
    assert sample(Kernel(root.source()))["cpus"] == 5


def test_kernel_missing_files_leave_their_keys_out(root):
    (root.proc / "sys/kernel/random/entropy_avail").unlink()
    (root.proc / "sys/fs/file-nr").unlink()
    v = sample(Kernel(root.source()))
    assert v["entropy_avail"] is None and v["file_handles_max"] is None and v["file_handles_used_percent"] is None
    assert v["uptime"] == 2265.38
    (root.proc / "uptime").unlink()
    with pytest.raises(Unavailable, match="uptime does not exist"):
        Kernel(root.source()).probe()


# -- processes -------------------------------------------------------------------------------


def stat_line(pid: int, comm: str, state: str, threads: int) -> str:
    return (f"{pid} ({comm}) {state} 1 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 {threads} 0 226540 "
            f"2990080 454 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n")


def test_processes_by_state_and_threads(root):
    # the capture: kthreadd, bash and sleep, all S with one thread each; and some made up
    for pid, comm, state, threads in [(10, "kworker/0:0H-events", "I", 1), (11, "java (main)", "R", 40),
                                      (12, "dd", "D", 1), (13, "defunct", "Z", 1), (14, "vi", "T", 1),
                                      (15, "gdb target", "t", 2), (16, "old", "W", 1)]:
        root.write(f"{pid}/stat", stat_line(pid, comm, state, threads))
    p = Processes(root.source())
    p.probe()
    v = sample(p)
    assert v == {"running": 1, "sleeping": 3, "disk_sleep": 1, "stopped": 1, "tracing_stop": 1, "zombie": 1,
                 "dead": 0, "idle": 1, "parked": 0, "other": 1, "threads": 3 + 1 + 40 + 1 + 1 + 1 + 2 + 1}
    assert tuple(v)[:-1] == STATES


def test_processes_vanishing_and_malformed_are_skipped(root, caplog):
    (root.proc / "77").mkdir()  # exited between the listing and the read: no stat any more
    root.write("78/stat", "78 (broken\n")
    v = sample(Processes(root.source()))
    assert v["sleeping"] == 3 and sum(v[s] for s in STATES) == 3
    assert "skipping malformed line" in caplog.text


def test_processes_churn_keeps_nothing(root):
    p = Processes(root.source())
    s = Sampler(p)
    for k in range(20):
        root.write(f"{1000 + k}/stat", stat_line(1000 + k, "short-lived", "R", 1))
        if k:
            (root.proc / f"{999 + k}/stat").unlink()
        p.source.new_cycle()  # a cycle each: /proc is listed once a cycle
        assert values_by_key(s.update(p.read(), float(k)), None)["running"] == 1
    assert list(s._prev) == [None] and p._errors.once.active == {}


def test_processes_without_pids(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "loadavg").write_text("0 0 0 1/1 1\n")
    with pytest.raises(Unavailable, match="no process directories"):
        Processes(Source(str(tmp_path / "proc"))).probe()
