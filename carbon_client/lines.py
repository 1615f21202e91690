"""Carbon plaintext lines: ``path value timestamp\\n``.

:func:`build_line` is the one definition of a line. :class:`LineFormatter`
renders a whole group per cycle with a per-instance template built once from
``build_line``'s rules, so the hot path is one ``str.format`` per instance.
"""

from __future__ import annotations

import math
from operator import itemgetter
from typing import Iterable, Optional

from carbon_client.naming import Layout
from carbon_client.sampling import BOTH, RAW, Sampled, Sampler


def check_path(path: str) -> str:
    if not path or path.split(None, 1)[0] != path or "{" in path or "}" in path:
        raise ValueError(f"invalid metric path {path!r}")
    return path


def format_value(value: float) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"value must be an int or a float, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"value must be finite, not {value!r}")
    return str(value)


def build_line(path: str, value: float, timestamp: int) -> str:
    """One Carbon plaintext line (graphyte build_message's checks)."""
    return f"{check_path(path)} {format_value(value)} {int(timestamp)}\n"


class _Plan:
    """How one (group, instance) renders: which slots, under which paths."""

    __slots__ = ("paths", "slots", "scales", "pick", "template", "schema")

    def __init__(self, entries: list[tuple[int, str, float]], schema) -> None:
        self.schema = schema
        self.slots = tuple(e[0] for e in entries)
        self.paths = tuple(check_path(e[1]) for e in entries)
        self.scales = tuple(e[2] for e in entries) if any(e[2] != 1.0 for e in entries) else None
        self.pick = itemgetter(*self.slots) if len(self.slots) > 1 else None
        n = len(entries)
        self.template = "".join(f"{p} {{{i}}} {{{n}}}\n" for i, p in enumerate(self.paths))


class LineFormatter:
    """Renders sampled groups as lines under one layout and counters mode."""

    def __init__(self, layout: Layout, counters: str = "rate") -> None:
        self.layout = layout
        self.counters = counters
        self._plans: dict[tuple[str, Optional[str]], _Plan] = {}

    def _plan(self, group: str, instance: Optional[str], sampler: Sampler, schema) -> _Plan:
        entries = []
        send_rates = self.counters != RAW
        for i, m in enumerate(schema.metrics):
            if m.kind == "counter" and not send_rates:
                continue
            p = self.layout.path(group, instance, m.key)
            if p is not None:
                entries.append((i, p[0], p[1]))
        if self.counters in (RAW, BOTH) or self.layout.needs_totals:
            base = len(schema.metrics)
            for j, m in enumerate(sampler.total_metrics(schema)):
                p = self.layout.path(group, instance, m.key + "_total")
                if p is not None:
                    entries.append((base + j, p[0], p[1]))
        return _Plan(entries, schema)

    def render(self, group: str, sampler: Sampler, sampled: Sampled, timestamp: int, out: list) -> int:
        """Append the group's lines to ``out``; return how many lines."""
        plans = self._plans
        totals = sampled.totals
        schemas = sampled.schemas
        count = 0
        for inst, values in sampled.values.items():
            key = (group, inst)
            plan = plans.get(key)
            schema = schemas[inst]
            if plan is None or plan.schema is not schema:
                plan = plans[key] = self._plan(group, inst, sampler, schema)
            if not plan.slots:
                continue
            vec = values + totals[inst] if totals is not None and inst in totals else values
            if plan.pick is not None:
                picked = plan.pick(vec)
            else:
                picked = (vec[plan.slots[0]],)
            if plan.scales is None and None not in picked:
                out.append(plan.template.format(*picked, timestamp))
                count += len(picked)
                continue
            scales = plan.scales or (1.0,) * len(picked)
            for path, v, s in zip(plan.paths, picked, scales):
                if v is not None:
                    out.append(build_line(path, v * s if s != 1.0 else v, timestamp))
                    count += 1
        return count

    def prune(self, live: Iterable[tuple[str, Optional[str]]]) -> None:
        """Forget plans of instances that are gone (NICs come and go by the hundred)."""
        keep = set(live)
        for key in [k for k in self._plans if k not in keep]:
            del self._plans[key]
