"""/proc/net/rpc/nfs (NFS client) and /proc/net/rpc/nfsd (NFS server).

Writers: net/sunrpc/stats.c ``rpc_proc_show`` (client), ``svc_seq_show``
(server net/rpc/procN lines) and fs/nfsd/stats.c ``nfsd_show`` (server
rc/fh/io/th/ra, proc4ops, wdeleg_getattr). Every line is a tag followed by
space-separated unsigned decimals; ``th`` also carries ``sec.msec`` floats.

Per-operation lines are ``procN <count> <value 0> ... <value count-1>``; the
count must equal the number of values. Op names are nfsstat's (nfs-utils
utils/nfsstat/nfsstat.c), lower case, in index order; indexes beyond the names
known here are ``op<N>``. Lines with an unknown tag (a later kernel's) are
skipped; a malformed known line raises :class:`ParseError`, or with
``on_error`` is reported to it and skipped so the other lines survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isfinite
from typing import Callable, NamedTuple, Optional

from ._common import excerpt, OnError, ParseError, report, uints

# -- op names -----------------------------------------------------------------

# nfs-utils nfsv2name.
NFSV2_NAMES = (
    "null", "getattr", "setattr", "root", "lookup", "readlink", "read", "wrcache", "write",
    "create", "remove", "rename", "link", "symlink", "mkdir", "rmdir", "readdir", "fsstat",
)

# nfs-utils nfsv3name.
NFSV3_NAMES = (
    "null", "getattr", "setattr", "lookup", "access", "readlink", "read", "write", "create",
    "mkdir", "symlink", "mknod", "remove", "rmdir", "rename", "link", "readdir", "readdirplus",
    "fsstat", "fsinfo", "pathconf", "commit",
)

# Client proc4 index = include/linux/nfs4.h enum NFSPROC4_CLNT_*. The first 59
# are nfs-utils nfscltproc4name (44 is layoutget and 45 getdevinfo, as in the
# kernel enum; prometheus/procfs ClientV4Stats has those two swapped). 48 on
# old kernels, 59 up to CLONE; the kernel goes on with COPY .. READ_PLUS (69),
# which nfs-utils does not name: the names below follow the enum's spelling.
CLIENT_V4_NAMES = (
    "null", "read", "write", "commit", "open", "open_conf", "open_noat", "open_dgrd", "close",
    "setattr", "fsinfo", "renew", "setclntid", "confirm", "lock", "lockt", "locku", "access",
    "getattr", "lookup", "lookup_root", "remove", "rename", "link", "symlink", "create",
    "pathconf", "statfs", "readlink", "readdir", "server_caps", "delegreturn", "getacl",
    "setacl", "fs_locations", "rel_lkowner", "secinfo", "fsid_present", "exchange_id",
    "create_session", "destroy_session", "sequence", "get_lease_time", "reclaim_comp",
    "layoutget", "getdevinfo", "layoutcommit", "layoutreturn", "secinfo_no", "test_stateid",
    "free_stateid", "getdevicelist", "bind_conn_to_ses", "destroy_clientid", "seek",
    "allocate", "deallocate", "layoutstats", "clone",
    # 59.. : kernel only
    "copy", "offload_cancel", "lookupp", "layouterror", "copy_notify", "getxattr", "setxattr",
    "listxattrs", "removexattr", "read_plus",
)

# nfs-utils nfssrvproc4name: the server's proc4 line (2 procedures).
SERVER_V4_NAMES = ("null", "compound")

# Server proc4ops index = NFSv4 opnum (enum nfs_opnum4): nfs-utils
# nfssrvproc4opname for 0..70 (opnums 0-2 do not exist and stay 0; the kernel
# prints them "for maintaining uniformity"). Counts seen: 40 (2.6, ..
# RELEASE_LOCKOWNER=39), 59 (4.1, ..RECLAIM_COMPLETE=58), 72 (4.2, ..CLONE=71),
# 76 (5.9+ xattr ops, ..REMOVEXATTR=75); nfsstat stops at 70.
SERVER_V4OP_NAMES = (
    "op0-unused", "op1-unused", "op2-future", "access", "close", "commit", "create",
    "delegpurge", "delegreturn", "getattr", "getfh", "link", "lock", "lockt", "locku", "lookup",
    "lookup_root", "nverify", "open", "openattr", "open_conf", "open_dgrd", "putfh", "putpubfh",
    "putrootfh", "read", "readdir", "readlink", "remove", "rename", "renew", "restorefh",
    "savefh", "secinfo", "setattr", "setcltid", "setcltidconf", "verify", "write",
    "rellockowner", "bc_ctl", "bind_conn", "exchange_id", "create_ses", "destroy_ses",
    "free_stateid", "getdirdeleg", "getdevinfo", "getdevlist", "layoutcommit", "layoutget",
    "layoutreturn", "secinfononam", "sequence", "set_ssv", "test_stateid", "want_deleg",
    "destroy_clid", "reclaim_comp", "allocate", "copy", "copy_notify", "deallocate",
    "ioadvise", "layouterror", "layoutstats", "offloadcancel", "offloadstatus", "readplus",
    "seek", "write_same",
    # 71.. : kernel only
    "clone", "getxattr", "setxattr", "listxattrs", "removexattr",
)


def op_names(table: tuple[str, ...], count: int) -> tuple[str, ...]:
    """The names of ``count`` ops: ``table``'s, then ``op<N>`` for index N beyond it."""
    if count <= len(table):
        return table[:count]
    return table + tuple(f"op{i}" for i in range(len(table), count))


# -- records ------------------------------------------------------------------


class OpCounts(NamedTuple):
    """One ``procN``/``proc4ops`` line: per-operation call counts, in index order."""

    names: tuple[str, ...]
    counts: tuple[int, ...]

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self.names, self.counts))


class Network(NamedTuple):
    """``net``: packets (netcnt), udp (netudpcnt), tcp (nettcpcnt), tcpconn (nettcpconn)."""

    packets: int
    udp: int
    tcp: int
    tcpconn: int


class ClientRpc(NamedTuple):
    """Client ``rpc``: calls (rpccnt), retrans (rpcretrans), authrefresh (rpcauthrefresh)."""

    calls: int
    retrans: int
    authrefresh: int


class ServerRpc(NamedTuple):
    """Server ``rpc``: calls (rpccnt), badcalls (= badfmt + badauth + badclnt), then those three."""

    calls: int
    badcalls: int
    badfmt: int
    badauth: int
    badclnt: int


class ReplyCache(NamedTuple):
    """``rc``: reply cache hits, misses, and calls not cached (nocache)."""

    hits: int
    misses: int
    nocache: int


class FileHandles(NamedTuple):
    """``fh``: stale file handles; the other four are 0 since 2.6.x dropped the fh cache."""

    stale: int
    total_lookups: int
    anon_lookups: int
    dir_not_in_cache: int
    nodir_not_in_cache: int


class InputOutput(NamedTuple):
    """``io``: bytes read from and written to exported filesystems."""

    read_bytes: int
    write_bytes: int


class Threads(NamedTuple):
    """``th``: nfsd threads now; fullcnt and the 10-bucket usage histogram (seconds) are 0 since 2.6.30."""

    threads: int
    fullcnt: int
    histogram: tuple[float, ...]


class ReadAhead(NamedTuple):
    """``ra``: read-ahead cache size, 10 depth buckets, not found (all 0 since the cache went, ~5.4)."""

    cache_size: int
    histogram: tuple[int, ...]
    not_found: int


@dataclass(frozen=True, slots=True)
class NfsClient:
    """/proc/net/rpc/nfs. A line the kernel did not print (no v2 client) is None."""

    net: Optional[Network] = None
    rpc: Optional[ClientRpc] = None
    v2: Optional[OpCounts] = None
    v3: Optional[OpCounts] = None
    v4: Optional[OpCounts] = None


@dataclass(frozen=True, slots=True)
class NfsServer:
    """/proc/net/rpc/nfsd. A line the kernel did not print (no v2, no ra, no wdeleg_getattr) is None."""

    rc: Optional[ReplyCache] = None
    fh: Optional[FileHandles] = None
    io: Optional[InputOutput] = None
    th: Optional[Threads] = None
    ra: Optional[ReadAhead] = None
    net: Optional[Network] = None
    rpc: Optional[ServerRpc] = None
    v2: Optional[OpCounts] = None
    v3: Optional[OpCounts] = None
    v4: Optional[OpCounts] = None
    v4ops: Optional[OpCounts] = None
    wdeleg_getattr: Optional[int] = None


# -- line parsers: (source, line, fields) -> value ----------------------------

_Line = Callable[[str, str, list], object]


def _fixed(cls: type) -> _Line:
    want = len(cls._fields) + 1  # type: ignore[attr-defined]

    def parse(src: str, line: str, f: list) -> object:
        if len(f) != want:
            raise ParseError(f"{src}: {excerpt(line)}: expected {want - 1} values, got {len(f) - 1}")
        return cls._make(uints(src, line, f[1:]))  # type: ignore[attr-defined]

    return parse


def _ops(table: tuple[str, ...]) -> _Line:
    # One names tuple per count, shared by every record of that layout.
    names_of: dict[int, tuple[str, ...]] = {}

    def parse(src: str, line: str, f: list) -> object:
        n = len(f) - 2
        # The count is the decimal of the number of values, or the line is cut or padded.
        if n < 0 or f[1] != str(n):
            if n < 0:
                raise ParseError(f"{src}: {excerpt(line)}: expected a count and the values")
            raise ParseError(f"{src}: {excerpt(line)}: count {excerpt(f[1])} but {n} values")
        counts = tuple(uints(src, line, f[2:])) if n else ()
        names = names_of.get(n)
        if names is None:
            if len(names_of) >= 16:
                names_of.clear()
            names = names_of[n] = op_names(table, n)
        return OpCounts(names, counts)

    return parse


def _th(src: str, line: str, f: list) -> Threads:
    # th <threads> <fullcnt> <10 x sec.msec>: the same 12 values from 2.6 to now.
    if len(f) != 13:
        raise ParseError(f"{src}: {excerpt(line)}: expected threads, fullcnt and 10 histogram values")
    threads, fullcnt = uints(src, line, f[1:3])
    h = f[3:]
    joined = "".join(h)
    try:
        if not (joined.isascii() and joined.replace(".", "").isdigit()):
            raise ValueError
        hist = tuple(map(float, h))  # "1..2" raises; "9" * 400 is inf
        if not all(map(isfinite, hist)):
            raise ValueError
    except ValueError:
        raise ParseError(f"{src}: {excerpt(line)}: expected sec.msec histogram values") from None
    return Threads(threads, fullcnt, hist)


def _ra(src: str, line: str, f: list) -> ReadAhead:
    if len(f) != 13:
        raise ParseError(f"{src}: {excerpt(line)}: expected cache size, 10 depth buckets and not found")
    v = uints(src, line, f[1:])
    return ReadAhead(v[0], tuple(v[1:11]), v[11])


def _single(src: str, line: str, f: list) -> int:
    if len(f) != 2:
        raise ParseError(f"{src}: {excerpt(line)}: expected one value")
    return uints(src, line, f[1:])[0]


_CLIENT: dict[str, tuple[str, _Line]] = {
    "net": ("net", _fixed(Network)),
    "rpc": ("rpc", _fixed(ClientRpc)),
    "proc2": ("v2", _ops(NFSV2_NAMES)),
    "proc3": ("v3", _ops(NFSV3_NAMES)),
    "proc4": ("v4", _ops(CLIENT_V4_NAMES)),
}

_SERVER: dict[str, tuple[str, _Line]] = {
    "rc": ("rc", _fixed(ReplyCache)),
    "fh": ("fh", _fixed(FileHandles)),
    "io": ("io", _fixed(InputOutput)),
    "th": ("th", _th),
    "ra": ("ra", _ra),
    "net": ("net", _fixed(Network)),
    "rpc": ("rpc", _fixed(ServerRpc)),
    "proc2": ("v2", _ops(NFSV2_NAMES)),
    "proc3": ("v3", _ops(NFSV3_NAMES)),
    "proc4": ("v4", _ops(SERVER_V4_NAMES)),
    "proc4ops": ("v4ops", _ops(SERVER_V4OP_NAMES)),
    "wdeleg_getattr": ("wdeleg_getattr", _single),  # 6.x+
}


def _scan(src: str, text: str, known: dict, on_error: OnError) -> dict[str, object]:
    found: dict[str, object] = {}
    seen_known = False
    get = known.get
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        spec = get(f[0])
        if spec is None:
            continue  # a tag from a later kernel
        seen_known = True
        attr, parse = spec
        try:
            value = parse(src, line, f)
            if attr in found:
                raise ParseError(f"{src}: {excerpt(line)}: second {excerpt(f[0])} line")
        except ParseError as err:
            report(on_error, err)
            continue
        found[attr] = value
    if not seen_known:
        raise ParseError(f"{src}: no {', '.join(known)} line")
    return found


def parse_nfs(text: str, on_error: OnError = None) -> NfsClient:
    """/proc/net/rpc/nfs: net, rpc and one procN line per NFS version the client has."""
    return NfsClient(**_scan("nfs", text, _CLIENT, on_error))  # type: ignore[arg-type]


def parse_nfsd(text: str, on_error: OnError = None) -> NfsServer:
    """/proc/net/rpc/nfsd: nfsd's own lines, then the RPC server's, then proc4ops."""
    return NfsServer(**_scan("nfsd", text, _SERVER, on_error))  # type: ignore[arg-type]
