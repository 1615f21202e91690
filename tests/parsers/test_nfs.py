"""parsers.nfs on every shared capture and on hand-made variants.

Expected values come from the format (formats/nfs.md: ``procN <count>
<value 0> ...``, index i named by nfsstat's table) applied by hand to the
capture's text, not from the parser's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_client.parsers import ParseError
from carbon_client.parsers._common import excerpt
from carbon_client.parsers.nfs import (
    ClientRpc,
    FileHandles,
    InputOutput,
    Network,
    NfsClient,
    NfsServer,
    ReadAhead,
    ReplyCache,
    ServerRpc,
    Threads,
    parse_nfs,
    parse_nfsd,
)

FIX = Path(__file__).resolve().parent.parent / "fixtures"
CASES = FIX / "procfs-nfs-cases"

# Op names by index, as nfsstat prints them (formats/nfs.md "Op names").
V2 = ("null getattr setattr root lookup readlink read wrcache write create remove rename link "
      "symlink mkdir rmdir readdir fsstat").split()
V3 = ("null getattr setattr lookup access readlink read write create mkdir symlink mknod remove "
      "rmdir rename link readdir readdirplus fsstat fsinfo pathconf commit").split()
CLIENT_V4 = (
    "null read write commit open open_conf open_noat open_dgrd close setattr fsinfo renew setclntid "
    "confirm lock lockt locku access getattr lookup lookup_root remove rename link symlink create "
    "pathconf statfs readlink readdir server_caps delegreturn getacl setacl fs_locations "
    "rel_lkowner secinfo fsid_present exchange_id create_session destroy_session sequence "
    "get_lease_time reclaim_comp layoutget getdevinfo layoutcommit layoutreturn secinfo_no "
    "test_stateid free_stateid getdevicelist bind_conn_to_ses destroy_clientid seek allocate "
    "deallocate layoutstats clone "
    # kernel continues (include/linux/nfs4.h NFSPROC4_CLNT_*)
    "copy offload_cancel lookupp layouterror copy_notify getxattr setxattr listxattrs removexattr "
    "read_plus"
).split()
SERVER_V4OPS = (
    "op0-unused op1-unused op2-future access close commit create delegpurge delegreturn getattr "
    "getfh link lock lockt locku lookup lookup_root nverify open openattr open_conf open_dgrd "
    "putfh putpubfh putrootfh read readdir readlink remove rename renew restorefh savefh secinfo "
    "setattr setcltid setcltidconf verify write rellockowner bc_ctl bind_conn exchange_id "
    "create_ses destroy_ses free_stateid getdirdeleg getdevinfo getdevlist layoutcommit layoutget "
    "layoutreturn secinfononam sequence set_ssv test_stateid want_deleg destroy_clid reclaim_comp "
    "allocate copy copy_notify deallocate ioadvise layouterror layoutstats offloadcancel "
    "offloadstatus readplus seek write_same "
    # kernel opnums 71..75
    "clone getxattr setxattr listxattrs removexattr"
).split()


def read(path: Path) -> str:
    return path.read_text()


def ops_line(tag: str, values: list[int], count: int | None = None) -> str:
    n = len(values) if count is None else count
    return " ".join([tag, str(n), *map(str, values)])


# -- name tables -----------------------------------------------------------------


def test_name_tables_have_the_documented_lengths_and_no_duplicates():
    assert (len(V2), len(V3), len(CLIENT_V4), len(SERVER_V4OPS)) == (18, 22, 69, 76)
    for names in (V2, V3, CLIENT_V4, SERVER_V4OPS):
        assert len(set(names)) == len(names)


def test_client_v4_44_is_layoutget_and_45_getdevinfo():
    text = "net 0 0 0 0\n" + ops_line("proc4", list(range(69))) + "\n"
    v4 = parse_nfs(text).v4
    assert v4.names[44] == "layoutget" and v4.counts[44] == 44
    assert v4.names[45] == "getdevinfo" and v4.counts[45] == 45


# -- client captures -------------------------------------------------------------


@pytest.mark.parametrize("path", [FIX / "procfs/net/rpc/nfs", CASES / "nfs.good_file"],
                         ids=["procfs-tree", "good_file"])
def test_client_current_kernel(path):
    r = parse_nfs(read(path))
    assert r.net == Network(packets=18628, udp=0, tcp=18628, tcpconn=6)
    assert r.rpc == ClientRpc(calls=4329785, retrans=0, authrefresh=4338291)
    # proc2 18 2 69 0 0 4410 0 0 0 0 0 0 0 0 0 0 0 99 2
    assert r.v2.names == tuple(V2)
    assert r.v2.counts == (2, 69, 0, 0, 4410, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99, 2)
    v2 = r.v2.as_dict()
    assert (v2["null"], v2["getattr"], v2["lookup"], v2["readdir"], v2["fsstat"]) == (2, 69, 4410, 99, 2)
    # proc3 22 1 4084749 29200 94754 32580 186 47747 7981 8639 0 6356 0 6962 0 7958 0 0 241 4 4 2 39
    v3 = r.v3.as_dict()
    assert v3 == {
        "null": 1, "getattr": 4084749, "setattr": 29200, "lookup": 94754, "access": 32580,
        "readlink": 186, "read": 47747, "write": 7981, "create": 8639, "mkdir": 0,
        "symlink": 6356, "mknod": 0, "remove": 6962, "rmdir": 0, "rename": 7958, "link": 0,
        "readdir": 0, "readdirplus": 241, "fsstat": 4, "fsinfo": 4, "pathconf": 2, "commit": 39,
    }
    # proc4 61: 1 at index 0, 12, 13; 2 at index 21; 0 elsewhere. 61 > 59 names of nfs-utils.
    assert len(r.v4.counts) == 61
    assert r.v4.names == tuple(CLIENT_V4[:61])
    v4 = r.v4.as_dict()
    assert (v4["null"], v4["setclntid"], v4["confirm"], v4["remove"]) == (1, 1, 1, 2)
    assert sum(r.v4.counts) == 5
    assert (v4["clone"], v4["copy"], v4["offload_cancel"]) == (0, 0, 0)


def test_client_old_kernel_proc4_of_48():
    r = parse_nfs(read(CASES / "nfs.good_old_kernel_version_file"))
    assert r.net == Network(70, 70, 69, 45)
    assert r.rpc == ClientRpc(1218785755, 374636, 1218815394)
    assert r.v2.as_dict()["null"] == 16 and r.v2.as_dict()["fsstat"] == 82
    v3 = r.v3.as_dict()
    assert (v3["getattr"], v3["lookup"], v3["access"], v3["commit"]) == (
        1061909262, 4077635, 117661341, 23729)
    assert r.v4.counts == (
        98, 51, 54, 83, 85, 23, 24, 1, 28, 73, 68, 83, 12, 84, 39, 68, 59, 58, 88, 29, 74, 69, 96, 21,
        84, 15, 53, 86, 54, 66, 56, 97, 36, 49, 32, 85, 81, 11, 58, 32, 67, 13, 28, 35, 1, 90, 26, 1337,
    )
    assert r.v4.names == tuple(CLIENT_V4[:48])
    v4 = r.v4.as_dict()
    # procfs would call index 44 GetDeviceInfo and 45 LayoutGet; the kernel enum says otherwise.
    assert (v4["layoutget"], v4["getdevinfo"], v4["layoutreturn"]) == (1, 90, 1337)
    assert (v4["null"], v4["open_dgrd"], v4["reclaim_comp"]) == (98, 1, 35)
    assert "secinfo_no" not in v4


@pytest.mark.parametrize("n", [48, 59, 69])
def test_client_proc4_known_lengths_named(n):
    r = parse_nfs(ops_line("proc4", list(range(100, 100 + n))) + "\n")
    assert r.v4.names == tuple(CLIENT_V4[:n])
    assert r.v4.counts[-1] == 99 + n


def test_client_proc4_beyond_known_names_gets_op_n():
    r = parse_nfs(ops_line("proc4", [7] * 71) + "\n")
    assert r.v4.names[68] == "read_plus"
    assert r.v4.names[69:] == ("op69", "op70")
    assert r.v4.as_dict()["op70"] == 7


def test_client_without_proc2_and_with_unknown_lines():
    text = (
        "net 1 2 3 4\n"
        "rpc 5 6 7\n"
        "proc3 22 " + " ".join(str(i) for i in range(22)) + "\n"
        "proc5 3 1 2 3\n"          # a later NFS version
        "wdeleg_getattr 4\n"       # a server tag means nothing here
        "xprt tcp 1 2 3 garbage\n"
        "\n"
    )
    r = parse_nfs(text)
    assert r == NfsClient(
        net=Network(1, 2, 3, 4), rpc=ClientRpc(5, 6, 7), v2=None, v3=r.v3, v4=None,
    )
    assert r.v3.as_dict()["commit"] == 21 and r.v3.as_dict()["readdirplus"] == 17


# -- server captures -------------------------------------------------------------

OLD_HEAD = dict(
    rc=ReplyCache(hits=0, misses=25020854, nocache=19157796),
    fh=FileHandles(276, 0, 0, 0, 0),
    io=InputOutput(read_bytes=899844043, write_bytes=2470085989),
    th=Threads(1024, 0, (0.0,) * 10),
    ra=ReadAhead(2048, (4250593, 118232, 55926, 31504, 20253, 13815, 9875, 7028, 5546, 3991), 171551),
    net=Network(44179842, 1, 44179026, 3092),
    rpc=ServerRpc(44177753, 0, 0, 0, 0),
)


@pytest.mark.parametrize("n, wdeleg", [(39, 765432), (40, 9)], ids=["39", "40"])
def test_server_proc4ops_39_and_40(n, wdeleg):
    r = parse_nfsd(read(CASES / f"nfsd.good_file_proc4ops_{n}"))
    for attr, want in OLD_HEAD.items():
        assert getattr(r, attr) == want, attr
    assert r.v2.names == tuple(V2) and r.v2.counts == (0,) * 18
    # proc3 22 747 7259760 1383711 1570520 3464939 8436 4688207 21668847 1173194 6457 2127 172
    #          213538 1253 556401 14950 1101 56245 90790 742 367 1989658
    v3 = r.v3.as_dict()
    assert (v3["null"], v3["getattr"], v3["read"], v3["write"], v3["commit"]) == (
        747, 7259760, 4688207, 21668847, 1989658)
    assert (v3["readdirplus"], v3["fsstat"], v3["fsinfo"], v3["pathconf"]) == (56245, 90790, 742, 367)
    assert r.v4.as_dict() == {"null": 0, "compound": 0}
    assert r.v4ops.names == tuple(SERVER_V4OPS[:n])
    assert r.wdeleg_getattr == wdeleg
    if n == 39:
        # all zero but the last: opnum 38 (WRITE) = 39
        assert r.v4ops.as_dict()["write"] == 39 and sum(r.v4ops.counts) == 39
        assert "rellockowner" not in r.v4ops.as_dict()
    else:
        assert r.v4ops.names[-1] == "rellockowner" and sum(r.v4ops.counts) == 0


def test_server_proc4ops_59():
    r = parse_nfsd(read(CASES / "nfsd.good_file_proc4ops_59"))
    assert r.rc == ReplyCache(0, 268, 742119)
    assert r.io == InputOutput(2476981939, 0)
    assert r.th.threads == 8
    assert r.ra == ReadAhead(32, (30104, 0, 0, 0, 0, 0, 0, 0, 0, 0), 71174)
    assert r.net == Network(742701, 314, 742393, 10103960)
    assert r.rpc == ServerRpc(calls=742406, badcalls=310, badfmt=310, badauth=0, badclnt=0)
    v3 = r.v3.as_dict()
    # proc3 22 105 71158 0 175642 184711 17103 101277 0 0 0 0 0 0 0 0 0 0 8916 102 202 0 0
    assert {k: v for k, v in v3.items() if v} == {
        "null": 105, "getattr": 71158, "lookup": 175642, "access": 184711, "readlink": 17103,
        "read": 101277, "readdirplus": 8916, "fsstat": 102, "fsinfo": 202,
    }
    assert r.v4.as_dict() == {"null": 101, "compound": 182991}
    assert r.v4ops.names == tuple(SERVER_V4OPS[:59])
    ops = r.v4ops.as_dict()
    want = {
        "access": 18112, "close": 8341, "delegreturn": 3239, "getattr": 71595, "getfh": 11834,
        "lookup": 107097, "open": 8344, "open_conf": 5100, "putfh": 181968, "putrootfh": 235,
        "read": 5735, "readdir": 4406, "renew": 652, "restorefh": 8342, "savefh": 8344,
        "setcltid": 134, "setcltidconf": 134,
    }
    assert {k: v for k, v in ops.items() if v} == want
    assert r.v4ops.names[-1] == "reclaim_comp"
    assert r.wdeleg_getattr == 10


@pytest.mark.parametrize("path, wdeleg", [
    (FIX / "procfs/net/rpc/nfsd", None),
    (CASES / "nfsd.good_file_proc4ops_72", 16),
], ids=["procfs-tree", "72"])
def test_server_proc4ops_72(path, wdeleg):
    r = parse_nfsd(read(path))
    assert r.rc == ReplyCache(0, 6, 18622)
    assert r.fh == FileHandles(0, 0, 0, 0, 0)
    assert r.io == InputOutput(157286400, 0)
    assert r.th == Threads(8, 0, (0.0,) * 10)
    assert r.net == Network(18628, 0, 18628, 6)
    assert r.rpc == ServerRpc(18628, 0, 0, 0, 0)
    assert r.v2.counts == (2, 69, 0, 0, 4410, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99, 2)
    # proc3 22 2 112 0 2719 111 0 0 0 0 0 0 0 0 0 0 0 27 216 0 2 1 0
    v3 = r.v3.as_dict()
    assert {k: v for k, v in v3.items() if v} == {
        "null": 2, "getattr": 112, "lookup": 2719, "access": 111, "readdir": 27,
        "readdirplus": 216, "fsinfo": 2, "pathconf": 1,
    }
    assert r.v4.as_dict() == {"null": 2, "compound": 10853}
    assert r.v4ops.names == tuple(SERVER_V4OPS[:72])
    ops = r.v4ops.as_dict()
    assert {k: v for k, v in ops.items() if v} == {
        "access": 1098, "close": 2, "getattr": 8179, "getfh": 5896, "lookup": 5900, "open": 2,
        "open_conf": 2, "putfh": 9609, "putrootfh": 2, "read": 150, "readdir": 1272,
        "renew": 1236, "setcltid": 3, "setcltidconf": 3,
    }
    assert r.v4ops.names[70:] == ("write_same", "clone")
    assert r.wdeleg_getattr == wdeleg


def test_server_proc4ops_76_and_beyond():
    head = "rc 1 2 3\nproc4 2 4 5\n"
    r = parse_nfsd(head + ops_line("proc4ops", list(range(76))) + "\n")
    ops = r.v4ops.as_dict()
    assert (ops["clone"], ops["getxattr"], ops["setxattr"], ops["listxattrs"], ops["removexattr"]) == (
        71, 72, 73, 74, 75)
    assert ops["write_same"] == 70 and ops["putfh"] == 22
    r = parse_nfsd(head + ops_line("proc4ops", list(range(78))) + "\n")
    assert r.v4ops.names[75:] == ("removexattr", "op76", "op77")
    assert r.v4ops.as_dict()["op77"] == 77


def test_server_current_kernel_without_proc2_and_ra():
    # 6.x: no v2 in nfsd by default, and ra gone on some builds.
    text = (
        "rc 0 10 20\nfh 3 0 0 0 0\nio 4096 8192\n"
        "th 16 0 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000\n"
        "net 5 0 5 1\nrpc 5 0 0 0 0\n"
        + ops_line("proc3", [1] * 22) + "\nproc4 2 1 4\n"
        + ops_line("proc4ops", [0] * 76) + "\nwdeleg_getattr 0\n"
        "future_line 1 2 3\n"
    )
    r = parse_nfsd(text)
    assert r.v2 is None and r.ra is None
    assert r.th == Threads(16, 0, (0.0,) * 10)
    assert r.fh.stale == 3 and r.io == InputOutput(4096, 8192)
    assert len(r.v4ops.counts) == 76 and r.wdeleg_getattr == 0


def test_th_histogram_floats():
    text = "th 4 7 1.250 0.000 2.500 0 0.001 0 0 0 0 12.000\n"
    r = parse_nfsd(text)
    assert r.th == Threads(4, 7, (1.25, 0.0, 2.5, 0.0, 0.001, 0.0, 0.0, 0.0, 0.0, 12.0))


# -- malformed input ---------------------------------------------------------------

BAD_CLIENT = [
    ("count-more-than-values", "proc3 22 1 2 3"),
    ("count-less-than-values", "proc2 2 1 2 3"),
    ("count-not-a-number", "proc3 x 1 2"),
    ("count-only-missing", "proc3"),
    ("count-with-leading-zero", "proc2 03 1 2 3"),
    ("net-too-few", "net 1 2 3"),
    ("net-too-many", "net 1 2 3 4 5"),
    ("rpc-server-shape", "rpc 1 2 3 4 5"),
    ("negative", "rpc 1 -2 3"),
    ("garbage-value", "net 1 2 x 4"),
    ("float-value", "proc2 2 1 2.5"),
    ("unicode-digit", "net 1 2 3 \u0664"),
    ("underscore-digit", "net 1 2 3 1_000"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_CLIENT], ids=[b[0] for b in BAD_CLIENT])
def test_client_malformed_known_line_raises_naming_it(line):
    with pytest.raises(ParseError) as exc:
        parse_nfs(f"net 1 2 3 4\n{line}\n" if not line.startswith("net") else f"{line}\nrpc 1 2 3\n")
    assert excerpt(line) in str(exc.value)


BAD_SERVER = [
    ("fh-4-values", "fh 0 0 0 0"),
    ("rc-2-values", "rc 1 2"),
    ("io-garbage", "io 1 abc"),
    ("th-short", "th 8 0"),
    ("th-nan", "th 8 0 nan 0 0 0 0 0 0 0 0 0"),
    ("th-exponent", "th 8 0 1e3 0 0 0 0 0 0 0 0 0"),
    ("th-two-dots", "th 8 0 1..0 0 0 0 0 0 0 0 0 0"),
    ("th-float-threads", "th 8.5 0 0 0 0 0 0 0 0 0 0 0"),
    ("ra-short", "ra 0 0 0"),
    ("rpc-client-shape", "rpc 1 2 3"),
    ("proc4ops-mismatch", "proc4ops 40 0 0 0"),
    ("wdeleg-two-values", "wdeleg_getattr 1 2"),
    ("wdeleg-empty", "wdeleg_getattr"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_SERVER], ids=[b[0] for b in BAD_SERVER])
def test_server_malformed_known_line_raises_naming_it(line):
    with pytest.raises(ParseError) as exc:
        parse_nfsd(f"rc 1 2 3\n{line}\n")
    assert excerpt(line) in str(exc.value)


def test_count_mismatch_message_says_both():
    with pytest.raises(ParseError, match=r"count '22' but 3 values"):
        parse_nfs("proc3 22 1 2 3\n")


def test_on_error_costs_only_the_bad_line():
    good = read(FIX / "procfs/net/rpc/nfsd").splitlines()
    bad_v3 = "proc3 22 2 112 0"
    text = "\n".join(bad_v3 if ln.startswith("proc3 ") else ln for ln in good) + "\nio 1\n"
    errors: list[ParseError] = []
    r = parse_nfsd(text, errors.append)
    assert r.v3 is None
    assert [excerpt(bad_v3) in str(e) for e in errors] == [True, False]
    assert "'io 1'" in str(errors[1])
    # the first io line survives the duplicate
    assert r.io == InputOutput(157286400, 0)
    assert r.v4.as_dict() == {"null": 2, "compound": 10853}
    assert r.v4ops.as_dict()["putfh"] == 9609
    assert r.th.threads == 8


def test_duplicate_line_is_an_error():
    with pytest.raises(ParseError, match="second 'net' line"):
        parse_nfs("net 1 2 3 4\nnet 5 6 7 8\n")


def test_client_with_every_known_line_bad_and_on_error_is_empty():
    errors: list = []
    assert parse_nfs("net x\nrpc 1\n", errors.append) == NfsClient()
    assert len(errors) == 2


@pytest.mark.parametrize("text", ["", "\n\n", "garbage\n", "cpu 1 2 3\nintr 4\n"],
                         ids=["empty", "blank", "garbage", "other-file"])
def test_no_known_line_is_an_error(text):
    with pytest.raises(ParseError, match="^nfs: no net, rpc"):
        parse_nfs(text)
    with pytest.raises(ParseError, match="^nfsd: no rc"):
        parse_nfsd(text, on_error=lambda e: None)


def test_client_parser_on_server_file_fails_on_rpc():
    # The client and server rpc lines differ in length: a swapped path shows.
    with pytest.raises(ParseError, match="rpc 18628 0 0 0 0"):
        parse_nfs(read(FIX / "procfs/net/rpc/nfsd"))


def test_records_are_immutable():
    r = parse_nfs(read(CASES / "nfs.good_file"))
    with pytest.raises(AttributeError):
        r.net = None  # type: ignore[misc]
    s = parse_nfsd(read(CASES / "nfsd.good_file_proc4ops_59"))
    assert isinstance(s, NfsServer)
    with pytest.raises(AttributeError):
        s.v4ops = None  # type: ignore[misc]


# -- properties -----------------------------------------------------------------------

TAGS = ["net", "rpc", "proc2", "proc3", "proc4", "proc4ops", "rc", "fh", "io", "th", "ra",
        "wdeleg_getattr", "proc9", "x"]
token = st.one_of(
    st.integers(min_value=0, max_value=2**64).map(str),
    st.sampled_from(["0.000", "-1", "1.5", "", "nan", "\u0663", "1_0", "9" * 5000, "+3"]),
    st.text(max_size=4),
)
line = st.builds(lambda t, v: " ".join([t, *v]), st.sampled_from(TAGS), st.lists(token, max_size=80))
structured = st.lists(line, max_size=14).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), structured))
def test_any_text_gives_a_record_or_parse_error(text):
    for parse, kind in ((parse_nfs, NfsClient), (parse_nfsd, NfsServer)):
        try:
            r = parse(text)
        except ParseError:
            pass
        else:
            assert isinstance(r, kind)
        errors: list = []
        try:
            r = parse(text, errors.append)
        except ParseError:
            continue
        assert isinstance(r, kind)
        assert all(isinstance(e, ParseError) for e in errors)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64), max_size=90))
def test_any_count_of_ops_is_kept_in_order(values):
    r = parse_nfsd(ops_line("proc4ops", values) + "\n")
    assert r.v4ops.counts == tuple(values)
    assert len(r.v4ops.names) == len(values)
    assert r.v4ops.names[:76] == tuple(SERVER_V4OPS[: len(values)])
    assert r.v4ops.names[76:] == tuple(f"op{i}" for i in range(76, len(values)))
