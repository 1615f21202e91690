"""Carbon plaintext lines, ``path value timestamp\\n``: the one renderer.

:class:`Renderer` turns every group's sample into lines under one layout and
counters mode: health, exec and plugin groups too. What a (group, instance)
sends is worked out once (its plan: which values, under which paths, how
written) and kept while the instance is there; an instance that vanished is
forgotten with its plan.

Values: rates and derived values are written with 12 significant digits
(far more precision than any of them carries; an int stays an int); gauges
and cumulative totals are written exactly. A value that is not a finite
number is never written.
"""

from __future__ import annotations

import math
from typing import Optional

from carbon_client.metrics import COUNTER, GAUGE
from carbon_client.naming import Layout
from carbon_client.sampling import BOTH, RAW, Sample

RATE_FORMAT = ".12g"


def check_path(path: str) -> str:
    """A path Carbon reads as one metric name (graphyte build_message's check)."""
    if not path or path.split(None, 1)[0] != path or "{" in path or "}" in path:
        raise ValueError(f"invalid metric path {path!r}")
    return path


def format_value(value, rate: bool = False) -> Optional[str]:
    """The value as written in a line; None for anything but a finite int or float."""
    t = type(value)
    if t is float:
        if not math.isfinite(value):
            return None
        return format(value, RATE_FORMAT) if rate else str(value)
    if t is int:
        return str(value)
    return None


def build_line(path: str, value, timestamp: int, rate: bool = False) -> str:
    """One line; ValueError for a path or value Carbon would misread."""
    text = format_value(value, rate)
    if text is None:
        raise ValueError(f"{path}: value must be a finite int or float, not {value!r}")
    return f"{check_path(path)} {text} {int(timestamp)}\n"


class Renderer:
    """Lines of sampled groups under one layout and counters mode."""

    def __init__(self, layout: Layout, counters: str = "rate") -> None:
        self.layout = layout
        self.counters = counters
        self.wants_totals = counters in (RAW, BOTH) or layout.needs_totals
        self._plans: dict[str, dict] = {}  # group -> instance -> (schema, entries, total entries)

    def _plan(self, group: str, instance: Optional[str], schema) -> tuple:
        """(schema, [(value slot, "path ", scale, is a rate)], the same for totals)."""
        entries, total_entries = [], []
        send_rates = self.counters != RAW
        for i, m in enumerate(schema.metrics):
            if not m.send or (m.kind == COUNTER and not send_rates):
                continue
            p = self.layout.path(group, instance, m.key)
            if p is not None:
                entries.append((i, check_path(p[0]) + " ", p[1], m.kind != GAUGE))
        if self.wants_totals:
            for j, m in enumerate(schema.total_metrics):
                p = self.layout.path(group, instance, m.key + "_total") if m.send else None
                if p is not None:
                    total_entries.append((j, check_path(p[0]) + " ", p[1], False))
        return schema, entries, total_entries

    def render(self, sample: Sample, timestamp: int, out: list) -> int:
        """Append the group's lines to ``out``; return how many."""
        group = sample.collector.group
        old = self._plans.get(group, {})
        plans = {}
        tail = f" {int(timestamp)}\n"
        totals = sample.totals
        count = 0
        for inst, values in sample.values.items():
            schema = sample.schemas[inst]
            plan = old.get(inst)
            if plan is None or plan[0] is not schema:
                plan = self._plan(group, inst, schema)
            plans[inst] = plan
            pairs = ((plan[1], values),) if totals is None else ((plan[1], values), (plan[2], totals[inst]))
            for entries, vals in pairs:
                for slot, head, scale, rate in entries:
                    v = vals[slot]
                    if v is None:
                        continue
                    text = format_value(v * scale if scale != 1.0 else v, rate)
                    if text is not None:
                        out.append(head + text + tail)
                        count += 1
        self._plans[group] = plans
        return count
