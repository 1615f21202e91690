"""/proc/self/mountstats: the NFS client's statistics, one block per NFS mount.

Writers: fs/nfs/super.c ``nfs_show_stats`` (the device line, ``age:``,
``events:``, ``bytes:``), net/sunrpc/stats.c ``rpc_clnt_show_stats`` (``RPC
iostats version:``, one ``xprt:`` line per transport through each transport's
``print_stats``, then ``per-op statistics`` and one line per procedure).

Every mount has a line ``device <dev> mounted on <dir> with fstype <type>``;
only NFS mounts (nfs, nfs4) add `` statvers=<v>`` and a block of
tab-indented lines ending with a blank line. Other mounts are skipped
unread. Lines of the block this parser does not use (opts, caps, sec, nfsv4,
impl_id, fsc) or does not know (a later kernel's) are skipped.

A malformed NFS block raises :class:`ParseError` naming the line, or with
``on_error`` is reported to it and that mount is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ._common import OnError, ParseError, excerpt, report, uints, unmangle

NFS_TYPES = frozenset(("nfs", "nfs4"))

# include/linux/nfs_iostat.h enum nfs_stat_eventcounters, in order; the last two
# (pnfs) are absent before 2.6.3x, giving 25.
EVENTS = (
    "inoderevalidate", "dentryrevalidate", "datainvalidate", "attrinvalidate", "vfsopen",
    "vfslookup", "vfsaccess", "vfsupdatepage", "vfsreadpage", "vfsreadpages", "vfswritepage",
    "vfswritepages", "vfsgetdents", "vfssetattr", "vfsflush", "vfsfsync", "vfslock", "vfsrelease",
    "congestionwait", "setattrtrunc", "extendwrite", "sillyrename", "shortread", "shortwrite",
    "delay", "pnfs_read", "pnfs_write",
)

# enum nfs_stat_bytecounters: six byte counts, then pages.
BYTES = (
    "normalreadbytes", "normalwritebytes", "directreadbytes", "directwritebytes",
    "serverreadbytes", "serverwritebytes", "readpages", "writepages",
)

# The numbers of an xprt line by protocol, in the kernel's order (xs_tcp_print_stats,
# xs_udp_print_stats, xs_local_print_stats, xprt_rdma_print_stats). statvers 1.1
# (commit 15a45206) adds max_slots, sending_u and pending_u to tcp, udp and local;
# rdma printed 20 numbers at first, 27 on 4.19+ (lengths between were printed too).
_TCP_10 = ("srcport", "bind_count", "connect_count", "connect_time", "idle_time", "sends", "recvs",
           "bad_xids", "req_u", "bklog_u")
_V11 = ("max_slots", "sending_u", "pending_u")
XPRT_FIELDS = {
    "tcp": _TCP_10 + _V11,
    "udp": ("srcport", "bind_count", "sends", "recvs", "bad_xids", "req_u", "bklog_u") + _V11,
    "local": _TCP_10[1:] + _V11,
    "rdma": _TCP_10 + (
        "read_chunk_count", "write_chunk_count", "reply_chunk_count", "total_rdma_request",
        "total_rdma_reply", "pullup_copy_count", "fixup_copy_count", "hardway_register_count",
        "failed_marshal_count", "bad_reply_count", "nomsg_call_count", "mrs_recycled",
        "mrs_orphaned", "mrs_allocated", "local_inv_needed", "empty_sendctx_q",
        "reply_waits_for_send",
    ),
}
# The fewest numbers each protocol has printed (statvers 1.0; rdma's first layout).
XPRT_MIN = {"tcp": 10, "udp": 7, "local": 9, "rdma": 20}

# One per-op line: `\t%12s: ` then these; `RPC iostats version: 1.1` (5.3+ and
# RHEL 8 backports) adds errors.
OP_FIELDS = ("ops", "ntrans", "timeouts", "bytes_sent", "bytes_recv", "queue_ms", "rtt_ms", "execute_ms",
             "errors")
OP_WIDTH = {"1.0": 8, "1.1": 9}


@dataclass(frozen=True, slots=True)
class Transport:
    """One ``xprt:`` line: the protocol and its numbers in the order of ``XPRT_FIELDS[protocol]``
    (an unknown protocol's numbers as printed)."""

    protocol: str
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NfsMount:
    """One NFS mount's block.

    ``op_names`` are the procedures as printed (``READ``; an unnamed one is its
    number); ``op_stats`` holds ``op_width`` numbers per procedure, in that
    order, flat: ``op_stats[i * op_width + k]`` is ``OP_FIELDS[k]`` of op i.
    """

    device: str
    mountpoint: str
    fstype: str
    statvers: str
    age: int
    events: tuple[int, ...]
    bytes: tuple[int, ...]
    iostats_version: str
    program: int
    version: int
    transports: tuple[Transport, ...]
    op_names: tuple[str, ...]
    op_width: int
    op_stats: tuple[int, ...]


def _signed(line: str, fields: list[str]) -> tuple[int, ...]:
    """xprt numbers: unsigned, but idle_time is printed with %ld."""
    if not all((f[1:] if f[:1] == "-" else f).isdigit() and f.isascii() for f in fields):
        raise ParseError(f"mountstats: {excerpt(line)}: expected decimal numbers")
    try:
        return tuple(map(int, fields))
    except ValueError as exc:  # over the str_digits limit
        raise ParseError(f"mountstats: {excerpt(line)}: {exc}") from None


def _values(line: str, f: list[str], least: int) -> tuple[int, ...]:
    if len(f) - 1 < least:
        raise ParseError(f"mountstats: {excerpt(line)}: expected at least {least} values")
    return tuple(uints("mountstats", line, f[1:]))


def _transport(line: str, f: list[str]) -> Transport:
    if len(f) < 2:
        raise ParseError(f"mountstats: {excerpt(line)}: expected a protocol and numbers")
    proto = f[1]
    least = XPRT_MIN.get(proto, 1)
    if len(f) - 2 < least:
        raise ParseError(f"mountstats: {excerpt(line)}: expected at least {least} numbers for {proto}")
    return Transport(proto, _signed(line, f[2:]))


def _table(rest: str, width: Optional[int]) -> tuple[tuple[str, ...], int, tuple[int, ...]]:
    """The per-op table: ``rest`` is the block after ``per-op statistics``; it ends at a blank line.

    Every well-formed table is read in one split: names at every (width + 1)-th
    token, each ending in ``:``, one per line, and digits everywhere else.
    Anything else is read line by line, which names the bad line.
    """
    end = rest.find("\n\n")
    table = (rest[:end] if end >= 0 else rest).rstrip()
    if width is not None:
        tokens = table.split()
        step = width + 1
        names = tokens[0::step]
        del tokens[0::step]
        joined = "".join(names)
        bare = joined[:-1].split(":")
        digits = "".join(tokens)
        if (len(tokens) == len(names) * width and table.count("\n") == len(names) == len(bare)
                and all(n[-1] == ":" for n in names) and "" not in bare
                and joined.isascii() and joined.replace(":", "").replace("_", "").isalnum()
                and digits.isascii() and digits.isdigit()
                and len(set(joined.lower().split(":"))) == len(names) + 1):
            try:
                return tuple(bare), width, tuple(map(int, tokens))
            except ValueError:
                pass  # a number over the str_digits limit: named below
    return _lines(rest.split("\n")[1:], width)


def _lines(lines: list[str], width: Optional[int]) -> tuple[tuple[str, ...], int, tuple[int, ...]]:
    """The per-op table line by line, up to the blank line that ends the block."""
    names: list[str] = []
    seen: set[str] = set()
    numbers: list[int] = []
    for line in lines:
        f = line.split()
        if not f:
            break
        name = f[0][:-1]
        n = len(f) - 1
        if width is None and n >= 9:
            width = n  # a later RPC iostats version: the fields known come first
        if (f[0][-1:] != ":" or not name or not name.isascii() or not name.replace("_", "").isalnum()
                or n != width):
            raise ParseError(f"mountstats: {excerpt(line)}: expected NAME: and {width or 9} values")
        low = name.lower()
        if low in seen:
            raise ParseError(f"mountstats: {excerpt(line)}: {name} listed twice")
        seen.add(low)
        names.append(name)
        numbers += uints("mountstats", line, f[1:])
    return tuple(names), width or OP_WIDTH["1.1"], tuple(numbers)


def _mount(head: str, body: str, keep: Optional[Callable[[str], bool]]) -> Optional[NfsMount]:
    """One block: None when it is not an NFS mount's, or ``keep`` refuses its mount point."""
    h = head.split()
    if len(h) != 9 or h[0] != "device" or h[2:4] != ["mounted", "on"] or h[5:7] != ["with", "fstype"] \
            or not h[8].startswith("statvers="):
        raise ParseError(f"mountstats: {excerpt(head)}: expected 'device DEV mounted on DIR with fstype "
                         "TYPE statvers=V'")
    if h[7] not in NFS_TYPES:
        return None
    mountpoint = unmangle(h[4])
    if keep is not None and not keep(mountpoint):
        return None
    before, found, rest = body.partition("per-op statistics")
    lines = before.split("\n")
    # the block's lines, up to the per-op header on a line of its own
    if not found or lines[-1].strip() or rest.split("\n", 1)[0].strip() \
            or any(not line.strip() for line in lines[:-1]):
        raise ParseError(f"mountstats: {excerpt(head)}: no per-op statistics")
    age: Optional[int] = None
    events = byte_counts = None
    rpc: Optional[tuple[str, int, int]] = None
    transports: list[Transport] = []
    for line in lines[:-1]:
        f = line.split()
        key = f[0]
        if key == "age:":
            # one capture appends "(time, in seconds, since the NFS is mounted)"
            age = _values(line, f[:2], 1)[0]
        elif key == "events:":
            events = _values(line, f, 1)
        elif key == "bytes:":
            byte_counts = _values(line, f, 1)
        elif key == "xprt:":
            t = _transport(line, f)
            if transports and (t.protocol, len(t.values)) != (transports[0].protocol, len(transports[0].values)):
                raise ParseError(f"mountstats: {excerpt(line)}: not the layout of the mount's first xprt line")
            transports.append(t)
        elif key == "RPC":
            # RPC iostats version: 1.1  p/v: 100003/4 (nfs)
            pv = f[5].split("/") if len(f) > 5 else []
            if f[1:3] != ["iostats", "version:"] or f[4:5] != ["p/v:"] or len(pv) != 2:
                raise ParseError(f"mountstats: {excerpt(line)}: expected 'RPC iostats version: V  p/v: P/V'")
            program, version = uints("mountstats", line, pv)
            rpc = (f[3], program, version)
    if age is None or events is None or byte_counts is None or rpc is None:
        missing = [what for what, v in (("age:", age), ("events:", events), ("bytes:", byte_counts),
                                        ("RPC iostats version:", rpc)) if v is None]
        raise ParseError(f"mountstats: {excerpt(head)}: no {', '.join(missing)} line before per-op")
    names, width, stats = _table(rest, OP_WIDTH.get(rpc[0]))
    return NfsMount(
        unmangle(h[1]), mountpoint, h[7], h[8][len("statvers="):], age, events, byte_counts,
        rpc[0], rpc[1], rpc[2], tuple(transports), names, width, stats,
    )


def parse_mountstats(text: str, on_error: OnError = None,
                     keep: Optional[Callable[[str], bool]] = None) -> list[NfsMount]:
    """The NFS mounts of /proc/self/mountstats, in mount order; with ``keep``, only those
    whose mount point it accepts (the others' blocks are not read)."""
    out: list[NfsMount] = []
    blocks = text.split("\ndevice ")
    first = blocks[0]
    if first.startswith("device "):
        blocks[0] = first[len("device "):]
    else:
        if first.strip():
            report(on_error, ParseError(f"mountstats: {excerpt(first.split(chr(10), 1)[0])}: "
                                        "expected a 'device' line"))
        del blocks[0]
    for block in blocks:
        head, _, body = block.partition("\n")
        if " statvers=" not in head:
            continue  # not an NFS mount
        try:
            m = _mount("device " + head, body, keep)
        except ParseError as err:
            report(on_error, err)
            continue
        if m is not None:
            out.append(m)
    return out
