"""NFS client statistics per mount, from /proc/self/mountstats (group ``nfsmount``).

The paths are a contract (docs/NFS.md): under ``host.nfsmount.<mount>``,

- mount-wide keys without a ``_``-joined procedure: ``ops``, ``retrans``,
  ``timeouts``, ``errors``, ``read_bytes``, ``write_bytes``, ``age``,
  ``events_<event>``, the ``bytes:`` counters by their kernel names;
- ``xprt_<field>``: the RPC transport, summed over a mount's transports
  (``nconnect=``);
- ``<op>_<stat>`` for every procedure the mount lists, ``<op>`` in lower case
  as mountstats prints it: ``read_ops``, ``getattr_rtt_ms``,
  ``write_exec_ms``. So ``*_rtt_ms`` is every procedure's RTT and ``read_*``
  every figure of READ.

Averages per call (``<op>_rtt_ms``...) are the rate of the cumulative
milliseconds over the rate of calls in the same interval; none when no call
was made. Schemas depend on the layout a mount prints (its procedures, the
RPC iostats version, the transport): one object per layout, kept while a
mount uses it, so the sampler keeps each mount's history.
"""

from __future__ import annotations

import inspect
import logging
import types
from itertools import chain
from operator import itemgetter, sub
from typing import Callable, NamedTuple, Optional

from carbon_client.collectors.devices import Selector
from carbon_client.logonce import BadLines
from carbon_client.metrics import (
    COUNTER, DERIVED, Collector, Metric, Raw, Schema, Unavailable, counter, derived, gauge,
)
from carbon_client.naming import mount_component
from carbon_client.parsers.mountstats import BYTES, EVENTS, XPRT_FIELDS, NfsMount, parse_mountstats

log = logging.getLogger("carbon_client.collectors")


def _named(fn: Callable, *keys: str) -> Callable:
    """A copy of ``fn`` whose parameters read as ``keys``: a derived metric receives the
    metrics its parameters name, and per-op keys are only known at run time."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in keys])
    return copy


def _per_call(total, calls):
    """An average over the interval: the rate of a cumulative sum (milliseconds, queue
    lengths) over the rate of calls (or sends); none without one."""
    return total / calls if calls > 0 else None


# -- mount-wide ---------------------------------------------------------------------

_MOUNT = (
    gauge("age", "s", "seconds since the mount"),
    counter("ops", "1/s", "RPC calls of every procedure of this mount (nfsiostat's op/s counts the "
                          "transport's sends, shared by the mounts of one server)"),
    counter("retrans", "1/s", "retransmissions: transmissions beyond the first of each call"),
    counter("timeouts", "1/s", "major timeouts"),
)
_ERRORS = counter("errors", "1/s", "calls that completed with an error (RPC iostats 1.1: 5.3+, RHEL 8)")
_READ_WRITE = (
    counter("read_bytes", "B/s", "READ calls' bytes sent and received, RPC headers included "
                                 "(nfsiostat's read kB/s)"),
    counter("write_bytes", "B/s", "WRITE calls' bytes sent and received, RPC headers included "
                                  "(nfsiostat's write kB/s)"),
)
_BYTES_HELP = {
    "normalreadbytes": "bytes read by applications through the page cache",
    "normalwritebytes": "bytes written by applications through the page cache",
    "directreadbytes": "bytes read with O_DIRECT",
    "directwritebytes": "bytes written with O_DIRECT",
    "serverreadbytes": "bytes read from the server (READ payloads)",
    "serverwritebytes": "bytes written to the server (WRITE payloads)",
    "readpages": "pages read",
    "writepages": "pages written",
}


def _events(n: int) -> tuple[Metric, ...]:
    names = EVENTS[:n] + tuple(str(i) for i in range(len(EVENTS), n))
    return tuple(counter(f"events_{e}", "1/s", f"NFS client event {e} (nfs_iostat.h NFSIOS_{e.upper()})")
                 for e in names)


def _bytes(n: int) -> tuple[Metric, ...]:
    names = BYTES[:n] + tuple(f"bytes_{i}" for i in range(len(BYTES), n))
    return tuple(counter(b, "1/s" if b.endswith("pages") else "B/s", _BYTES_HELP.get(b, "bytes: counter"))
                 for b in names)


# -- transport ----------------------------------------------------------------------

# How each xprt number is kept: summed over a mount's transports (counters), the
# smallest (idle_time: since any was used) or the largest (max_slots, a high-water mark).
_XPRT_GAUGES = {"idle_time": min, "max_slots": max}
_XPRT_HELP = {
    "bind_count": ("1/s", "rpcbind queries"),
    "connect_count": ("1/s", "connections made"),
    "connect_time": ("1/s", "time spent connecting, in the kernel's unit (seconds; jiffies on old kernels)"),
    "idle_time": ("s", "seconds since a transport of the mount was last used"),
    "sends": ("1/s", "RPC requests sent"),
    "recvs": ("1/s", "RPC replies received"),
    "bad_xids": ("1/s", "replies that matched no request"),
    "max_slots": ("", "most RPC slots in use at once (high-water mark)"),
    "read_chunk_count": ("1/s", "RDMA read chunks"),
    "write_chunk_count": ("1/s", "RDMA write chunks"),
    "reply_chunk_count": ("1/s", "RDMA reply chunks"),
    "total_rdma_request": ("B/s", "RDMA request bytes"),
    "total_rdma_reply": ("B/s", "RDMA reply bytes"),
    "pullup_copy_count": ("1/s", "RDMA pull-up copies (send buffers copied together)"),
    "fixup_copy_count": ("1/s", "RDMA fix-up copies (receive buffers copied apart)"),
    "hardway_register_count": ("1/s", "RDMA memory registrations made the slow way"),
    "failed_marshal_count": ("1/s", "RDMA calls that could not be marshalled"),
    "bad_reply_count": ("1/s", "RDMA replies that could not be parsed"),
    "nomsg_call_count": ("1/s", "RDMA calls sent as RDMA_NOMSG (too large to send inline)"),
    "mrs_recycled": ("1/s", "RDMA memory regions recovered after an error"),
    "mrs_orphaned": ("1/s", "RDMA memory regions orphaned"),
    "mrs_allocated": ("1/s", "RDMA memory regions allocated"),
    "local_inv_needed": ("1/s", "RDMA local invalidations needed"),
    "empty_sendctx_q": ("1/s", "RDMA sends that found no free send context"),
    "reply_waits_for_send": ("1/s", "RDMA replies that waited for their send to complete"),
}
# Queue-length sums sampled at each send: helpers for their averages per send.
_QUEUES = {"req_u": "request", "bklog_u": "backlog", "sending_u": "sending", "pending_u": "pending"}


def _xprt(names: tuple[str, ...]) -> tuple[Metric, ...]:
    out = []
    for n in names:
        if n in _QUEUES:
            out.append(counter(f"xprt_{n}", "1/s", f"{n} sum", send=False, total=False))
        else:
            unit, text = _XPRT_HELP[n]
            out.append((gauge if n in _XPRT_GAUGES else counter)(f"xprt_{n}", unit, text))
    out.append(gauge("xprt_count", "", "transports (nconnect=)"))
    for n, what in _QUEUES.items():
        if n in names:
            out.append(derived(f"xprt_{what}_queue", "", f"average {what} queue length per send ({n} / sends)",
                               _named(_per_call, f"xprt_{n}", "xprt_sends")))
    return tuple(out)


# -- per procedure ------------------------------------------------------------------

def op_key(name: str) -> str:
    """``READ`` -> ``read``; an unnamed procedure (printed as its number) -> ``op<N>``."""
    return f"op{name}" if name.isdigit() else name.lower()


_TIMES = {"queue": "time queued before transmission", "rtt": "round trip time",
          "exec": "execution time (queueing included)"}


def _op(name: str, errors: bool) -> tuple[Metric, ...]:
    o = op_key(name)
    avg = "average {} per {} call over the interval, ms (none without a call)"
    out = [
        counter(f"{o}_ops", "1/s", f"{name} calls"),
        counter(f"{o}_retrans", "1/s", f"{name} retransmissions (transmissions beyond the first of each call)"),
        counter(f"{o}_timeouts", "1/s", f"{name} major timeouts"),
        counter(f"{o}_sent_bytes", "B/s", f"{name} bytes sent, RPC headers included"),
        counter(f"{o}_recv_bytes", "B/s", f"{name} bytes received, RPC headers included"),
    ]
    for stat in _TIMES:
        out.append(counter(f"{o}_{stat}_cum", "ms/s", f"{name} {stat} ms", send=False, total=False))
    for stat, what in _TIMES.items():
        out.append(derived(f"{o}_{stat}_ms", "ms", avg.format(what, name),
                           _named(_per_call, f"{o}_{stat}_cum", f"{o}_ops")))
    if errors:
        out.append(counter(f"{o}_errors", "1/s", f"{name} calls that completed with an error"))
    return tuple(out)


# The raw fields of one op: the kernel's (parsers.mountstats.OP_FIELDS), ntrans less ops.
_OP_FIELDS = ("ops", "retrans", "timeouts", "sent_bytes", "recv_bytes", "queue_cum", "rtt_cum", "exec_cum",
              "errors")


def build_schema(n_events: int, n_bytes: int, xprt_names: tuple[str, ...], ops: tuple[str, ...],
                 errors: bool) -> Schema:
    """The schema of a mount printing these: the fields are the raw tuple of :meth:`NfsMounts._raw`."""
    metrics = _MOUNT + ((_ERRORS,) if errors else ()) + _READ_WRITE + _events(n_events) + _bytes(n_bytes)
    head = [m.key for m in metrics if m.kind != DERIVED]
    xprt = _xprt(xprt_names) if xprt_names else ()
    width = 9 if errors else 8
    fields = head + [f"xprt_{n}" for n in xprt_names] + (["xprt_count"] if xprt_names else [])
    fields += [f"{op_key(o)}_{f}" for o in ops for f in _OP_FIELDS[:width]]
    metrics += xprt + tuple(m for o in ops for m in _op(o, errors))
    return Schema(fields, frozenset(m.source for m in metrics if m.kind == COUNTER), metrics)


class _Layout(NamedTuple):
    """What reading one layout needs: its schema, the op indexes sent (None: all, in order),
    READ's and WRITE's indexes, and the xprt numbers kept with how several transports combine."""

    schema: Schema
    ops: Optional[tuple[int, ...]]
    read: Optional[int]
    write: Optional[int]
    xprt_pick: Optional[Callable]
    xprt_combine: tuple[tuple[int, Callable], ...]


class NfsMounts(Collector):
    name = group = "nfsmount"
    blocking = True  # reading mountstats takes the namespace lock a mount stuck on a dead server can hold
    description = (
        "NFS client per mount (/proc/self/mountstats), the figures of nfsiostat and mountstats. "
        "Paths: `host.nfsmount.<mount>.<key>` with `<mount>` named as in `fs` (`/mnt/nfs/data` is "
        "`mnt_nfs_data`; a mount point listed twice reports the mount on top, the last). Mount-wide keys "
        "are below; `xprt_*` is the RPC transport summed over the mount's transports (nconnect); and "
        "every procedure the mount lists (NFSv3 procedures, NFSv4 operations, as mountstats prints them, "
        "in lower case; an unnamed one as `op<N>`) has `<op>_ops`, `<op>_retrans`, `<op>_timeouts`, "
        "`<op>_sent_bytes`, `<op>_recv_bytes`, `<op>_queue_ms`, `<op>_rtt_ms`, `<op>_exec_ms` and, with "
        "RPC iostats 1.1, `<op>_errors`: READ's are shown below. `nfs_mounts` chooses mounts, "
        "`nfsmount_ops` the procedures sent one by one. No NFS mount at start: disabled, looked for "
        "again every 5 minutes; mounts coming and going later are followed every cycle. docs/NFS.md."
    )
    source_path = "self/mountstats"

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self.mounts = Selector(getattr(options, "nfs_mounts", None))
        self.ops = Selector(getattr(options, "nfsmount_ops", None))
        self._errors = BadLines(log, "mountstats")
        self._layouts: dict[tuple, _Layout] = {}
        self._schema_of: dict[Optional[str], Schema] = {}

    @classmethod
    def reference(cls) -> dict[Optional[str], Schema]:
        """For the docs: a mount with every transport field known and one procedure, READ."""
        seen: dict[str, None] = {}
        for names in (XPRT_FIELDS["tcp"], XPRT_FIELDS["rdma"]):
            seen.update((n, None) for n in names if n != "srcport")
        return {"<mount>": build_schema(len(EVENTS), len(BYTES), tuple(seen), ("READ",), True)}

    def schema(self, instance: Optional[str]) -> Schema:
        return self._schema_of[instance]

    def _text(self) -> str:
        try:
            return self.source.read_proc(self.source_path)
        except FileNotFoundError:
            raise Unavailable(f"{self.source.proc_path(self.source_path)} does not exist") from None

    def _keep(self) -> Optional[Callable[[str], bool]]:
        """The mount points ``nfs_mounts`` chooses (by path or instance name); None: all."""
        if self.mounts.globs is None:
            return None
        return lambda path: self.mounts.explicit(path, mount_component(path))

    def probe(self) -> None:
        if not parse_mountstats(self._text(), lambda err: None, self._keep()):
            chosen = " matching nfs_mounts" if self.mounts.globs else ""
            raise Unavailable(f"no NFS mount{chosen} in {self.source.proc_path(self.source_path)}")

    def _layout(self, key: tuple) -> _Layout:
        n_events, n_bytes, proto, n_xprt, names, width = key
        if self.ops.globs is None:
            sent: Optional[tuple[int, ...]] = None
            op_names = names
        else:
            sent = tuple(i for i, n in enumerate(names) if self.ops.explicit(op_key(n)))
            op_names = tuple(names[i] for i in sent)
        positions = [i for i, n in enumerate(XPRT_FIELDS[proto][:n_xprt]) if n != "srcport"] if proto else []
        xprt_names = tuple(XPRT_FIELDS[proto][i] for i in positions) if proto else ()
        return _Layout(
            build_schema(n_events, n_bytes, xprt_names, op_names, width >= 9),
            sent,
            names.index("READ") if "READ" in names else None,
            names.index("WRITE") if "WRITE" in names else None,
            itemgetter(*positions) if positions else None,
            tuple((p, _XPRT_GAUGES.get(n, sum)) for p, n in zip(positions, xprt_names)),
        )

    def read(self) -> Raw:
        mounts = parse_mountstats(self._text(), self._errors, self._keep())
        self._errors.end()
        out: dict[Optional[str], tuple] = {}
        schema_of: dict[Optional[str], Schema] = {}
        layouts: dict[tuple, _Layout] = {}
        for m in mounts:
            name = mount_component(m.mountpoint)
            t = m.transports
            proto = t[0].protocol if t and t[0].protocol in XPRT_FIELDS else None
            key = (len(m.events), len(m.bytes), proto, len(t[0].values) if proto else 0, m.op_names,
                   m.op_width)
            lay = layouts.get(key) or self._layouts.get(key) or self._layout(key)
            layouts[key] = lay
            out[name] = self._raw(m, lay)
            schema_of[name] = lay.schema
        # Only the layouts in use are kept: names that churn leave nothing behind.
        self._layouts = layouts
        self._schema_of = schema_of
        return out

    @staticmethod
    def _raw(m: NfsMount, lay: _Layout) -> tuple:
        w = m.op_width
        s = m.op_stats
        # one column per op field: calls, then retransmissions (transmissions less calls)...
        columns = [s[k::w] for k in range(min(w, 9))]
        columns[1] = list(map(sub, columns[1], columns[0]))
        head = [m.age, sum(columns[0]), sum(columns[1]), sum(columns[2])]
        if w >= 9:
            head.append(sum(columns[8]))
        r, wr = lay.read, lay.write
        head.append(s[r * w + 3] + s[r * w + 4] if r is not None else None)
        head.append(s[wr * w + 3] + s[wr * w + 4] if wr is not None else None)
        head += m.events
        head += m.bytes
        if lay.xprt_pick is not None:
            t = m.transports
            if len(t) == 1:
                head += lay.xprt_pick(t[0].values)
            else:
                values = list(zip(*(x.values for x in t)))
                head += [combine(values[p]) for p, combine in lay.xprt_combine]
            head.append(len(t))
        if lay.ops is not None:
            columns = [[c[i] for i in lay.ops] for c in columns]
        head += chain.from_iterable(zip(*columns))
        return tuple(head)
