"""NFS client (/proc/net/rpc/nfs) and server (/proc/net/rpc/nfsd) call counts.

Each line of the file is one instance with its own schema (`net`, `rpc`,
`rc`...; the server's thread count has none), and each NFS version is one
instance whose keys are the operations the kernel counts (`v3.read`,
`v4ops.putfh`), named as nfsstat names them. A kernel that counts more
operations than the names known (`op<N>`) or fewer changes the instance's
schema; the schema object stays the same while the layout does, so the rate
engine keeps its history.

Most of these counters are 32-bit in the kernel and wrap; the rate engine
treats any decrease as a reset, so the instance has no rate for that interval.
"""

from __future__ import annotations

import logging
from typing import Callable, ClassVar, Optional

from carbon_client.logonce import BadLines
from carbon_client.metrics import COUNTER, Collector, Raw, Schema, Unavailable, counter, gauge
from carbon_client.parsers.nfs import (
    CLIENT_V4_NAMES,
    NFSV2_NAMES,
    NFSV3_NAMES,
    SERVER_V4_NAMES,
    SERVER_V4OP_NAMES,
    OpCounts,
    parse_nfs,
    parse_nfsd,
)

log = logging.getLogger("carbon_client.collectors")


def _schema(fields: tuple[str, ...], metrics: tuple) -> Schema:
    return Schema(tuple(fields), frozenset(m.source for m in metrics if m.kind == COUNTER), metrics)


_NET = _schema(
    ("packets", "udp", "tcp", "tcpconn"),
    (
        counter("packets", "1/s", "RPC packets (netcnt)"),
        counter("udp", "1/s", "RPC packets over UDP"),
        counter("tcp", "1/s", "RPC packets over TCP"),
        counter("tcpconn", "1/s", "TCP connections made (client) or accepted (server)"),
    ),
)


class _NfsBase(Collector):
    """Shared by the client and server groups: per-instance schemas, per-op schemas cached."""

    # Instances with one key per operation: instance -> (help prefix, names known).
    _op_instances: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {}
    # Instances with a fixed layout.
    _fixed: ClassVar[dict[Optional[str], Schema]] = {}
    # The record's attribute for an instance, where it is not the instance's name.
    _attribute: ClassVar[dict[Optional[str], str]] = {}
    _parse: ClassVar[Callable]

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self._errors = BadLines(log, self.source_path, self)
        self._current: dict[Optional[str], Schema] = dict(self._fixed)
        self._op_schemas: dict[tuple[str, int], Schema] = {}

    def schema(self, instance: Optional[str]) -> Schema:
        return self._current[instance]

    @classmethod
    def _op_schema(cls, instance: str, names: tuple[str, ...]) -> Schema:
        label = cls._op_instances[instance][0]
        return _schema(names, tuple(counter(n, "1/s", f"{label} {n}") for n in names))

    @classmethod
    def reference(cls) -> dict[Optional[str], Schema]:
        """Every instance's schema, per-op ones with all the names known (for docs)."""
        out = dict(cls._fixed)
        for inst, (_, names) in cls._op_instances.items():
            out[inst] = cls._op_schema(inst, names)
        return out

    def _text(self) -> str:
        try:
            return self.source.read_proc(self.source_path)
        except FileNotFoundError:
            # nfs/nfsd module unloaded since the probe
            raise Unavailable(f"{self.source.proc_path(self.source_path)} does not exist") from None

    def read(self) -> Raw:
        rec = type(self)._parse(self._text(), self._errors)
        self._errors.end()
        out: dict = {}
        for inst in self._fixed:  # a line the kernel did not print is not sent
            value = getattr(rec, self._attribute.get(inst, inst))
            if value is not None:
                out[inst] = value
        for inst in self._op_instances:
            self._ops(out, inst, getattr(rec, inst))
        return out

    def _ops(self, out: dict, instance: str, ops: Optional[OpCounts]) -> None:
        """Add one per-operation instance; none when the kernel did not print the line."""
        if ops is None or not ops.counts:
            return
        # The names depend only on the count: one schema per (instance, count).
        key = (instance, len(ops.counts))
        s = self._op_schemas.get(key)
        if s is None:
            s = self._op_schemas[key] = self._op_schema(instance, ops.names)
        self._current[instance] = s
        out[instance] = ops.counts


class Nfs(_NfsBase):
    name = group = "nfs"
    description = (
        "NFS client RPC traffic and calls per operation (/proc/net/rpc/nfs): `net` "
        "packets, `rpc` calls, retransmissions and credential refreshes, and `v2`, "
        "`v3`, `v4` calls per procedure, named as `nfsstat` names them. A version "
        "the kernel does not count (no v2 client) is not sent."
    )
    source_path = "net/rpc/nfs"
    _op_instances = {
        "v2": ("NFSv2 calls:", NFSV2_NAMES),
        "v3": ("NFSv3 calls:", NFSV3_NAMES),
        "v4": ("NFSv4 calls:", CLIENT_V4_NAMES),
    }
    _fixed = {
        "net": _NET,
        "rpc": _schema(
            ("calls", "retrans", "authrefresh"),
            (
                counter("calls", "1/s", "RPC calls sent"),
                counter("retrans", "1/s", "RPC calls retransmitted"),
                counter("authrefresh", "1/s", "credential refreshes"),
            ),
        ),
    }

    _parse = staticmethod(parse_nfs)


class Nfsd(_NfsBase):
    name = group = "nfsd"
    description = (
        "NFS server (/proc/net/rpc/nfsd): reply cache, stale file handles, bytes read and "
        "written, nfsd threads (`threads`, a gauge), RPC packets and calls, bad calls, "
        "`v2` and `v3` calls per procedure, `v4` null and compound calls, and "
        "`v4ops` operations (inside compounds) per NFSv4 opnum, named as `nfsstat` "
        "names them; opnums beyond nfsstat's list are named after the kernel's enum, and "
        "any later one `op<N>`."
    )
    source_path = "net/rpc/nfsd"
    _op_instances = {
        "v2": ("NFSv2 calls:", NFSV2_NAMES),
        "v3": ("NFSv3 calls:", NFSV3_NAMES),
        "v4": ("NFSv4 calls:", SERVER_V4_NAMES),
        "v4ops": ("NFSv4 operations in compounds:", SERVER_V4OP_NAMES),
    }
    _fixed = {
        "rc": _schema(
            ("hits", "misses", "nocache"),
            (
                counter("hits", "1/s", "replies served from the reply cache (retransmitted calls)"),
                counter("misses", "1/s", "calls not found in the reply cache, so executed"),
                counter("nocache", "1/s", "calls that are not cached (idempotent ones)"),
            ),
        ),
        "fh": _schema(
            ("stale", "total_lookups", "anon_lookups", "dir_not_in_cache", "nodir_not_in_cache"),
            (counter("stale", "1/s", "stale file handles returned"),),
        ),
        "io": _schema(
            ("read_bytes", "write_bytes"),
            (
                counter("read_bytes", "B/s", "bytes read from exported filesystems"),
                counter("write_bytes", "B/s", "bytes written to exported filesystems"),
            ),
        ),
        None: _schema(
            ("threads", "fullcnt", "histogram"),
            (gauge("threads", "", "nfsd threads running"),),
        ),
        "net": _NET,
        "rpc": _schema(
            ("calls", "badcalls", "badfmt", "badauth", "badclnt"),
            (
                counter("calls", "1/s", "RPC calls received"),
                counter("badcalls", "1/s", "calls rejected: badfmt + badauth + badclnt"),
                counter("badfmt", "1/s", "calls rejected as malformed"),
                counter("badauth", "1/s", "calls rejected for bad authentication"),
                counter("badclnt", "1/s", "calls rejected for an unknown client"),
            ),
        ),
    }

    _attribute = {None: "th"}
    _parse = staticmethod(parse_nfsd)
