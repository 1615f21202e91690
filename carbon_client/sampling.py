"""Raw readings in, one group's values for the interval out.

The rules, each in one function:

- :func:`rates`: counters become per-second rates over the measured monotonic
  time between two reads. No rate on an instance's first sample, and none for
  a counter that went backwards (reset, device re-added, 32-bit wrap, iowait
  dipping by a tick): for THAT counter only; the instance's others still go.
- :func:`evaluate`: one instance's values from its raw tuple and rates:
  counters and gauges scaled, derived metrics computed in declaration order.
- :func:`aggregate`: the aggregate instance (``disk.total``, ``net.total``):
  the members' fields and rates summed, every metric computed from the sums
  as for any instance, ``agg="max"`` metrics the largest member's value.
"""

from __future__ import annotations

from functools import reduce
from itertools import repeat
from operator import add, mul, sub
from typing import Any, Optional, Sequence

from carbon_client.metrics import COUNTER, GAUGE, Collector, Raw, Schema

RATE, RAW, BOTH = "rate", "raw", "both"
COUNTER_MODES = (RATE, RAW, BOTH)


def rates(cur: Sequence, prev: Optional[Sequence], per_s: float) -> list:
    """Per-second rate of each counter: None without a previous value, when no time
    elapsed, or when the counter went backwards.

    When every counter is known and went forward (nearly always), the rates are
    computed with map() over the whole row: the same arithmetic, a third of the
    time (bench/tricks.py); otherwise counter by counter.
    """
    if prev is None or not per_s:
        return [None] * len(cur)
    try:
        d = list(map(sub, cur, prev))
    except TypeError:  # a counter is None this time or last
        d = None
    if d is not None and (not d or min(d) >= 0):
        return list(map(mul, d, repeat(per_s, len(d))))
    return [(c - p) * per_s if c is not None and p is not None and c >= p else None
            for c, p in zip(cur, prev)]


def evaluate(schema: Schema, raw: Sequence, r: Sequence) -> list:
    """The values of ``schema.metrics`` for one instance (None where unknown)."""
    if schema.rates_are_values:
        return r
    out: list = []
    for kind, at, scale, fn, partial in schema.steps:
        if kind == COUNTER:
            v = r[at]
        elif kind == GAUGE:
            v = raw[at]
        else:
            args = tuple(map(out.__getitem__, at))
            if None in args and not partial:
                v = None
            else:
                try:
                    v = fn(*args)
                except (TypeError, ZeroDivisionError):
                    v = None
        if scale != 1.0 and v is not None:
            v = v * scale
        out.append(v)
    return out


def _sums(rows: Sequence[Sequence]) -> list:
    """Column sums over ``rows``, left to right, skipping None (None when nothing is known)."""
    return [reduce(add, col) if None not in col else _known_sum(col) for col in zip(*rows)]


def _known_sum(col: Sequence):
    known = [v for v in col if v is not None]
    return reduce(add, known) if known else None


def aggregate(schema: Schema, raws: Sequence[Sequence], member_rates: Sequence[Sequence],
              member_values: Sequence[Sequence]) -> list:
    """The aggregate instance of members sharing ``schema``."""
    out = evaluate(schema, _sums(raws), _sums(member_rates))
    for i in schema.maxed:
        known = [v[i] for v in member_values if v[i] is not None]
        out[i] = max(known) if known else None
    return out


def totals(schema: Schema, raw: Sequence) -> list:
    """The cumulative counters sent at ``<key>_total`` (``schema.total_metrics``)."""
    return [None if raw[at] is None else raw[at] * scale if scale != 1.0 else raw[at]
            for at, scale in schema.total_steps]


class Sample:
    """One group's values for one cycle: ``values[instance]`` is aligned with
    ``schemas[instance].metrics``, ``totals[instance]`` (with counters raw|both)
    with ``schemas[instance].total_metrics``."""

    __slots__ = ("collector", "values", "schemas", "totals")

    def __init__(self, collector: Collector, values: dict, schemas: dict, totals: Optional[dict]) -> None:
        self.collector = collector
        self.values = values
        self.schemas = schemas
        self.totals = totals

    def get(self, instance: Optional[str], key: str) -> Any:
        """One value, None when the instance or the key is not there."""
        vals = self.values.get(instance)
        if vals is None:
            return None
        i = self.schemas[instance].index.get(key)
        return None if i is None else vals[i]


class Sampler:
    """One collector's readings from one cycle to the next.

    Only the instances of the last reading are remembered: what vanished is
    forgotten, and comes back as new (no rate on its first sample).
    """

    def __init__(self, collector: Collector, want_totals: bool = False) -> None:
        self.collector = collector
        self.want_totals = want_totals
        self._prev: dict = {}  # instance -> (schema, counters)
        self._prev_t: Optional[float] = None

    def forget(self) -> None:
        """Drop history: the next sample of every instance has no rate."""
        self._prev = {}
        self._prev_t = None

    def update(self, raw: Raw, t: float) -> Sample:
        """The sample of ``raw``, read at monotonic time ``t``."""
        per_s = 1.0 / (t - self._prev_t) if self._prev_t is not None and t > self._prev_t else 0.0
        self._prev_t = t
        collector = self.collector
        prev = self._prev
        seen: dict = {}
        values: dict = {}
        schemas: dict = {}
        rates_of: dict = {}
        for inst, cur in raw.items():
            schema = collector.schema(inst)
            counters = schema.pick_counters(cur) if schema.pick_counters is not None else cur
            p = prev.get(inst)
            # History is kept with its schema: a changed layout starts afresh.
            r = rates(counters, p[1] if p is not None and p[0] is schema else None, per_s)
            seen[inst] = (schema, counters)
            values[inst] = evaluate(schema, cur, r)
            schemas[inst] = schema
            rates_of[inst] = r
        self._prev = seen
        tot = {inst: totals(schemas[inst], cur) for inst, cur in raw.items()} if self.want_totals else None
        name = collector.aggregate
        if name is not None:
            member = collector.in_aggregate
            members = [i for i in values if member(i)]
            if members:
                schema = schemas[members[0]]
                values[name] = aggregate(schema, [raw[i] for i in members], [rates_of[i] for i in members],
                                         [values[i] for i in members])
                schemas[name] = schema
                if tot is not None:
                    tot[name] = _sums([tot[i] for i in members])
        return Sample(collector, values, schemas, tot)
