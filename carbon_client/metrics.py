"""Metric declarations and the collector interface.

A collector declares what it sends as data (key, kind, unit, help) and reads
raw values; the rate engine (:mod:`carbon_client.sampling`) turns counters into
per-second rates and fills derived values. docs/METRICS.md is generated from
these declarations (``python -m carbon_client.docs``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import AbstractSet, Any, ClassVar, Mapping, Optional, Sequence

from carbon_client.source import Source

COUNTER = "counter"
GAUGE = "gauge"
DERIVED = "derived"

log = logging.getLogger("carbon_client.collectors")


@dataclass(frozen=True, slots=True)
class Metric:
    """One value a collector sends per instance.

    counter: the per-second rate of raw field ``field`` (default ``key``)
        multiplied by ``scale``; with ``--counters raw|both`` the cumulative
        raw value times ``scale`` goes to ``<key>_total`` when ``total``.
    gauge: raw field ``field`` multiplied by ``scale``.
    derived: the Python expression ``expr``, over the keys of the metrics
        declared before it (their values) and the raw fields (a counter
        field is its per-second rate, a gauge field its value); None, or a
        division by zero, means no value this interval. The engine compiles
        every schema's metrics into one function (sampling.py).
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
    expr: Optional[str] = None
    send: bool = True

    @property
    def source(self) -> str:
        return self.field or self.key


def counter(key: str, unit: str, help: str, **kw: Any) -> Metric:
    return Metric(key, COUNTER, unit, help, **kw)


def gauge(key: str, unit: str, help: str, **kw: Any) -> Metric:
    return Metric(key, GAUGE, unit, help, **kw)


def derived(key: str, unit: str, help: str, expr: str, **kw: Any) -> Metric:
    return Metric(key, DERIVED, unit, help, total=False, expr=expr, **kw)


class Columns:
    """Raw readings of many instances of one schema in one flat list.

    ``flat`` holds the fields of ``names[0]``, then those of ``names[1]``...,
    ``width`` fields each. A collector with hundreds of instances (NICs on a
    container host) returns this instead of a mapping: the engine computes
    every rate with one map over the list.
    """

    __slots__ = ("names", "flat", "width")

    def __init__(self, names: Sequence[str], flat: list, width: int) -> None:
        self.names = names
        self.flat = flat
        self.width = width

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def rows(self) -> list[tuple]:
        w, flat = self.width, self.flat
        return [tuple(flat[i:i + w]) for i in range(0, len(flat), w)]

    def as_mapping(self) -> dict:
        return dict(zip(self.names, self.rows()))

    def items(self):
        return self.as_mapping().items()


Raw = Mapping[Optional[str], Sequence[float]]


class Unavailable(Exception):
    """The collector's source does not exist on this host (no NFS, no dmsetup...)."""


@dataclass(frozen=True, slots=True, eq=False)
class Schema:
    """The layout of one instance's raw tuple and what is sent from it.

    ``fields`` names the raw tuple's positions; ``counters`` lists the fields
    that only grow (their rates are computed; a decrease is a reset);
    ``metrics`` is what is sent, in order.
    """

    fields: tuple[str, ...]
    counters: frozenset[str]
    metrics: tuple[Metric, ...]

    @property
    def counter_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f in self.counters)


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
    # The instances that count towards the aggregate; None: every one.
    members: Optional[AbstractSet[Optional[str]]] = None
    _class_schema: ClassVar[Optional[Schema]] = None

    def __init__(self, source: Source, options: Any = None) -> None:
        self.source = source
        self.options = options

    @classmethod
    def default_schema(cls) -> Schema:
        s = cls.__dict__.get("_class_schema")
        if s is None:
            s = Schema(tuple(cls.fields), frozenset(cls.counters), tuple(cls.metrics))
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
