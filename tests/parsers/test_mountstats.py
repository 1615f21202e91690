"""parsers.mountstats on every mountstats capture and on hand-made variants.

Expected values are read off the captures' text with the format notes
(../shared/formats/wave2.md section 1: the device line, ``events:`` 27
counters, ``bytes:`` 8, ``xprt:`` numbers by protocol and statvers, per-op
lines of 8 numbers with RPC iostats 1.0 and 9 with 1.1), not from the
parser's output.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers.mountstats import NfsMount, Transport, parse_mountstats
from tests.conftest import FIXTURES
from tests.parsers.util import HUGE, raises_naming

WAVE2 = FIXTURES / "wave2"


def capture(name: str) -> str:
    return (WAVE2 / name / "proc/self/mountstats").read_text()


def by_mountpoint(text: str) -> dict[str, NfsMount]:
    return {m.mountpoint: m for m in parse_mountstats(text)}


def op(m: NfsMount, name: str) -> tuple[int, ...]:
    i = m.op_names.index(name)
    return m.op_stats[i * m.op_width:(i + 1) * m.op_width]


# -- the captures ---------------------------------------------------------------------


def test_procfs_fixture_whole_record():
    # tests/fixtures/procfs/26231/mountstats, line by line: the NFSv4 mount of 4 ops.
    text = (FIXTURES / "procfs/26231/mountstats").read_text()
    assert parse_mountstats(text) == [NfsMount(
        device="192.168.1.1:/srv/test", mountpoint="/mnt/nfs/test", fstype="nfs4", statvers="1.1",
        age=13968,
        events=(52, 226, 0, 0, 1, 13, 398, 0, 0, 331, 0, 47, 0, 0, 77, 0, 0, 77, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        bytes=(1207640230, 0, 0, 0, 1210214218, 0, 295483, 0),
        iostats_version="1.0", program=100003, version=4,
        transports=(Transport("tcp", (832, 0, 1, 0, 11, 6428, 6428, 0, 12154, 0, 24, 26, 5726)),),
        op_names=("NULL", "READ", "WRITE", "ACCESS"), op_width=8,
        op_stats=(0, 0, 0, 0, 0, 0, 0, 0,
                  1298, 1298, 0, 207680, 1210292152, 6, 79386, 79407,
                  0, 0, 0, 0, 0, 0, 0, 0,
                  # a queue time printed from a negative ktime: 2**64 - 154468947070
                  2927395007, 2927394995, 0, 526931094212, 362996810236, 18446743919241604546, 1667369447,
                  1953587717),
    )]


def test_statvers_1_0_ten_number_tcp_xprt():
    ms = by_mountpoint(capture("procfs-diamond-rhel6-statvers1.0-t0"))
    assert list(ms) == ["/mnt/path1", "/mnt/path2"]
    m = ms["/mnt/path1"]
    assert (m.device, m.fstype, m.statvers, m.age, m.iostats_version, m.version) == \
        ("server:/export/path1", "nfs", "1.0", 15860876, "1.0", 3)
    # xprt: tcp 768 1 611 0 0 137593048 137592710 49 70488090587 0
    assert m.transports == (Transport("tcp", (768, 1, 611, 0, 0, 137593048, 137592710, 49, 70488090587, 0)),)
    assert len(m.op_names) == 22 and m.op_names[0] == "NULL" and m.op_names[-1] == "COMMIT"
    assert op(m, "READ") == (3506477, 3506470, 0, 604236352, 114512740400, 38565, 9135087, 9872207)
    assert m.bytes == (157446200657, 2712388883501, 0, 0, 114069658024, 2712398781106, 27947470, 662337309)


def test_iostats_1_0_and_1_1_op_widths():
    v10 = by_mountpoint(capture("procfs-pcp-el8-4.18.0-80"))
    v11 = by_mountpoint(capture("procfs-pcp-el8-4.18.0-105"))
    assert list(v10) == list(v11) == ["/mnt/nfsv4.2", "/mnt/nfsv4.1", "/mnt/nfsv4.0", "/mnt/nfsv3"]
    assert {m.op_width for m in v10.values()} == {8}
    assert {m.op_width for m in v11.values()} == {9}
    # `WRITE: 8 8 0 1049728 1088 68 56 125` (formats/wave2.md's worked example)
    assert op(v10["/mnt/nfsv3"], "WRITE") == (8, 8, 0, 1049728, 1088, 68, 56, 125)
    # `WRITE: 16 16 0 2099456 2176 101 81 183 8`: errors last
    assert op(v11["/mnt/nfsv3"], "WRITE") == (16, 16, 0, 2099456, 2176, 101, 81, 183, 8)
    assert v11["/mnt/nfsv3"].transports == (Transport("tcp", (782, 1, 1, 0, 21, 23, 23, 0, 42, 0, 6, 28, 19)),)
    # NFSv4.2 on 4.18 lists 61 ops, NULL .. LOOKUPP; names longer than 12 columns unpadded
    v42 = v11["/mnt/nfsv4.2"]
    assert (len(v42.op_names), v42.op_names[-1], v42.version) == (61, "LOOKUPP", 4)
    assert "SETCLIENTID_CONFIRM" in v42.op_names and "OPEN_DOWNGRADE" in v42.op_names
    assert op(v42, "EXCHANGE_ID") == (12, 12, 0, 1200, 592, 0, 6, 2589, 8)


def test_rdma_nconnect_eight_transports_and_repeated_mount_points():
    ms = parse_mountstats(capture("procfs-pcp-el8.7-rdma"))
    assert len(ms) == 10
    assert [m.mountpoint for m in ms].count("/storage/prod") == 2
    prod = ms[0]
    assert prod.mountpoint == "/storage/prod" and len(prod.transports) == 8
    assert {(t.protocol, len(t.values)) for t in prod.transports} == {("rdma", 27)}
    # the first xprt line: rdma 0 0 1 0 0 5 5 0 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 11 0 0 0
    assert prod.transports[0].values == (0, 0, 1, 0, 0, 5, 5, 0, 5) + (0,) * 14 + (11, 0, 0, 0)
    # the seventh: ... 0 0 1 0 4746 4746 0 72 ...: write chunks 1, rdma request/reply bytes 4746
    assert prod.transports[6].values[11:15] == (1, 0, 4746, 4746)
    assert op(prod, "LOOKUP") == (8, 8, 0, 852, 1600, 16, 1, 17, 1)


def test_ten_mounts_sharing_one_transport():
    ms = parse_mountstats(capture("procfs-pcp-nasbox-10xnfs3"))
    assert [m.mountpoint for m in ms] == [
        "/nasbox/music", "/nasbox/newmovies", "/nasbox/Public", "/nasbox/assets", "/nasbox/movies",
        "/nasbox/downloads", "/nasbox/books", "/nasbox/Web", "/nasbox/scan", "/nasbox/photos"]
    # xprt: tcp 774 1 207 0 0 13563 13560 3 27879 0 3 0 38, the same line in every mount
    assert {m.transports for m in ms} == {(Transport("tcp", (774, 1, 207, 0, 0, 13563, 13560, 3, 27879, 0, 3, 0,
                                                              38)),)}


def test_older_kernel_v4_op_tables_and_an_annotated_age():
    ms = by_mountpoint(capture("procfs-pcp-nfs3-nfs4.0-nfs4.1"))
    assert list(ms) == ["/ifs", "/mnt/nfsv4", "/ifsfoo", "/mnt/nfs41"]
    # `age:	19  (time, in seconds, since the NFS is mounted)`
    assert ms["/mnt/nfsv4"].age == 19
    # NFSv4.0 ends at LAYOUTRETURN (47 ops), v4.1 has 53; events lines without a trailing space
    assert (len(ms["/mnt/nfsv4"].op_names), ms["/mnt/nfsv4"].op_names[-1]) == (47, "LAYOUTRETURN")
    assert len(ms["/mnt/nfs41"].op_names) == 53
    assert ms["/mnt/nfsv4"].events[1] == 168232
    assert op(ms["/ifs"], "READ") == (450, 450, 0, 76688, 12819860, 3, 2638, 2658)


def test_krb5p_and_no_nfs():
    (m,) = parse_mountstats(capture("procfs-pcp-nfs4.2-krb5p"))
    assert (m.mountpoint, m.fstype, len(m.op_names), m.op_names[-1]) == ("/home", "nfs4", 60, "COPY")
    assert parse_mountstats(capture("procfs-pcp-no-nfs")) == []


# -- hand-made variants ------------------------------------------------------------------

EVENTS = " ".join(["1"] * 27) + " "
HEAD = "device srv:/x mounted on /mnt/x with fstype nfs statvers=1.1\n"


def block(head: str = HEAD, *, age: str = "\tage:\t7\n", events: str = f"\tevents:\t{EVENTS}\n",
          bytes_: str = "\tbytes:\t1 2 3 4 5 6 7 8 \n",
          rpc: str = "\tRPC iostats version: 1.0  p/v: 100003/3 (nfs)\n",
          xprt: str = "\txprt:\ttcp 700 1 2 0 5 10 10 0 20 0 1 2 3\n",
          ops: str = "\t        NULL: 1 1 0 40 24 0 0 0\n\t        READ: 2 3 0 200 9000 1 4 6\n",
          extra: str = "") -> str:
    return (head + "\topts:\trw,vers=3\n" + age + "\tcaps:\tcaps=0x3fc7\n\tsec:\tflavor=1\n" + events + bytes_
            + extra + rpc + xprt + "\tper-op statistics\n" + ops + "\n")


OK_CASES = {
    "valid": (block(), [("NULL", "READ")], 8),
    "empty": ("", [], None),
    "blank lines": ("\n\n", [], None),
    "only other mounts": ("device proc mounted on /proc with fstype proc\n"
                          "device /dev/sda1 mounted on / with fstype ext4\n", [], None),
    "other mounts around": ("device proc mounted on /proc with fstype proc\n" + block()
                            + "device tmpfs mounted on /run with fstype tmpfs\n", [("NULL", "READ")], 8),
    "no ops": (block(ops=""), [()], 8),
    "iostats 1.1": (block(rpc="\tRPC iostats version: 1.1  p/v: 100003/3 (nfs)\n",
                          ops="\t        READ: 2 3 0 200 9000 1 4 6 1\n"), [("READ",)], 9),
    "later iostats version": (block(rpc="\tRPC iostats version: 1.2  p/v: 100003/3 (nfs)\n",
                                    ops="\t        READ: 2 3 0 200 9000 1 4 6 1 5\n"), [("READ",)], 10),
    "unnamed procedure": (block(ops="\t          12: 1 1 0 0 0 0 0 0\n"), [("12",)], 8),
    "lines of a later kernel": (block(extra="\tfsc:\t1 2 3 4 5\n\tnewthing:\tx=1\n"), [("NULL", "READ")], 8),
    "no xprt line": (block(xprt=""), [("NULL", "READ")], 8),
    "nfs4": (block(head=HEAD.replace("fstype nfs ", "fstype nfs4 ")), [("NULL", "READ")], 8),
    "no final newline": (block().rstrip("\n"), [("NULL", "READ")], 8),
}


@pytest.mark.parametrize("text, ops, width", list(OK_CASES.values()), ids=list(OK_CASES))
def test_valid_variants(text, ops, width):
    got = parse_mountstats(text)
    assert [m.op_names for m in got] == ops
    assert all(m.op_width == width for m in got)


def test_values_of_the_hand_made_block():
    (m,) = parse_mountstats(block())
    assert (m.device, m.mountpoint, m.age) == ("srv:/x", "/mnt/x", 7)
    assert (m.events, m.bytes) == ((1,) * 27, (1, 2, 3, 4, 5, 6, 7, 8))
    assert m.transports == (Transport("tcp", (700, 1, 2, 0, 5, 10, 10, 0, 20, 0, 1, 2, 3)),)
    assert m.op_stats == (1, 1, 0, 40, 24, 0, 0, 0, 2, 3, 0, 200, 9000, 1, 4, 6)


def test_escaped_mount_point_and_device():
    (m,) = parse_mountstats(block(head="device srv:/my\\040share mounted on /mnt/a\\040b\\134c with fstype nfs "
                                       "statvers=1.1\n"))
    assert (m.device, m.mountpoint) == ("srv:/my share", "/mnt/a b\\c")


def test_negative_idle_time():
    # xs_tcp_print_stats prints idle_time with %ld
    (m,) = parse_mountstats(block(xprt="\txprt:\ttcp 700 1 2 0 -1 10 10 0 20 0\n"))
    assert m.transports[0].values[4] == -1


def test_several_transports_and_short_events():
    xprt = "\txprt:\trdma " + " ".join(["1"] * 20) + "\n"
    (m,) = parse_mountstats(block(xprt=xprt * 3, events="\tevents:\t" + " ".join(["2"] * 25) + " \n"))
    assert [len(t.values) for t in m.transports] == [20, 20, 20] and len(m.events) == 25


BAD = {
    "device line too short": (block(head="device srv:/x mounted on /mnt/x fstype nfs statvers=1.1\n"),
                              "device srv:/x mounted on /mnt/x fstype nfs statvers=1.1"),
    "no age": (block(age=""), HEAD.rstrip("\n")),
    "no events": (block(events=""), HEAD.rstrip("\n")),
    "no RPC line": (block(rpc=""), HEAD.rstrip("\n")),
    "no per-op statistics": (HEAD + "\tage:\t1\n", HEAD.rstrip("\n")),
    "blank line inside": (block(extra="\n"), HEAD.rstrip("\n")),
    "events garbage": (block(events="\tevents:\t1 x 3\n"), "\tevents:\t1 x 3"),
    "bytes empty": (block(bytes_="\tbytes:\t\n"), "\tbytes:\t"),
    "age not a number": (block(age="\tage:\t-5\n"), "\tage:\t-5"),
    "too few tcp numbers": (block(xprt="\txprt:\ttcp 1 2 3\n"), "\txprt:\ttcp 1 2 3"),
    "too few udp numbers": (block(xprt="\txprt:\tudp 1 2 3 4 5 6\n"), "\txprt:\tudp 1 2 3 4 5 6"),
    "xprt without protocol": (block(xprt="\txprt:\n"), "\txprt:"),
    "xprt garbage": (block(xprt="\txprt:\ttcp 1 2 3 4 5 6 7 8 9 1e3\n"), "\txprt:\ttcp 1 2 3 4 5 6 7 8 9 1e3"),
    "xprt lines of two layouts": (block(xprt="\txprt:\ttcp 1 2 3 4 5 6 7 8 9 10\n\txprt:\tudp 1 2 3 4 5 6 7\n"),
                                  "\txprt:\tudp 1 2 3 4 5 6 7"),
    "RPC line cut": (block(rpc="\tRPC iostats version: 1.0\n"), "\tRPC iostats version: 1.0"),
    "RPC program garbage": (block(rpc="\tRPC iostats version: 1.0  p/v: nfs/3 (nfs)\n"),
                            "\tRPC iostats version: 1.0  p/v: nfs/3 (nfs)"),
    "op too few numbers": (block(ops="\t        READ: 2 3 0 200\n"), "\t        READ: 2 3 0 200"),
    "op 9 numbers with iostats 1.0": (block(ops="\t        READ: 1 2 3 4 5 6 7 8 9\n"),
                                      "\t        READ: 1 2 3 4 5 6 7 8 9"),
    "op 8 numbers with iostats 1.1": (block(rpc="\tRPC iostats version: 1.1  p/v: 100003/3 (nfs)\n"),
                                      "\t        NULL: 1 1 0 40 24 0 0 0"),
    "op without colon": (block(ops="\t        READ 2 3 0 200 9000 1 4 6\n"),
                         "\t        READ 2 3 0 200 9000 1 4 6"),
    "op name not a word": (block(ops="\t   RE.AD: 2 3 0 200 9000 1 4 6\n"), "\t   RE.AD: 2 3 0 200 9000 1 4 6"),
    "op garbage number": (block(ops="\t        READ: 2 3 0 200 9000 1 4 x\n"),
                          "\t        READ: 2 3 0 200 9000 1 4 x"),
    "op negative number": (block(ops="\t        READ: 2 3 0 200 9000 1 4 -6\n"),
                           "\t        READ: 2 3 0 200 9000 1 4 -6"),
    "op huge number": (block(ops=f"\t        READ: 2 3 0 200 9000 1 4 {HUGE}\n"),
                       f"\t        READ: 2 3 0 200 9000 1 4 {HUGE}"),
    "op listed twice": (block(ops="\t        READ: 1 1 0 0 0 0 0 0\n\t        read: 1 1 0 0 0 0 0 0\n"),
                        "\t        read: 1 1 0 0 0 0 0 0"),
    "text before the first device line": ("garbage\n" + block(), "garbage"),
}


@pytest.mark.parametrize("text, line", list(BAD.values()), ids=list(BAD))
def test_malformed_block_names_its_line(text, line):
    with raises_naming(line):
        parse_mountstats(text)


def test_on_error_skips_only_the_bad_mount():
    bad = block(head=HEAD.replace("/mnt/x", "/mnt/bad"), ops="\t        READ: x\n")
    errors: list[ParseError] = []
    got = parse_mountstats(block() + bad + block(head=HEAD.replace("/mnt/x", "/mnt/y")), errors.append)
    assert [m.mountpoint for m in got] == ["/mnt/x", "/mnt/y"]
    assert len(errors) == 1 and "READ: x" in str(errors[0])


def test_a_non_nfs_type_with_statvers_is_skipped():
    assert parse_mountstats(block(head=HEAD.replace("fstype nfs ", "fstype nfsd "))) == []


# -- properties --------------------------------------------------------------------------

TOKENS = st.sampled_from([
    "device ", "mounted on ", "with fstype ", "nfs", "nfs4", " statvers=1.1", "\n", "\t", " ", ":",
    "age:", "events:", "bytes:", "RPC iostats version: 1.1  p/v: 100003/3 (nfs)", "xprt:", "tcp", "rdma",
    "udp", "per-op statistics", "READ:", "NULL:", "0", "1", "-1", "18446744073709551616", "\\040", "x",
    "\u2028", "\x85", "\u0661", HUGE,
])
TEXT = st.one_of(st.text(), st.lists(TOKENS, max_size=80).map("".join))


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_any_text_gives_mounts_or_parse_error(text):
    try:
        got = parse_mountstats(text)
    except ParseError:
        pass
    else:
        assert isinstance(got, list) and all(isinstance(m, NfsMount) for m in got)
    errors: list[ParseError] = []
    got = parse_mountstats(text, errors.append)
    assert all(isinstance(e, ParseError) for e in errors)
    assert all(isinstance(m, NfsMount) for m in got)


@st.composite
def damaged(draw) -> str:
    lines = capture("procfs-pcp-el8-4.18.0-105").split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        tokens = lines[i].split(" ")
        j = draw(st.integers(0, len(tokens) - 1))
        tokens[j] = draw(st.sampled_from(["", "x", "-1", "1.5", HUGE, "\t", "\n", "device", ":"]))
        lines[i] = " ".join(tokens)
    return "\n".join(lines)


@settings(max_examples=200, deadline=None)
@given(damaged())
def test_damaged_capture_gives_mounts_or_parse_error(text):
    errors: list[ParseError] = []
    got = parse_mountstats(text, errors.append)
    assert len(got) + len(errors) >= 1
    assert all(isinstance(m, NfsMount) for m in got)


def test_keep_reads_only_the_mounts_asked_for():
    text = block(head=HEAD.replace("/mnt/x", "/mnt/a")) + block(head=HEAD.replace("/mnt/x", "/mnt/b"),
                                                                  ops="\t  READ: garbage\n")
    asked: list[str] = []
    got = parse_mountstats(text, keep=lambda p: asked.append(p) or p == "/mnt/a")
    assert [m.mountpoint for m in got] == ["/mnt/a"] and asked == ["/mnt/a", "/mnt/b"]
