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

from carbon_client.metrics import COUNTER, DERIVED, GAUGE, Collector, Raw

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
    """One group's values for one cycle: instance -> values aligned with metrics.

    ``totals`` (only with counters raw|both) maps instance -> cumulative values
    aligned with ``Sampler.total_metrics``.
    """

    __slots__ = ("values", "totals")

    def __init__(self, values: dict, totals: Optional[dict]) -> None:
        self.values = values
        self.totals = totals


class Sampler:
    """Per-collector state between cycles."""

    def __init__(self, collector: Collector, counters: str = RATE) -> None:
        c = type(collector)
        self.collector = collector
        self.metrics = c.metrics
        fields = c.fields
        cfields = c.counter_fields()
        self._cget = _getter([fields.index(f) for f in cfields])
        cindex = {f: i for i, f in enumerate(cfields)}
        recipes = []
        for m in self.metrics:
            if m.kind == COUNTER:
                recipes.append((COUNTER, cindex[m.source], m.scale))
            elif m.kind == GAUGE:
                recipes.append((GAUGE, fields.index(m.source), m.scale))
            else:
                recipes.append((DERIVED, 0, 1.0))
        self._has_derived = any(m.kind == DERIVED for m in self.metrics)
        self._assemble = _compile(recipes, with_rates=True)
        self._assemble_first = _compile(recipes, with_rates=False)
        self.want_totals = counters in (RAW, BOTH)
        self.total_metrics = tuple(m for m in self.metrics if m.kind == COUNTER and m.total)
        self._tget = _getter([fields.index(m.source) for m in self.total_metrics])
        self._tscale = tuple(m.scale for m in self.total_metrics)
        self._prev: dict = {}
        self._prev_t: Optional[float] = None

    def forget(self) -> None:
        """Drop history: the next sample of every instance has no rate."""
        self._prev = {}
        self._prev_t = None

    def update(self, raw: Raw, t: float) -> Sampled:
        prev = self._prev
        dt = t - self._prev_t if self._prev_t is not None else 0.0
        per_s = 1.0 / dt if dt > 0 else 0.0
        cget = self._cget
        assemble, assemble_first = self._assemble, self._assemble_first
        derive = self.collector.derive if self._has_derived else None
        new_prev = {}
        values_out = {}
        rates_out = {} if derive is not None else None
        for inst, cur in raw.items():
            cc = cget(cur)
            new_prev[inst] = cc
            p = prev.get(inst)
            rates = None
            if p is not None and per_s:
                d = list(map(sub, cc, p))
                if not d or min(d) >= 0:
                    rates = list(map(mul, d, repeat(per_s, len(d))))
            if rates is not None:
                values = assemble(rates, cur)
            else:
                values = assemble_first(cur)
            if derive is not None:
                derive(values, rates)
            values_out[inst] = values
            if rates_out is not None:
                rates_out[inst] = rates
        self._prev = new_prev
        self._prev_t = t

        totals = None
        if self.want_totals and self.total_metrics:
            tget, tscale = self._tget, self._tscale
            totals = {
                inst: [v * s if s != 1.0 else v for v, s in zip(tget(cur), tscale)]
                for inst, cur in raw.items()
            }
        agg = type(self.collector).aggregate
        if agg is not None and values_out:
            self._aggregate(agg, values_out, rates_out, totals)
        return Sampled(values_out, totals)

    def _aggregate(self, name: str, values_out: dict, rates_out: Optional[dict], totals: Optional[dict]) -> None:
        member = self.collector.in_aggregate
        insts = [i for i in values_out if member(i)]
        if not insts:
            return
        cols = zip(*(values_out[i] for i in insts))
        out = []
        for m, col in zip(self.metrics, cols):
            if None in col:
                col = [v for v in col if v is not None]
            if not col or m.agg == "derive":
                out.append(None)
            else:
                out.append(max(col) if m.agg == "max" else sum(col))
        if rates_out is not None:
            rows = [rates_out[i] for i in insts if rates_out[i] is not None]
            rates = [sum(c) for c in zip(*rows)] if rows else None
            filled = list(out)
            self.collector.derive(filled, rates)
            out = [f if m.agg == "derive" else o for m, o, f in zip(self.metrics, out, filled)]
        values_out[name] = out
        if totals is not None:
            totals[name] = [sum(c) for c in zip(*(totals[i] for i in insts))]
