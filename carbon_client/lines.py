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

from typing import Optional

from carbon_client.metrics import COUNTER, GAUGE
from carbon_client.naming import Filters, Layout, below_host
from carbon_client.sampling import BOTH, RAW, Sample

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
        self._plans: dict[str, dict] = {}  # collector -> instance -> (schema, entries, total entries)

    def _plan(self, collector, instance: Optional[str], schema) -> tuple:
        """(schema, [(value slot, "path ", scale, is a rate)], the same for totals): the lines
        the filters let through, under the layout's paths."""
        group, allows = collector.group, self.filters.allows
        entries, total_entries = [], []
        send_rates = self.counters != RAW
        for i, m in enumerate(schema.metrics):
            if not m.send or (m.kind == COUNTER and not send_rates):
                continue
            p = self.layout.path(group, instance, m.key)
            if p is not None and allows(group, below_host(group, instance, m.key)):
                entries.append((i, check_path(p[0]) + " ", p[1], m.kind != GAUGE))
        if self.wants_totals:
            for j, m in enumerate(schema.total_metrics):
                key = m.key + "_total"
                p = self.layout.path(group, instance, key) if m.send else None
                if p is not None and allows(group, below_host(group, instance, key)):
                    total_entries.append((j, check_path(p[0]) + " ", p[1], False))
        return schema, entries, total_entries

    def render(self, sample: Sample, timestamp: int, out: list) -> int:
        """Append the group's lines to ``out``; return how many.

        A value is written as ``str()`` writes it (an int exactly, a float as its
        shortest repr), a rate or derived float with 12 significant digits;
        None, a value that is not an int or a float (bool included), and a
        float that is not finite (``v - v`` is NaN, which is true) are left out.
        """
        collector = sample.collector
        old = self._plans.get(collector.name, {})
        plans = {}
        tail = f" {int(timestamp)}\n"
        totals = sample.totals
        schemas = sample.schemas
        start = len(out)
        append = out.append
        for inst, values in sample.values.items():
            plan = old.get(inst)
            if plan is None or plan[0] is not schemas[inst]:
                plan = self._plan(collector, inst, schemas[inst])
            plans[inst] = plan
            pairs = ((plan[1], values),) if totals is None else ((plan[1], values), (plan[2], totals[inst]))
            for entries, vals in pairs:
                for slot, head, scale, rate in entries:
                    v = vals[slot]
                    if v is None:
                        continue
                    if scale != 1.0:
                        v = v * scale
                    t = type(v)
                    if t is float:
                        if v - v:
                            continue
                        append(f"{head}{v:.12g}{tail}" if rate else f"{head}{v!r}{tail}")
                    elif t is int:
                        append(f"{head}{v}{tail}")
        self._plans[collector.name] = plans
        return len(out) - start
