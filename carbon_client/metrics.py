"""Metric declarations and the collector interface.

A collector declares what it sends as data (key, kind, unit, help) and reads
raw values; the sampler (:mod:`carbon_client.sampling`) turns counters into
per-second rates and computes derived values. docs/METRICS.md is generated
from these declarations (``python -m carbon_client.docs``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from operator import itemgetter
from typing import AbstractSet, Any, Callable, ClassVar, Mapping, Optional, Sequence

from carbon_client.source import Source

COUNTER = "counter"
GAUGE = "gauge"
DERIVED = "derived"


@dataclass(frozen=True, slots=True)
class Metric:
    """One value a collector sends per instance.

    counter: the per-second rate of raw field ``field`` (default ``key``)
        multiplied by ``scale``; with ``--counters raw|both`` the cumulative
        raw value times ``scale`` goes to ``<key>_total`` when ``total``.
    gauge: raw field ``field`` multiplied by ``scale``.
    derived: ``fn`` called with the values of the metrics declared before it
        that its parameters name (``lambda reads, read_time: ...``). An input
        unknown this interval (None: a first sample, a counter that went
        backwards) means no value, unless ``partial``: then ``fn`` gets the
        None and decides. A ZeroDivisionError or TypeError also means no value.
    The aggregate instance (``total``) is computed from the members' summed
    fields like any instance; ``agg="max"`` instead takes the largest
    member's value. ``send=False`` keeps a metric as a helper for others.
    """

    key: str
    kind: str
    unit: str
    help: str
    scale: float = 1.0
    field: Optional[str] = None
    total: bool = True
    agg: str = "sum"
    fn: Optional[Callable[..., Any]] = None
    send: bool = True
    partial: bool = False

    @property
    def source(self) -> str:
        return self.field or self.key


def counter(key: str, unit: str, help: str, **kw: Any) -> Metric:
    return Metric(key, COUNTER, unit, help, **kw)


def gauge(key: str, unit: str, help: str, **kw: Any) -> Metric:
    return Metric(key, GAUGE, unit, help, **kw)


def derived(key: str, unit: str, help: str, fn: Callable[..., Any], **kw: Any) -> Metric:
    return Metric(key, DERIVED, unit, help, total=False, fn=fn, **kw)


Raw = Mapping[Optional[str], Sequence[Any]]


class Unavailable(Exception):
    """The collector's source does not exist on this host (no NFS, no dmsetup...)."""


class Schema:
    """The layout of one instance's raw tuple and what is sent from it.

    ``fields`` names the raw tuple's positions; ``counters`` the fields that
    only grow (their rates are computed; a decrease is a reset); ``metrics``
    is what is sent, in order. What the sampler needs is worked out once here.
    """

    __slots__ = ("fields", "counters", "metrics", "index", "pick_counters", "steps", "rates_are_values",
                 "maxed", "total_metrics", "total_steps")

    def __init__(self, fields: Sequence[str], counters: AbstractSet[str], metrics: Sequence[Metric]) -> None:
        self.fields = tuple(fields)
        self.counters = frozenset(counters)
        self.metrics = tuple(metrics)
        at = {f: i for i, f in enumerate(self.fields)}
        counter_fields = [f for f in self.fields if f in self.counters]
        rate_at = {f: j for j, f in enumerate(counter_fields)}
        positions = [at[f] for f in counter_fields]
        # None: the raw tuple is the counters (every field a counter, in order: net, nfs)
        self.pick_counters = None if positions == list(range(len(self.fields))) else (
            (lambda raw: ()) if not positions else
            (lambda raw: (raw[positions[0]],)) if len(positions) == 1 else itemgetter(*positions))
        self.index = {m.key: i for i, m in enumerate(self.metrics)}
        # (kind, position in the raw tuple, the rates or the values, scale, fn, partial) per metric
        steps = []
        for m in self.metrics:
            if m.kind == DERIVED:
                steps.append((m.kind, self._inputs(m), m.scale, m.fn, m.partial))
            elif m.source not in (rate_at if m.kind == COUNTER else at):
                raise ValueError(f"metric {m.key!r}: no {m.kind} field {m.source!r}")
            else:
                steps.append((m.kind, rate_at[m.source] if m.kind == COUNTER else at[m.source], m.scale, None,
                              False))
        self.steps = tuple(steps)
        # Every metric is its counter's rate, in order (net): the rates are the values.
        self.rates_are_values = [s[:3] for s in steps] == [(COUNTER, j, 1.0) for j in range(len(rate_at))]
        self.maxed = tuple(i for i, m in enumerate(self.metrics) if m.agg == "max")
        self.total_metrics = tuple(m for m in self.metrics if m.kind == COUNTER and m.total)
        self.total_steps = tuple((at[m.source], m.scale) for m in self.total_metrics)

    def _inputs(self, m: Metric) -> tuple[int, ...]:
        """Positions, among the metrics before ``m``, of those its function's parameters name."""
        before = {x.key: i for i, x in enumerate(self.metrics[:self.index[m.key]])}
        names = list(inspect.signature(m.fn).parameters)
        unknown = [n for n in names if n not in before]
        if unknown:
            raise ValueError(f"derived metric {m.key!r}: {', '.join(unknown)} is not a metric declared before it")
        return tuple(before[n] for n in names)


class Collector:
    """One metric group.

    Most groups have one :class:`Schema` for every instance, declared as the
    class attributes ``fields``, ``counters`` and ``metrics``. A group whose
    instances differ (nfs: ``net``, ``rpc``, ``v3`` with one key per
    operation) overrides :meth:`schema`. ``read`` returns one raw tuple per
    instance (``None`` for a group without instances). ``aggregate`` names
    the instance that combines the others ("total"), or None.
    """

    name: ClassVar[str]
    group: ClassVar[str]
    description: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()
    counters: ClassVar[frozenset[str]] = frozenset()
    metrics: ClassVar[tuple[Metric, ...]] = ()
    aggregate: ClassVar[Optional[str]] = None
    instances: ClassVar[str] = ""  # what the instance component is, for the docs ("" = none)
    source_path: ClassVar[str] = ""
    # A collector whose read can block (a command, a network filesystem, a probe, a plugin)
    # runs off the host cycle with a timeout, so the /proc groups keep every tick.
    blocking: ClassVar[bool] = False
    # The instances that count towards the aggregate; None: every one.
    members: Optional[AbstractSet[Optional[str]]] = None
    # Malformed lines of its source skipped so far (logonce.BadLines counts them).
    bad_lines: int = 0
    _class_schema: ClassVar[Optional[Schema]] = None

    def __init__(self, source: Source, options: Any = None) -> None:
        self.source = source
        self.options = options

    @classmethod
    def default_schema(cls) -> Schema:
        s = cls.__dict__.get("_class_schema")
        if s is None:
            s = Schema(cls.fields, cls.counters, cls.metrics)
            cls._class_schema = s
        return s

    def schema(self, instance: Optional[str]) -> Schema:
        """The schema of ``instance``; must return the same object while it is unchanged."""
        return self.default_schema()

    def probe(self) -> None:
        """Raise :class:`Unavailable` with a reason when the source is missing."""
        if self.source_path and not self.source.proc_exists(self.source_path):
            raise Unavailable(f"{self.source.proc_path(self.source_path)} does not exist")

    def read(self) -> Raw:
        raise NotImplementedError

    def in_aggregate(self, instance: Optional[str]) -> bool:
        """Whether ``instance`` counts towards the aggregate instance (``members``)."""
        return self.members is None or instance in self.members
