"""cgroup control files (parsers/cgroup.py), on the captured v1 and v2 trees.

Expected values are read off the captures by hand (Documentation/admin-guide/cgroup-v2.rst,
cgroup-v1/blkio-controller.rst for the formats); sums are written out.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers.cgroup import IoStat, parse_blkio, parse_io_stat, parse_keyed, parse_procs, parse_value
from tests.conftest import FIXTURES
from tests.parsers.util import HUGE, raises_naming

W2 = FIXTURES / "wave2"
FEDORA = W2 / "cgroup2-pcp-fedora/sys/fs/cgroup"
TELEGRAF = W2 / "cgroup2-telegraf-single"
SESSION = W2 / "cgroup2-elastic-session-scope/sys/fs/cgroup/user.slice/user-1000.slice/session-520.scope"
DOCKER = "docker-f4d3b90bea1585f216da780c97cc4675827296e1c90fdc957fb2ea0c1db85a6a.scope"
DOCKER_V1 = W2 / "cgroup1-pcp-docker-scope/sys/fs/cgroup"
KUBE = ("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7a96c459_d529_44ae_9f99_90d3798d6426.slice/"
        "cri-containerd-1d3d308a7d48a27814a68bf33a44acf4441c9c02463ca0bc1cdfdc8c0b4a8496.scope")
KUBE_V1 = W2 / "cgroup1-elastic-amzn2-kubepods/sys/fs/cgroup"


def read(path) -> str:
    return path.read_text()


# -- one-value files -------------------------------------------------------------------

VALUES = [
    ("memory.current", read(FEDORA / "system.slice/sshd.service/memory.current"), 5332992),
    ("memory.max unlimited", read(FEDORA / "system.slice/redis.service/memory.max"), None),
    ("memory.max set", read(TELEGRAF / "memory.max"), 103079215104),
    ("pids.current", read(TELEGRAF / "pids.current"), 592),
    ("pids.max unlimited", read(SESSION / "pids.max"), None),
    ("cpuacct.usage ns", read(DOCKER_V1 / "cpu,cpuacct/system.slice" / DOCKER / "cpuacct.usage"), 23675247),
    ("v1 limit 2^64-1", read(DOCKER_V1 / "memory/system.slice" / DOCKER / "memory.limit_in_bytes"),
     18446744073709551615),
    ("v1 limit 2 GiB", read(KUBE_V1 / "memory" / KUBE / "memory.limit_in_bytes"), 2147483648),
    ("no newline", "42", 42),
]


@pytest.mark.parametrize("text,expected", [v[1:] for v in VALUES], ids=[v[0] for v in VALUES])
def test_value(text, expected):
    assert parse_value(text) == expected


BAD_VALUES = [
    ("empty", ""),
    ("blank", "\n"),
    ("two lines", "1\n2\n"),
    ("two fields", "1 2\n"),
    ("negative", "-1\n"),
    ("garbage", "max2\n"),
    ("not ASCII digits", "\u0661\n"),
    ("huge", HUGE),
]


@pytest.mark.parametrize("text", [v[1] for v in BAD_VALUES], ids=[v[0] for v in BAD_VALUES])
def test_bad_value(text):
    with pytest.raises(ParseError):
        parse_value(text)


# -- flat keyed files ---------------------------------------------------------------------

KEYED = [
    # cpu.stat: only usage/user/system without the cpu controller (Fedora's services)
    ("v2 cpu.stat, no cpu controller", read(FEDORA / "system.slice/sshd.service/cpu.stat"),
     ("usage_usec", "nr_throttled", "throttled_usec"), {"usage_usec": 2605960}),
    # 6.x: core_sched.force_idle_usec, nr_bursts, burst_usec as well
    ("v2 cpu.stat, 6.x with throttling", read(TELEGRAF / "cpu.stat"),
     ("usage_usec", "nr_throttled", "throttled_usec"),
     {"usage_usec": 98701325189, "nr_throttled": 6004, "throttled_usec": 19175137007}),
    ("v2 cpu.stat.local", read(SESSION / "cpu.stat.local"), ("throttled_usec",), {"throttled_usec": 0}),
    ("v2 memory.stat, 5.x", read(FEDORA / "system.slice/crond.service/memory.stat"), ("anon", "file"),
     {"anon": 778240, "file": 1810432}),
    ("v2 memory.stat, 6.x", read(TELEGRAF / "memory.stat"), ("anon", "file"),
     {"anon": 2471755776, "file": 8532865024}),
    # total_rss is not rss: a key is matched at the start of a line only
    ("v1 memory.stat", read(DOCKER_V1 / "memory/system.slice" / DOCKER / "memory.stat"),
     ("total_rss", "total_cache", "rss", "cache"),
     {"total_rss": 335872, "total_cache": 7028736, "rss": 335872, "cache": 7028736}),
    ("v1 memory.stat of the parent", read(DOCKER_V1 / "memory/system.slice/memory.stat"),
     ("total_rss", "rss"), {"total_rss": 675840, "rss": 339968}),
    ("v1 cpu.stat", read(KUBE_V1 / "cpu,cpuacct" / KUBE / "cpu.stat"), ("nr_throttled", "throttled_time"),
     {"nr_throttled": 0, "throttled_time": 0}),
    ("v1 cpuacct.stat", read(DOCKER_V1 / "cpu,cpuacct/system.slice" / DOCKER / "cpuacct.stat"),
     ("user", "system"), {"user": 0, "system": 1}),
    ("key absent", "usage_usec 5\n", ("nr_throttled",), {}),
    ("negative value", "anon -4096\nfile 8192\n", ("anon", "file"), {"anon": -4096, "file": 8192}),
    ("empty", "", ("anon",), {}),
]


@pytest.mark.parametrize("text,keys,expected", [k[1:] for k in KEYED], ids=[k[0] for k in KEYED])
def test_keyed(text, keys, expected):
    assert parse_keyed(text, keys) == expected


def test_keyed_whole_file():
    assert parse_keyed(read(SESSION / "memory.events")) == {
        "low": 0, "high": 0, "max": 0, "oom": 0, "oom_kill": 0, "oom_group_kill": 0,
    }


BAD_KEYED = [
    ("no value", "anon\nfile 1\n", ("file",), None),
    ("value not a number", "anon x1\n", ("anon",), "anon x1"),
    ("two values", "anon 1 2\n", ("anon",), "anon 1 2"),
    ("huge", f"anon {HUGE}\n", ("anon",), f"anon {HUGE}"),
]


@pytest.mark.parametrize("text,keys,line", [b[1:] for b in BAD_KEYED], ids=[b[0] for b in BAD_KEYED])
def test_bad_keyed(text, keys, line):
    if line is None:
        # a malformed line of a key not asked for is not looked at; checking the whole file finds it
        assert parse_keyed(text, keys) == {"file": 1}
        with raises_naming("anon"):
            parse_keyed(text)
        return
    with raises_naming(line):
        parse_keyed(text, keys)


# -- io.stat and blkio ----------------------------------------------------------------------

IO_STAT = [
    ("one device with dbytes", read(TELEGRAF / "io.stat"), IoStat(74526720, 3789381632, 2936, 181928)),
    ("four devices", read(FEDORA / "machine.slice/io.stat"), IoStat(
        262144 + 3059712 + 250761216 + 247439360, 258048 + 12288 + 270336 + 0,
        64 + 177 + 8081 + 7840, 63 + 3 + 66 + 0)),
    ("no I/O: empty file", read(FEDORA / "machine.slice/machine-libpod_pod_9d30caebefaaf8afd150f71505b3bdccd79b6cf8c2a754426e66b0a2c9584d81.slice/io.stat"),
     IoStat(0, 0, 0, 0)),
    ("4.16: no dbytes", "8:0 rbytes=1 wbytes=2 rios=3 wios=4\n", IoStat(1, 2, 3, 4)),
    ("io.cost and io.latency keys", "8:16 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0 cost.vrate=100.00 "
                                    "cost.usage=3 use_delay=0 delay=0\n", IoStat(10, 20, 1, 2)),
]


@pytest.mark.parametrize("text,expected", [v[1:] for v in IO_STAT], ids=[v[0] for v in IO_STAT])
def test_io_stat(text, expected):
    assert parse_io_stat(text) == expected


BAD_IO_STAT = [
    ("no device", "rbytes=1 wbytes=2 rios=3 wios=4"),
    ("missing wios", "8:0 rbytes=1 wbytes=2 rios=3"),
    ("token without =", "8:0 rbytes=1 wbytes=2 rios=3 wios=4 junk"),
    ("bad value", "8:0 rbytes=x wbytes=2 rios=3 wios=4"),
    ("bad device", "8-0 rbytes=1 wbytes=2 rios=3 wios=4"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_IO_STAT], ids=[b[0] for b in BAD_IO_STAT])
def test_bad_io_stat(line):
    with raises_naming(line):
        parse_io_stat("259:8 rbytes=1 wbytes=2 rios=3 wios=4\n" + line + "\n")


BLKIO = [
    # 7:0 163840 + 253:0 163840 + 253:1 3772416 + 8:0 3108864; nothing written
    ("v1 docker bytes", read(DOCKER_V1 / "blkio/system.slice" / DOCKER / "blkio.throttle.io_service_bytes"),
     (163840 + 163840 + 3772416 + 3108864, 0)),
    ("v1 docker ops", read(DOCKER_V1 / "blkio/system.slice" / DOCKER / "blkio.throttle.io_serviced"),
     (40 + 40 + 251 + 39, 0)),
    ("4.19+ Discard rows", read(KUBE_V1 / "blkio" / KUBE / "blkio.throttle.io_service_bytes"), (3448832, 25203200)),
    ("4.19+ Discard ops", read(KUBE_V1 / "blkio" / KUBE / "blkio.throttle.io_serviced"), (59, 5048)),
    ("no I/O", "Total 0\n", (0, 0)),
]


@pytest.mark.parametrize("text,expected", [v[1:] for v in BLKIO], ids=[v[0] for v in BLKIO])
def test_blkio(text, expected):
    assert parse_blkio(text) == expected


BAD_BLKIO = [
    ("too few fields", "8:0 Read"),
    ("bad value", "8:0 Read x"),
    ("bad total", "Total x"),
    ("no device", "sda Read 1"),
    ("too many fields", "8:0 Read 1 2"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_BLKIO], ids=[b[0] for b in BAD_BLKIO])
def test_bad_blkio(line):
    with raises_naming(line):
        parse_blkio("8:0 Read 1\n" + line + "\nTotal 1\n")


# -- cgroup.procs ----------------------------------------------------------------------------

def test_procs():
    assert parse_procs(read(FEDORA / "system.slice/crond.service/cgroup.procs")) == [1141]
    assert parse_procs(read(KUBE_V1 / "memory" / KUBE / "cgroup.procs"))[:3] == [493187, 493199, 493212]
    assert parse_procs("") == []
    assert parse_procs("7\n5\n7\n") == [7, 5]  # moved out and back in: listed twice


def test_bad_procs():
    with pytest.raises(ParseError):
        parse_procs("12\nabc\n")


# -- any text ---------------------------------------------------------------------------------

TEXT = st.one_of(
    st.text(),
    st.lists(st.sampled_from(["8:0", " ", "\n", "rbytes=", "wbytes=", "rios=", "wios=", "1", "-1", "max",
                              "Read", "Write", "Total", "anon", "file", "x=", "\u0661", "\x85", ":", "="]),
             max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_any_text_gives_a_record_or_parse_error(text):
    for parse in (parse_value, parse_io_stat, parse_blkio, parse_procs, parse_keyed,
                  lambda t: parse_keyed(t, ("anon", "file", "rbytes=1"))):
        try:
            parse(text)
        except ParseError:
            pass
