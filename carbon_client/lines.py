"""Carbon plaintext lines: ``path value timestamp\n``.

:func:`build_line` is the one definition of a line. :class:`LineFormatter`
renders a whole group per cycle. Lines of one instance share a prefix
(``host.net.eth0.``); for every distinct set of suffixes (``rx_bytes``...) it
compiles, once, a function whose body is a single f-string with every line in
``build_line``'s format, so the per-cycle work is one call per instance, and a
thousand NICs share one small function that stays in the CPU's caches.

Values: rates and derived values (always floats) are written with 12
significant digits, which keeps far more precision than any of them carries
and costs a third of Python's shortest round-trip repr; gauges and cumulative
totals are written exactly (an int as an int).
"""

from __future__ import annotations

import math
import re
from operator import itemgetter
from typing import Callable, Iterable, Optional

from carbon_client.naming import Layout
from carbon_client.sampling import BOTH, RAW, Sampled, Sampler

# The C renderer (carbon_client/_speedups.c), when built: the same bytes as
# the Python below, which still renders whatever it declines. None: Python only.
try:
    from carbon_client._speedups import render as _fast
except ImportError:  # built without a C compiler
    _fast = None

RATE_FORMAT = ".12g"
_SAFE_PATH = re.compile(r"[A-Za-z0-9_.\-]+")


def check_path(path: str) -> str:
    if not path or path.split(None, 1)[0] != path or "{" in path or "}" in path:
        raise ValueError(f"invalid metric path {path!r}")
    return path


def format_value(value: float, spec: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"value must be an int or a float, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"value must be finite, not {value!r}")
    return format(value, spec) if spec and isinstance(value, float) else str(value)


def build_line(path: str, value: float, timestamp: int, spec: str = "") -> str:
    """One Carbon plaintext line (graphyte build_message's checks)."""
    return f"{check_path(path)} {format_value(value, spec)} {int(timestamp)}\n"


def _compile(suffixes: tuple[str, ...], slots: tuple[int, ...], specs: tuple[str, ...]) -> Callable:
    """``render(prefix, values, ts_text) -> str`` for lines ``prefix + suffix``."""
    body = "".join(
        f"{{p}}{x} {{v[{i}]:{spec}}} {{t}}\\n" if spec else f"{{p}}{x} {{v[{i}]}} {{t}}\\n"
        for x, i, spec in zip(suffixes, slots, specs)
    )
    namespace: dict = {}
    exec(f'def render(p, v, t):\n    return f"{body}"\n', namespace)  # noqa: S102 - plain names only
    return namespace["render"]


class _Plan:
    """How one (group, instance) renders: which slots, under which paths, in which format."""

    __slots__ = ("paths", "slots", "specs", "scales", "pick", "schema", "covers", "prefix", "shape",
                 "render", "heads", "rates")

    def __init__(self, entries: list[tuple[int, str, float, str]], schema, width: int) -> None:
        self.schema = schema
        self.slots = tuple(e[0] for e in entries)
        self.paths = tuple(check_path(e[1]) for e in entries)
        self.specs = tuple(e[3] for e in entries)
        self.scales = tuple(e[2] for e in entries) if any(e[2] != 1.0 for e in entries) else None
        self.pick = itemgetter(*self.slots) if len(self.slots) > 1 else None
        # For the C renderer: each line's text up to its value, and which values are rates.
        self.heads = tuple(f"{p} " for p in self.paths) if self.scales is None else None
        self.rates = bytes(1 if s else 0 for s in self.specs)
        # Every slot of the values is sent: a None anywhere means a line to leave out.
        self.covers = sorted(self.slots) == list(range(width))
        # Compiled rendering needs plain paths with one common prefix.
        self.prefix = self.shape = self.render = None
        heads = {p.rpartition(".")[0] for p in self.paths}
        if self.scales is None and len(heads) == 1 and all(_SAFE_PATH.fullmatch(p) for p in self.paths):
            self.prefix = heads.pop() + "."
            n = len(self.prefix)
            self.shape = (tuple(p[n:] for p in self.paths), self.slots, self.specs)


class LineFormatter:
    """Renders sampled groups as lines under one layout and counters mode."""

    def __init__(self, layout: Layout, counters: str = "rate") -> None:
        self.layout = layout
        self.counters = counters
        self._plans: dict[str, dict[Optional[str], _Plan]] = {}  # group -> instance -> plan
        self._shapes: dict[tuple, Callable] = {}  # compiled renderers by (suffixes, slots, specs)
        # group -> (names, line heads or None) for groups sampled as columns
        self._columns: dict[str, tuple] = {}

    def _plan(self, group: str, instance: Optional[str], sampler: Sampler, schema) -> _Plan:
        entries = []
        send_rates = self.counters != RAW
        for i, m in enumerate(schema.metrics):
            if not m.send or (m.kind == "counter" and not send_rates):
                continue
            p = self.layout.path(group, instance, m.key)
            if p is not None:
                entries.append((i, p[0], p[1], RATE_FORMAT if m.kind != "gauge" else ""))
        width = len(schema.metrics)
        if self.counters in (RAW, BOTH) or self.layout.needs_totals:
            totals = sampler.total_metrics(schema)
            for j, m in enumerate(totals):
                if not m.send:
                    continue
                p = self.layout.path(group, instance, m.key + "_total")
                if p is not None:
                    entries.append((width + j, p[0], p[1], ""))
            width += len(totals)
        return _Plan(entries, schema, width)

    def _plan_for(self, group: str, inst: Optional[str], sampler: Sampler, schema, plans: dict) -> _Plan:
        plan = plans.get(inst)
        if plan is None or plan.schema is not schema:
            plan = plans[inst] = self._plan(group, inst, sampler, schema)
            if plan.shape is not None:
                fn = self._shapes.get(plan.shape)
                if fn is None:
                    fn = self._shapes[plan.shape] = _compile(*plan.shape)
                plan.render = fn
        return plan

    def context(self, group: str, sampler: Sampler) -> tuple:
        """(plans, make_plan) for :meth:`Sampler.update_lines`: the group's plans by instance,
        and a function making (and keeping) the plan of an instance that has none."""
        plans = self._plans.setdefault(group, {})

        def make_plan(inst: Optional[str]) -> _Plan:
            return self._plan_for(group, inst, sampler, sampler.collector.schema(inst), plans)

        return plans, make_plan

    def _render_columns(self, group: str, sampler: Sampler, sampled: Sampled, ts: str, out: list) -> int:
        """A group sampled as columns whose every line is a rate: the text of every line but
        its value and timestamp is made once, and the lines are one C-level map over the
        flat values. -1 when the group's lines are not all of that kind."""
        names, flat, width = sampled.columns
        state = self._columns.get(group)
        if state is None or state[0] != names:
            plans = self._plans.setdefault(group, {})
            schema = sampled.schemas[names[0]] if names else None
            found = [self._plan_for(group, n, sampler, schema, plans) for n in names]
            heads = None
            if found and all(p.covers and p.slots == tuple(range(width)) and p.scales is None
                             and set(p.specs) == {RATE_FORMAT} for p in found):
                heads = [f"{path} " for p in found for path in p.paths]
            state = self._columns[group] = (names, heads, b"\1" * len(heads) if heads else b"")
        heads = state[1]
        if heads is None:
            return -1
        fast = _fast
        if fast is not None:
            n = fast(out, heads, flat, None, state[2], ts)
            if n >= 0:
                return n
        line = f"%s%{RATE_FORMAT} {ts}\n"
        out.append("".join(map(line.__mod__, zip(heads, flat))))
        return len(heads)

    def render(self, group: str, sampler: Sampler, sampled: Sampled, timestamp: int, out: list) -> int:
        """Append the group's lines to ``out``; return how many lines."""
        if sampled.text is not None:  # rendered by the C engine (Sampler.update_lines)
            out.append(sampled.text)
            return sampled.count
        if sampled.columns is not None and sampled.totals is None:
            count = self._render_columns(group, sampler, sampled, str(int(timestamp)), out)
            if count >= 0:
                return count
        plans = self._plans.get(group)
        if plans is None:
            plans = self._plans[group] = {}
        totals = sampled.totals
        schemas = sampled.schemas
        ts = str(int(timestamp))
        count = 0
        fast = _fast
        for inst, values in sampled.values.items():
            plan = self._plan_for(group, inst, sampler, schemas[inst], plans)
            slots = plan.slots
            if not slots:
                continue
            vec = values + totals[inst] if totals is not None and inst in totals else values
            if fast is not None and plan.heads is not None:
                n = fast(out, plan.heads, vec, slots, plan.rates, ts)
                if n >= 0:
                    count += n
                    continue
            render = plan.render
            if render is not None:
                if plan.covers:
                    complete = None not in vec
                else:
                    complete = None not in (plan.pick(vec) if plan.pick is not None else (vec[slots[0]],))
                if complete:
                    out.append(render(plan.prefix, vec, ts))
                    count += len(slots)
                    continue
            scales = plan.scales or (1.0,) * len(slots)
            for path, i, s, spec in zip(plan.paths, slots, scales, plan.specs):
                v = vec[i]
                if v is not None:
                    out.append(build_line(path, v * s if s != 1.0 else v, timestamp, spec))
                    count += 1
        return count

    def prune(self, live: Iterable[tuple[str, Optional[str]]]) -> None:
        """Forget plans of instances that are gone (NICs come and go by the hundred)."""
        keep = set(live)
        for group, plans in self._plans.items():
            for inst in [i for i in plans if (group, i) not in keep]:
                del plans[inst]
        self._columns.clear()
