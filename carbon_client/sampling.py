"""The rate engine: raw readings in, values aligned with a collector's metrics out.

Counters become per-second rates over the measured monotonic time between two
reads. A new instance has no rate on its first sample; an instance with any
counter that went backwards (reset, reboot, device re-added, 32-bit wrap) has
no rates for that interval: never a negative value or a spike.
"""

from __future__ import annotations

from itertools import repeat
from operator import itemgetter, mul, sub
from typing import Optional, Sequence

from carbon_client.metrics import COUNTER, DERIVED, GAUGE, Collector, Metric, Raw, Schema

RATE, RAW, BOTH = "rate", "raw", "both"
COUNTER_MODES = (RATE, RAW, BOTH)


def _getter(positions: Sequence[int]):
    """itemgetter that always returns a tuple (itemgetter(i) returns a scalar)."""
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
                 "total_metrics", "tget", "tscale")

    def __init__(self, schema: Schema) -> None:
        fields = schema.fields
        cfields = schema.counter_fields
        self.schema = schema
        self.cget = _getter([fields.index(f) for f in cfields])
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
        self.tget = _getter([fields.index(m.source) for m in self.total_metrics])
        self.tscale = tuple(m.scale for m in self.total_metrics)


class Sampler:
    """Per-collector state between cycles."""

    def __init__(self, collector: Collector, counters: str = RATE) -> None:
        self.collector = collector
        self.want_totals = counters in (RAW, BOTH)
        self._compiled: dict[int, _Compiled] = {}
        self._prev: dict = {}
        self._prev_t: Optional[float] = None

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

    def update(self, raw: Raw, t: float) -> Sampled:
        prev = self._prev
        dt = t - self._prev_t if self._prev_t is not None else 0.0
        per_s = 1.0 / dt if dt > 0 else 0.0
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
        self._prev_t = t
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
