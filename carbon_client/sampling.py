"""The rate engine: raw readings in, values aligned with a collector's metrics out.

Counters become per-second rates over the measured monotonic time between two
reads. A new instance has no rate on its first sample; an instance with any
counter that went backwards (reset, reboot, device re-added, 32-bit wrap) has
no rates for that interval: never a negative value or a spike.
"""

from __future__ import annotations

from itertools import chain, repeat
from operator import itemgetter, mul, sub
from typing import Optional, Sequence

from carbon_client.metrics import COUNTER, DERIVED, GAUGE, Collector, Metric, Raw, Schema

RATE, RAW, BOTH = "rate", "raw", "both"
COUNTER_MODES = (RATE, RAW, BOTH)


def _getter(positions: Sequence[int], width: int = -1):
    """itemgetter that always returns a tuple (itemgetter(i) returns a scalar).

    Taking every position in order is ``tuple``, which returns a tuple as is.
    """
    if list(positions) == list(range(width)):
        return tuple
    if len(positions) == 1:
        (i,) = positions
        return lambda row: (row[i],)
    if not positions:
        return lambda row: ()
    return itemgetter(*positions)


def _compile(recipes: list[tuple[str, int, float]], with_rates: bool):
    """A function building one instance's values list from its rates and raw tuple.

    Generated once per collector (as namedtuple does), so the per-instance
    work is one list display instead of a loop over recipes.
    """
    items = []
    for kind, pos, scale in recipes:
        if kind == COUNTER and with_rates:
            items.append(f"r[{pos}]" if scale == 1.0 else f"r[{pos}] * {scale!r}")
        elif kind == GAUGE:
            items.append(f"c[{pos}]" if scale == 1.0 else f"(None if c[{pos}] is None else c[{pos}] * {scale!r})")
        else:
            items.append("None")
    if with_rates and all(k == COUNTER and p == i and s == 1.0 for i, (k, p, s) in enumerate(recipes)):
        body = "r"  # every metric is its counter's rate, in order (net)
    else:
        body = "[" + ", ".join(items) + "]"
    src = f"def assemble(r, c):\n    return {body}\n" if with_rates else f"def assemble(c):\n    return {body}\n"
    namespace: dict = {}
    exec(src, namespace)  # noqa: S102 - source built above from numbers only
    return namespace["assemble"]


def _rates(cur: tuple, prev: Optional[tuple], per_s: float) -> Optional[list]:
    """Per-second rates of one instance, or None: first sample, or a counter went backwards."""
    if prev is None:
        return None
    d = list(map(sub, cur, prev))
    if d and min(d) < 0:
        return None
    return list(map(mul, d, repeat(per_s, len(d))))


def _rates_aligned(rows: list, prev_rows: list, per_s: float, width: int) -> list:
    """Rates of every instance at once when the instances are the same as last time."""
    if not width:
        return [[] for _ in rows]
    d = list(map(sub, chain.from_iterable(rows), chain.from_iterable(prev_rows)))
    if min(d) < 0:  # some instance was reset: only it goes without rates
        return [_rates(c, p, per_s) for c, p in zip(rows, prev_rows)]
    r = list(map(mul, d, repeat(per_s, len(d))))
    return [r[i:i + width] for i in range(0, len(r), width)]


class Sampled:
    """One group's values for one cycle.

    ``values[instance]`` is aligned with ``schemas[instance].metrics``;
    ``totals[instance]`` (only with counters raw|both) with
    ``Sampler.total_metrics(schema)``.
    """

    __slots__ = ("values", "totals", "schemas")

    def __init__(self, values: dict, totals: Optional[dict], schemas: dict) -> None:
        self.values = values
        self.totals = totals
        self.schemas = schemas


class _Compiled:
    """What the engine precomputes for one schema."""

    __slots__ = ("schema", "cget", "assemble", "assemble_first", "has_derived",
                 "total_metrics", "tget", "tscale", "width")

    def __init__(self, schema: Schema) -> None:
        fields = schema.fields
        cfields = schema.counter_fields
        self.schema = schema
        self.cget = _getter([fields.index(f) for f in cfields], len(fields))
        cindex = {f: i for i, f in enumerate(cfields)}
        recipes = []
        for m in schema.metrics:
            if m.kind == COUNTER:
                recipes.append((COUNTER, cindex[m.source], m.scale))
            elif m.kind == GAUGE:
                recipes.append((GAUGE, fields.index(m.source), m.scale))
            else:
                recipes.append((DERIVED, 0, 1.0))
        self.has_derived = any(m.kind == DERIVED for m in schema.metrics)
        self.assemble = _compile(recipes, with_rates=True)
        self.assemble_first = _compile(recipes, with_rates=False)
        self.total_metrics = tuple(m for m in schema.metrics if m.kind == COUNTER and m.total)
        self.tget = _getter([fields.index(m.source) for m in self.total_metrics], len(fields))
        self.tscale = tuple(m.scale for m in self.total_metrics)
        self.width = len(cfields)


class Sampler:
    """Per-collector state between cycles."""

    def __init__(self, collector: Collector, counters: str = RATE) -> None:
        self.collector = collector
        self.want_totals = counters in (RAW, BOTH)
        self._compiled: dict[int, _Compiled] = {}
        self._prev: dict = {}
        self._prev_t: Optional[float] = None
        # A collector with one schema for every instance (all but nfs and
        # writeboost) takes the vectorised path: one map over every counter
        # of every instance.
        single = type(collector).schema is Collector.schema
        self._single = self.compiled(collector.default_schema()) if single else None
        self._prev_keys: Optional[tuple] = None
        self._prev_rows: list = []

    def compiled(self, schema: Schema) -> _Compiled:
        c = self._compiled.get(id(schema))
        if c is None or c.schema is not schema:
            c = self._compiled[id(schema)] = _Compiled(schema)
        return c

    def total_metrics(self, schema: Schema) -> tuple[Metric, ...]:
        return self.compiled(schema).total_metrics

    def forget(self) -> None:
        """Drop history: the next sample of every instance has no rate."""
        self._prev = {}
        self._prev_t = None
        self._prev_keys = None
        self._prev_rows = []

    def update(self, raw: Raw, t: float) -> Sampled:
        dt = t - self._prev_t if self._prev_t is not None else 0.0
        per_s = 1.0 / dt if dt > 0 else 0.0
        self._prev_t = t
        if self._single is not None:
            return self._update_single(raw, per_s)
        return self._update_multi(raw, per_s)

    def _update_single(self, raw: Raw, per_s: float) -> Sampled:
        comp = self._single
        collector = self.collector
        keys = tuple(raw)
        curs = list(raw.values())
        rows = list(map(comp.cget, curs))
        prev_keys, prev_rows = self._prev_keys, self._prev_rows
        self._prev_keys, self._prev_rows = keys, rows
        if not per_s or prev_keys is None:
            rates_rows = [None] * len(rows)
        elif keys == prev_keys:
            rates_rows = _rates_aligned(rows, prev_rows, per_s, comp.width)
        else:
            prev = dict(zip(prev_keys, prev_rows))
            rates_rows = [_rates(r, prev.get(k), per_s) for k, r in zip(keys, rows)]
        assemble, first = comp.assemble, comp.assemble_first
        values = [first(c) if r is None else assemble(r, c) for r, c in zip(rates_rows, curs)]
        rates_out = {}
        if comp.has_derived:
            derive = collector.derive
            for v, r in zip(values, rates_rows):
                derive(v, r)
            rates_out = dict(zip(keys, rates_rows))
        values_out = dict(zip(keys, values))
        schemas = dict.fromkeys(keys, comp.schema)
        totals = None
        if self.want_totals:
            tget, tscale = comp.tget, comp.tscale
            totals = {k: [v * s if s != 1.0 else v for v, s in zip(tget(c), tscale)]
                      for k, c in zip(keys, curs)} if comp.total_metrics else {}
        agg = collector.aggregate
        if agg is not None and values_out:
            self._aggregate(agg, values_out, schemas, rates_out, totals)
        return Sampled(values_out, totals, schemas)

    def _update_multi(self, raw: Raw, per_s: float) -> Sampled:
        prev = self._prev
        collector = self.collector
        schema_of = collector.schema
        derive = collector.derive
        want_totals = self.want_totals
        new_prev = {}
        values_out = {}
        schemas = {}
        rates_out = {}
        totals = {} if want_totals else None
        last_schema = comp = None
        for inst, cur in raw.items():
            schema = schema_of(inst)
            if schema is not last_schema:
                comp = self.compiled(schema)
                last_schema = schema
            cc = comp.cget(cur)
            p = prev.get(inst)
            # History is kept with its schema: a changed layout starts afresh.
            new_prev[inst] = (cc, schema)
            rates = None
            if p is not None and per_s and p[1] is schema:
                d = list(map(sub, cc, p[0]))
                if not d or min(d) >= 0:
                    rates = list(map(mul, d, repeat(per_s, len(d))))
            values = comp.assemble(rates, cur) if rates is not None else comp.assemble_first(cur)
            if comp.has_derived:
                derive(values, rates)
                rates_out[inst] = rates
            values_out[inst] = values
            schemas[inst] = schema
            if want_totals and comp.total_metrics:
                totals[inst] = [
                    v * s if s != 1.0 else v for v, s in zip(comp.tget(cur), comp.tscale)
                ]
        self._prev = new_prev
        agg = collector.aggregate
        if agg is not None and values_out:
            self._aggregate(agg, values_out, schemas, rates_out, totals)
        return Sampled(values_out, totals, schemas)

    def _aggregate(self, name: str, values_out: dict, schemas: dict, rates_out: dict,
                   totals: Optional[dict]) -> None:
        """Combine member instances into ``name`` (groups with one schema only)."""
        member = self.collector.in_aggregate
        insts = [i for i in values_out if member(i)]
        if not insts:
            return
        schema = schemas[insts[0]]
        metrics = schema.metrics
        out = []
        for m, col in zip(metrics, zip(*(values_out[i] for i in insts))):
            if None in col:
                col = [v for v in col if v is not None]
            if not col or m.agg == "derive":
                out.append(None)
            else:
                out.append(max(col) if m.agg == "max" else sum(col))
        if self.compiled(schema).has_derived:
            rows = [rates_out[i] for i in insts if rates_out.get(i) is not None]
            rates = [sum(c) for c in zip(*rows)] if rows else None
            filled = list(out)
            self.collector.derive(filled, rates)
            out = [f if m.agg == "derive" else o for m, o, f in zip(metrics, out, filled)]
        values_out[name] = out
        schemas[name] = schema
        if totals is not None and all(i in totals for i in insts):
            totals[name] = [sum(c) for c in zip(*(totals[i] for i in insts))]
