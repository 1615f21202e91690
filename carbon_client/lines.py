"""Carbon plaintext lines, ``path value timestamp\\n``: the one renderer.

:class:`Renderer` turns every group's sample into lines under one layout and
counters mode: health, exec and plugin groups too. What a (group, instance)
sends is worked out once (its plan: which values, under which paths, how
written) and kept while the instance is there; an instance that vanished is
forgotten with its plan.

Values: rates and derived values are written with 12 significant digits
(far more precision than any of them carries; an int stays an int); gauges
and cumulative totals are written exactly. A value that is not a finite
int or float is never written.
"""

from __future__ import annotations

import logging
from typing import Optional

from carbon_client.logonce import LogOnce
from carbon_client.metrics import COUNTER, GAUGE
from carbon_client.naming import Filters, Layout, below_host, components, sanitize
from carbon_client.sampling import BOTH, RAW, Sample

log = logging.getLogger("carbon_client")

def check_path(path: str) -> str:
    """A path Carbon reads as one metric name (graphyte build_message's check)."""
    if not path or path.split(None, 1)[0] != path or "{" in path or "}" in path:
        raise ValueError(f"invalid metric path {path!r}")
    return path


class Renderer:
    """Lines of sampled groups under one layout and counters mode."""

    def __init__(self, layout: Layout, counters: str = "rate", filters: Optional[Filters] = None) -> None:
        self.layout = layout
        self.counters = counters
        self.filters = filters or Filters()
        self.wants_totals = counters in (RAW, BOTH) or layout.needs_totals
        # collector -> (its instance names, their components, instance -> plan)
        self._plans: dict[str, tuple] = {}
        self.clashes = LogOnce(log)

    def _plan(self, collector, instance: Optional[str], component: Optional[str], schema) -> tuple:
        """(schema, [(value slot, "path ", scale or None, is a rate)], the same for totals, component):
        the lines the filters let through, under the layout's paths for ``component``."""
        group, allows = collector.group, self.filters.allows
        entries, total_entries = [], []
        send_rates = self.counters != RAW
        for i, m in enumerate(schema.metrics):
            if not m.send or (m.kind == COUNTER and not send_rates):
                continue
            p = self.layout.path(group, component, m.key)
            if p is not None and allows(group, below_host(group, component, m.key)):
                entries.append((i, check_path(p[0]) + " ", None if p[1] == 1.0 else p[1], m.kind != GAUGE))
        if self.wants_totals:
            for j, m in enumerate(schema.total_metrics):
                key = m.key + "_total"
                p = self.layout.path(group, component, key) if m.send else None
                if p is not None and allows(group, below_host(group, component, key)):
                    total_entries.append((j, check_path(p[0]) + " ", None if p[1] == 1.0 else p[1], False))
        return schema, entries, total_entries, component

    def _components(self, collector, names: tuple) -> dict:
        """Each instance's path component (naming.components), the aggregate keeping its name;
        a clash is logged once per name."""
        agg = collector.aggregate
        comps = components([n for n in names if n != agg], reserved=(agg,) if agg else ())
        if agg in names:
            comps[agg] = agg
        for n, c in comps.items():
            if n is not None and c != sanitize(n):
                self.clashes.complain((collector.group, n), f"{collector.group}: {n!r} is sent as {c}: its "
                                      "name clashes with another of the group once sanitized")
        return comps

    def render(self, sample: Sample, timestamp: int, out: list) -> int:
        """Append the group's lines to ``out``; return how many.

        A value is written as ``str()`` writes it (an int exactly, a float as its
        shortest repr), a rate or derived float with 12 significant digits;
        None, a value that is not an int or a float (bool included), and a
        float that is not finite (``v - v`` is NaN, which is true) are left out.
        """
        collector = sample.collector
        names = tuple(sample.values)
        cached = self._plans.get(collector.name)
        if cached is not None and cached[0] == names:
            _, comps, old = cached
        else:
            comps, old = self._components(collector, names), cached[2] if cached is not None else {}
        plans = {}
        tail = f" {int(timestamp)}\n"
        totals = sample.totals
        schemas = sample.schemas
        start = len(out)
        append = out.append
        for inst, values in sample.values.items():
            plan = old.get(inst)
            if plan is None or plan[0] is not schemas[inst] or plan[3] != comps[inst]:
                plan = self._plan(collector, inst, comps[inst], schemas[inst])
            plans[inst] = plan
            pairs = ((plan[1], values),) if totals is None else ((plan[1], values), (plan[2], totals[inst]))
            for entries, vals in pairs:
                for slot, head, scale, rate in entries:
                    v = vals[slot]
                    if v is None:
                        continue
                    if scale is not None:
                        v = v * scale
                    t = type(v)
                    if t is float:
                        if v - v:
                            continue
                        append(f"{head}{v:.12g}{tail}" if rate else f"{head}{v!r}{tail}")
                    elif t is int:
                        append(f"{head}{v}{tail}")
        self._plans[collector.name] = (names, comps, plans)
        return len(out) - start
