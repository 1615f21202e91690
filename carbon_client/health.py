"""The agent's own health lines, rendered straight from its counters.

The health groups (:class:`AgentHealth`, :class:`CollectorHealth`) are
declared like any collector, and the rate engine and the line formatter can
send them like any other, but that path is made for groups with hundreds of
instances and derived values, and health has neither: for its 30 lines a
cycle, fewer and flatter calls cost less (docs/BENCHMARKS.md).
:class:`HealthLines` makes the same lines, byte for byte (tests/test_health.py
compares the two), with one pass over the declarations compiled once per
layout: counters become per-second rates over the measured time between two
cycles, none on the first or after a counter went backwards, exactly as the
rate engine does.

It serves the default case: rates only (``counters: rate``) under a layout
that sends every health value unscaled. Otherwise :meth:`HealthLines.usable`
says no and the agent sends health through the rate engine.
"""

from __future__ import annotations

from typing import Optional, Sequence

from carbon_client.collectors.agent import AgentHealth, CollectorHealth
from carbon_client.lines import RATE_FORMAT, build_line, check_path
from carbon_client.metrics import COUNTER, GAUGE, Collector
from carbon_client.naming import Layout

try:
    from carbon_client._speedups import render as _fast
except ImportError:  # built without a C compiler
    _fast = None


class _Group:
    """One health group's declarations, as positions: what each line takes and how."""

    def __init__(self, collector: type[Collector]) -> None:
        schema = collector.default_schema()
        self.group = collector.group
        fields = schema.fields
        self.metrics = []  # (key, field position, is a counter, scale)
        for m in schema.metrics:
            if m.kind not in (COUNTER, GAUGE) or not m.send:
                raise ValueError(f"health metric {m.key!r}: only sent counters and gauges are rendered here")
            self.metrics.append((m.key, fields.index(m.source), m.kind == COUNTER, m.scale))
        self.counters = tuple(i for i, f in enumerate(fields) if f in schema.counters)
        # The flat pass needs values in field order to be lines in metric order, gauges unscaled.
        self.flat = ([at for _, at, _, _ in self.metrics] == list(range(len(self.metrics)))
                     and all(scale == 1.0 for _, _, c, scale in self.metrics if not c))

    def values(self, cur: Sequence, prev: Optional[Sequence], per_s: float) -> list:
        """The rate engine's values for one instance: step() with rates, first() without."""
        rates = None
        if prev is not None and per_s:
            rates = {i: cur[i] - prev[i] for i in self.counters}
            if any(d < 0 for d in rates.values()):
                rates = None
        out = []
        for _, at, is_counter, scale in self.metrics:
            if is_counter:
                v = None if rates is None else rates[at] * per_s
            else:
                v = cur[at]
            if v is not None and scale != 1.0:
                v = v * scale
            out.append(v)
        return out


_AGENT = _Group(AgentHealth)
_COLLECTORS = _Group(CollectorHealth)


class HealthLines:
    """Health lines for one layout. ``render`` keeps the previous cycle's counters."""

    def __init__(self, layout: Layout, counters: str) -> None:
        self.layout = layout
        self._names: Optional[tuple] = None  # the collectors the plan below is for
        self._heads: list[str] = []  # each line's text up to its value
        self._rates = b""  # whether each line is a rate
        self._scales: list[float] = []  # per value: 0 for a gauge, the scale of a counter
        self._prev: Optional[list] = None
        self._prev_names: Optional[tuple] = None
        self._prev_t: Optional[float] = None
        self.usable = (counters == "rate" and not layout.needs_totals and _AGENT.flat and _COLLECTORS.flat
                       and self._plan(()) is not None)

    def _plan(self, names: tuple) -> Optional[tuple]:
        """(heads, rates, scales) for the agent and these collectors, or None when the layout
        leaves out or scales one of their values (then the rate engine sends health)."""
        heads, rates, scales = [], [], []
        for g, inst in [(_AGENT, None)] + [(_COLLECTORS, n) for n in names]:
            for key, _, is_counter, scale in g.metrics:
                p = self.layout.path(g.group, inst, key)
                if p is None or p[1] != 1.0:
                    return None
                heads.append(f"{check_path(p[0])} ")
                rates.append(is_counter)
                scales.append(scale if is_counter else 0)
        return heads, bytes(rates), scales

    def carry(self, other: "HealthLines") -> None:
        """Go on from ``other``'s previous counters (same agent, new names)."""
        self._prev, self._prev_names, self._prev_t = other._prev, other._prev_names, other._prev_t

    def render(self, agent: Sequence, names: tuple, collectors: list, t: float, timestamp: int,
               out: list) -> int:
        """Append this cycle's health lines to ``out``; return how many, or -1 (nothing
        appended, nothing remembered) when the layout will not send a collector's lines.

        ``agent``: AgentHealth's raw tuple; ``names``: the collectors reported, and
        ``collectors`` their CollectorHealth raw tuples one after the other; ``t``: the
        monotonic time they were read.
        """
        if names != self._names:
            plan = self._plan(names)
            if plan is None:
                return -1
            self._heads, self._rates, self._scales = plan
            self._names = names
        cur = [*agent, *collectors]
        prev, prev_t = self._prev, self._prev_t
        per_s = 1.0 / (t - prev_t) if prev_t is not None and t > prev_t else 0.0
        values = None
        if per_s and names == self._prev_names:
            try:
                values = [(c - p) * per_s * s if s else c for c, p, s in zip(cur, prev, self._scales)]
                # Nothing below 0: no counter went backwards (health gauges are never negative).
                if min(values) < 0:
                    values = None
            except TypeError:  # a None somewhere: the exact path decides
                values = None
        if values is None:
            values = self._exact(cur, names, per_s)
        self._prev, self._prev_names, self._prev_t = cur, names, t
        ts = str(int(timestamp))
        if _fast is not None:
            n = _fast(out, self._heads, values, None, self._rates, ts)
            if n >= 0:
                return n
        count = 0
        for head, v, rate in zip(self._heads, values, self._rates):
            if v is not None:
                out.append(build_line(head[:-1], v, timestamp, RATE_FORMAT if rate else ""))
                count += 1
        return count

    def _exact(self, cur: list, names: tuple, per_s: float) -> list:
        """The rate engine's values instance by instance: no rates for an instance that is new
        or has a counter that went backwards, none at all on the first cycle."""
        prev = {}
        if self._prev is not None and self._prev_names is not None:
            prev[None] = self._prev[:len(_AGENT.metrics)]
            prev.update(self._split(self._prev[len(_AGENT.metrics):], self._prev_names))
        values = _AGENT.values(cur[:len(_AGENT.metrics)], prev.get(None), per_s)
        for name, raw in self._split(cur[len(_AGENT.metrics):], names).items():
            values += _COLLECTORS.values(raw, prev.get(name), per_s)
        return values

    @staticmethod
    def _split(flat: list, names: tuple) -> dict:
        w = len(_COLLECTORS.metrics)
        return {n: flat[i * w:(i + 1) * w] for i, n in enumerate(names)}
