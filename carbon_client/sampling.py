"""The rate engine: raw readings in, values aligned with a collector's metrics out.

Counters become per-second rates over the measured monotonic time between two
reads. A new instance has no rate on its first sample; an instance with any
counter that went backwards (reset, reboot, device re-added, 32-bit wrap) has
no rates for that interval: never a negative value or a spike.
"""

from __future__ import annotations

import ast
from functools import reduce
from itertools import chain, repeat
from operator import add, itemgetter, mul, sub
from typing import Optional, Sequence

from carbon_client.metrics import COUNTER, GAUGE, Collector, Columns, Metric, Raw, Schema

# The C rate arithmetic (carbon_client/_speedups.c), when built: it answers
# None whenever it is not sure, and the Python below decides. None: Python only.
try:
    from carbon_client import _speedups as _fast
except ImportError:  # built without a C compiler
    _fast = None

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


# Functions a derived metric's expression may call.
_EXPR_BUILTINS = frozenset(("min", "max", "abs", "round", "float", "int"))


class _Rewrite(ast.NodeTransformer):
    """Names in a derived metric's expression -> the step function's locals."""

    def __init__(self, metric: Metric, known: dict, rated: set, fields: dict, counters: dict) -> None:
        self.metric, self.known, self.rated = metric, known, rated
        self.fields, self.counters = fields, counters
        self.uses_rates = False

    def visit_Name(self, node: ast.Name) -> ast.AST:
        name = node.id
        if name in self.known:
            self.uses_rates |= self.known[name] in self.rated
            new = ast.Name(self.known[name], ast.Load())
        elif name in self.counters:
            self.uses_rates = True
            new = ast.parse(f"r[{self.counters[name]}]", mode="eval").body
        elif name in self.fields:
            new = ast.parse(f"c[{self.fields[name]}]", mode="eval").body
        elif name in _EXPR_BUILTINS:
            return node
        else:
            raise ValueError(f"derived metric {self.metric.key!r}: unknown name {name!r} in {self.metric.expr!r}")
        return ast.copy_location(new, node)


def _compile(schema: Schema):
    """``step(r, c)`` and ``first(c)``: one instance's values from its rates and raw tuple.

    Generated once per schema (as namedtuple does): every counter, gauge and
    derived expression of the schema in one function, so an instance costs
    one call. ``first`` is for an instance without rates (first sample, or
    after a reset): counters, and derived values that need them, are None.
    """
    fields = {f: i for i, f in enumerate(schema.fields)}
    counters = {f: j for j, f in enumerate(schema.counter_fields)}
    known: dict[str, str] = {}
    rated: set[str] = set()
    step, first = [], []
    for i, m in enumerate(schema.metrics):
        local = f"m{i}"
        if m.kind == COUNTER:
            e = f"r[{counters[m.source]}]" + (f" * {m.scale!r}" if m.scale != 1.0 else "")
            step.append(f"    {local} = {e}")
            first.append(f"    {local} = None")
            rated.add(local)
        elif m.kind == GAUGE:
            at = fields[m.source]
            e = f"c[{at}]" if m.scale == 1.0 else f"(None if c[{at}] is None else c[{at}] * {m.scale!r})"
            step.append(f"    {local} = {e}")
            first.append(f"    {local} = {e}")
        else:
            rewrite = _Rewrite(m, known, rated, fields, counters)
            e = ast.unparse(rewrite.visit(ast.parse(m.expr, mode="eval")))
            guarded = [f"    try:\n        {local} = {e}", "    except (TypeError, ZeroDivisionError):",
                       f"        {local} = None"]
            step.extend(guarded)
            if rewrite.uses_rates:
                rated.add(local)
                first.append(f"    {local} = None")
            else:
                first.extend(guarded)
        known[m.key] = local
    values = "[" + ", ".join(f"m{i}" for i in range(len(schema.metrics))) + "]"
    src = ("def step(r, c):\n" + "\n".join(step) + f"\n    return {values}\n"
           "def first(c):\n" + "\n".join(first) + f"\n    return {values}\n")
    namespace: dict = {}
    exec(src, namespace)  # noqa: S102 - generated from the declarations
    return namespace["step"], namespace["first"]


# The C engine's opcodes (carbon_client/_speedups.c): (op, arg) pairs.
(_LOCAL, _RATE, _FIELD, _CONST, _ADD, _SUB, _MUL, _DIV, _LT, _LE, _GT, _GE, _NEG, _MIN, _MAX,
 _JF, _JMP) = range(17)
_BINARY = {ast.Add: _ADD, ast.Sub: _SUB, ast.Mult: _MUL, ast.Div: _DIV}
_ORDER = {ast.Lt: _LT, ast.LtE: _LE, ast.Gt: _GT, ast.GtE: _GE}
_INT64 = 1 << 63


class _Unsupported(Exception):
    """An expression the C engine does not evaluate: the schema stays with Python."""


def _emit(node: ast.AST, names: dict, consts: list, code: list) -> None:
    """Append the postfix code of ``node`` (names: key -> (op, arg))."""
    if isinstance(node, ast.Constant):
        v = node.value
        if v is not None and (type(v) not in (int, float) or (type(v) is int and not -_INT64 <= v < _INT64)):
            raise _Unsupported(repr(v))
        consts.append(v)
        code.append((_CONST, len(consts) - 1))
    elif isinstance(node, ast.Name):
        if node.id not in names:
            raise _Unsupported(node.id)
        code.append(names[node.id])
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _emit(node.left, names, consts, code)
        _emit(node.right, names, consts, code)
        code.append((_BINARY[type(node.op)], 0))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _emit(node.operand, names, consts, code)
        code.append((_NEG, 0))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _ORDER:
        _emit(node.left, names, consts, code)
        _emit(node.comparators[0], names, consts, code)
        code.append((_ORDER[type(node.ops[0])], 0))
    elif isinstance(node, ast.IfExp):
        _emit(node.test, names, consts, code)
        jf = len(code)
        code.append((_JF, -1))
        _emit(node.body, names, consts, code)
        jmp = len(code)
        code.append((_JMP, -1))
        code[jf] = (_JF, len(code))
        _emit(node.orelse, names, consts, code)
        code[jmp] = (_JMP, len(code))
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max")
          and len(node.args) == 2 and not node.keywords
          and not any(isinstance(a, ast.Starred) for a in node.args)):
        _emit(node.args[0], names, consts, code)
        _emit(node.args[1], names, consts, code)
        code.append((_MIN if node.func.id == "min" else _MAX, 0))
    else:
        raise _Unsupported(ast.dump(node))


def _program(schema: Schema):
    """The schema compiled for the C engine (``_speedups.Program``), or None when it is
    not built or an expression is beyond it (then the Python engine does all).

    Names resolve as in :func:`_compile`: earlier metrics, then counter fields
    (their rates), then raw fields.
    """
    if _fast is None or not hasattr(_fast, "Program"):
        return None
    fields = {f: i for i, f in enumerate(schema.fields)}
    counters = {f: j for j, f in enumerate(schema.counter_fields)}
    names: dict = {**{f: (_FIELD, i) for f, i in fields.items()}, **{f: (_RATE, j) for f, j in counters.items()}}
    metrics, code, consts = [], [], []
    try:
        for k, m in enumerate(schema.metrics):
            if m.kind == COUNTER:
                metrics.append((0, counters[m.source], float(m.scale), 0, 0))
            elif m.kind == GAUGE:
                metrics.append((1, fields[m.source], float(m.scale), 0, 0))
            else:
                body: list = []
                _emit(ast.parse(m.expr, mode="eval").body, names, consts, body)
                metrics.append((2, 0, 1.0, len(code), len(body)))
                code.extend(body)
            names[m.key] = (_LOCAL, k)
        return _fast.Program(
            schema, len(schema.fields), [fields[f] for f in schema.counter_fields], metrics,
            [x for pair in code for x in pair], consts,
            [i for i, m in enumerate(schema.metrics) if m.agg == "max"],
        )
    except (_Unsupported, ValueError, OverflowError):
        return None


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
    if _fast is not None and type(prev_rows) is list:
        got = _fast.rates_rows(rows, prev_rows, per_s)
        if got is not None:
            return got
    if not width or not rows:
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
    ``Sampler.total_metrics(schema)``. A group sampled as :class:`Columns`
    keeps its values flat in ``columns`` = (names, values, width) and builds
    the mappings only when someone asks for them; one sampled by the C engine
    keeps them in ``rows`` = (names, values) and has its lines rendered
    already: ``text``, ``count`` lines.
    """

    __slots__ = ("_values", "totals", "_schemas", "columns", "_schema", "rows", "text", "count")

    def __init__(self, values: Optional[dict], totals: Optional[dict], schemas: Optional[dict],
                 columns: Optional[tuple] = None, schema: Optional[Schema] = None,
                 rows: Optional[tuple] = None, text: Optional[str] = None, count: int = 0) -> None:
        self._values = values
        self.totals = totals
        self._schemas = schemas
        self.columns = columns
        self._schema = schema
        self.rows = rows
        self.text = text
        self.count = count

    @property
    def values(self) -> dict:
        if self._values is None:
            if self.rows is not None:
                self._values = dict(zip(*self.rows))
            else:
                names, flat, w = self.columns
                self._values = {n: flat[i:i + w] for n, i in zip(names, range(0, len(flat), w))}
        return self._values

    @property
    def schemas(self) -> dict:
        if self._schemas is None:
            names = self.rows[0] if self.rows is not None else self.columns[0]
            self._schemas = dict.fromkeys(names, self._schema)
        return self._schemas


class _Compiled:
    """What the engine precomputes for one schema."""

    __slots__ = ("schema", "cget", "step", "first", "maxed", "total_metrics", "tget", "tscale",
                 "width", "identity", "program")

    def __init__(self, schema: Schema) -> None:
        fields = schema.fields
        cfields = schema.counter_fields
        self.schema = schema
        self.cget = _getter([fields.index(f) for f in cfields], len(fields))
        self.step, self.first = _compile(schema)
        # Every metric is its counter field's rate, in order (net): the rates are the values.
        self.identity = [(m.kind, m.source, m.scale) for m in schema.metrics] == [
            (COUNTER, f, 1.0) for f in cfields] and len(cfields) == len(fields)
        # Metrics whose aggregate is the largest member's value, not a recomputation.
        self.maxed = tuple(i for i, m in enumerate(schema.metrics) if m.agg == "max")
        self.total_metrics = tuple(m for m in schema.metrics if m.kind == COUNTER and m.total)
        self.tget = _getter([fields.index(m.source) for m in self.total_metrics], len(fields))
        self.tscale = tuple(m.scale for m in self.total_metrics)
        self.width = len(cfields)
        self.program = _program(schema)


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
        self._prev_curs: list = []  # the raw tuples of _prev_keys' instances
        self._prev_flat: Optional[list] = None
        # The C engine renders this group's lines itself when it can (update_lines).
        self._lines_ok = (single and type(collector).in_aggregate is Collector.in_aggregate)
        self._agg_keys: Optional[tuple] = None  # the names the aggregate getters were made for
        self._agg_getters: list = []

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
        self._prev_curs = []
        self._prev_flat = None

    def update(self, raw: Raw, t: float) -> Sampled:
        dt = t - self._prev_t if self._prev_t is not None else 0.0
        per_s = 1.0 / dt if dt > 0 else 0.0
        self._prev_t = t
        if isinstance(raw, Columns):
            return self._update_columns(raw, per_s)
        if self._single is not None:
            self._prev_flat = None
            return self._update_single(raw, per_s)
        return self._update_multi(raw, per_s)

    def update_lines(self, raw: Raw, t: float, ts: str, plans: dict, make_plan) -> Optional[Sampled]:
        """:meth:`update` and the lines of every instance in one C call, for a group with one
        schema whose instances are those of last time and whose counters all went forward.

        ``plans`` and ``make_plan`` are the line formatter's for this group
        (:meth:`LineFormatter.context`). The Sampled has the lines in ``text``.
        None, having changed nothing, whenever the general path must run
        (first sample, instances changed, a reset, counters raw|both, an
        expression or a value beyond the C, or no C at all).
        """
        comp = self._single
        prev_t = self._prev_t
        if (comp is None or comp.program is None or _fast is None or not self._lines_ok or self.want_totals
                or prev_t is None or self._prev_keys is None or t <= prev_t or type(raw) is not dict):
            return None
        keys = self._prev_keys
        collector = self.collector
        agg = collector.aggregate
        got = comp.program.run(raw, keys, self._prev_curs, 1.0 / (t - prev_t), ts, plans, make_plan,
                               agg, collector.members)
        if got is None:
            return None
        curs, values, text, count = got
        self._prev_t = t
        self._prev_curs = curs
        self._prev_flat = None
        if len(values) > len(keys):
            keys = keys + (agg,)
        return Sampled(None, None, None, schema=comp.schema, rows=(keys, values), text=text, count=count)

    def _update_columns(self, cols: Columns, per_s: float) -> Sampled:
        """Every rate in one map when the names are those of last time and nothing was reset.

        Otherwise (first sample, an interface came or went, a counter went
        backwards), or when values must be built anyway, the mapping path.
        """
        comp = self._single
        keys = tuple(cols.names)
        flat, w = cols.flat, cols.width
        prev_keys, prev_flat = self._prev_keys, self._prev_flat
        self._prev_flat = flat
        rates = None
        if (comp is not None and comp.identity and not self.want_totals and per_s
                and prev_flat is not None and keys == prev_keys):
            if _fast is not None and type(flat) is list and type(prev_flat) is list:
                rates = _fast.rates(flat, prev_flat, per_s)
            if rates is None:
                d = list(map(sub, flat, prev_flat))
                if not d or min(d) >= 0:
                    rates = list(map(mul, d, repeat(per_s, len(d))))
        if rates is None:
            if comp is None:
                return self._update_multi(cols.as_mapping(), per_s)
            if prev_flat is not None and prev_keys is not None:
                self._prev_curs = Columns(prev_keys, prev_flat, w).rows()
            else:
                self._prev_keys, self._prev_curs = None, []
            out = self._update_single(cols.as_mapping(), per_s)
            self._prev_flat = flat
            return out
        self._prev_keys = keys
        agg = self.collector.aggregate
        if agg is not None:
            if self._agg_keys != keys:
                member = self.collector.in_aggregate
                at = [i * w for i, k in enumerate(keys) if member(k)]
                # One member: a slice (no Python call per field each cycle).
                self._agg_getters = [itemgetter(*[a + j for a in at]) if len(at) > 1
                                     else itemgetter(slice(at[0] + j, at[0] + j + 1))
                                     for j in range(w)] if at else []
                self._agg_keys = keys
            if self._agg_getters:
                keys = keys + (agg,)
                rates.extend([reduce(add, g(rates)) for g in self._agg_getters])  # as _fold
        return Sampled(None, None, None, columns=(keys, rates, w), schema=comp.schema)

    def _update_single(self, raw: Raw, per_s: float) -> Sampled:
        comp = self._single
        collector = self.collector
        keys = tuple(raw)
        curs = list(raw.values())
        rows = list(map(comp.cget, curs))
        prev_keys, prev_curs = self._prev_keys, self._prev_curs
        self._prev_keys, self._prev_curs = keys, curs
        if not per_s or prev_keys is None:
            rates_rows = [None] * len(rows)
        elif keys == prev_keys:
            rates_rows = _rates_aligned(rows, list(map(comp.cget, prev_curs)), per_s, comp.width)
        else:
            prev = dict(zip(prev_keys, map(comp.cget, prev_curs)))
            rates_rows = [_rates(r, prev.get(k), per_s) for k, r in zip(keys, rows)]
        step, first = comp.step, comp.first
        if comp.identity and None not in rates_rows:
            values = rates_rows
        else:
            values = [first(c) if r is None else step(r, c) for r, c in zip(rates_rows, curs)]
        values_out = dict(zip(keys, values))
        schemas = dict.fromkeys(keys, comp.schema)
        totals = None
        if self.want_totals:
            tget, tscale = comp.tget, comp.tscale
            totals = {k: [v * s if s != 1.0 else v for v, s in zip(tget(c), tscale)]
                      for k, c in zip(keys, curs)} if comp.total_metrics else {}
        agg = collector.aggregate
        if agg is not None and values_out:
            self._aggregate(agg, raw, values_out, schemas, dict(zip(keys, rates_rows)), totals)
        return Sampled(values_out, totals, schemas)

    def _update_multi(self, raw: Raw, per_s: float) -> Sampled:
        prev = self._prev
        collector = self.collector
        schema_of = collector.schema
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
            values_out[inst] = comp.step(rates, cur) if rates is not None else comp.first(cur)
            rates_out[inst] = rates
            schemas[inst] = schema
            if want_totals and comp.total_metrics:
                totals[inst] = [
                    v * s if s != 1.0 else v for v, s in zip(comp.tget(cur), comp.tscale)
                ]
        self._prev = new_prev
        agg = collector.aggregate
        if agg is not None and values_out:
            self._aggregate(agg, raw, values_out, schemas, rates_out, totals)
        return Sampled(values_out, totals, schemas)

    def _aggregate(self, name: str, raw: Raw, values_out: dict, schemas: dict, rates_out: dict,
                   totals: Optional[dict]) -> None:
        """Add instance ``name``: the members' fields summed, then every metric computed from
        them as for any instance (groups with one schema only).

        Rates are summed over the members that have one this interval (a device
        just plugged in has none yet); ``agg="max"`` metrics take the largest
        member's value instead (the busiest disk).
        """
        member = self.collector.in_aggregate
        insts = [i for i in values_out if member(i)]
        if not insts:
            return
        comp = self.compiled(schemas[insts[0]])
        summed = [_sum(col) for col in zip(*(raw[i] for i in insts))]
        rows = [rates_out[i] for i in insts if rates_out.get(i) is not None]
        if rows:
            out = comp.step([_fold(c) for c in zip(*rows)], summed)
        else:
            out = comp.first(summed)
        for at in comp.maxed:
            col = [v for v in (values_out[i][at] for i in insts) if v is not None]
            out[at] = max(col) if col else None
        values_out[name] = out
        schemas[name] = comp.schema
        if totals is not None and all(i in totals for i in insts):
            totals[name] = [sum(c) for c in zip(*(totals[i] for i in insts))]


def _fold(values) -> float:
    """Summed left to right: the same float on every Python (sum() of floats
    compensates from 3.12 on) and in the C engine."""
    return reduce(add, values)


def _sum(column: Sequence) -> Optional[float]:
    """Sum of a field over members, None when no member has it."""
    if None in column:
        column = [v for v in column if v is not None]
        if not column:
            return None
    return _fold(column)
