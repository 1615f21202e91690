"""The sampler: rates over measured time, first samples, per-counter resets, aggregates, totals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon_client.lines import Renderer
from carbon_client.metrics import Collector, Schema, counter, derived, gauge
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler, rates


class Fake(Collector):
    name = group = "fake"
    aggregate = "total"
    fields = ("ops", "bytes_", "depth", "busy_ms")
    counters = frozenset(("ops", "bytes_", "busy_ms"))
    metrics = (
        counter("ops", "1/s", "operations"),
        counter("bytes", "B/s", "bytes", field="bytes_", scale=512),
        gauge("depth", "", "queue depth"),
        counter("busy_ms", "ms/s", "busy time", send=False, total=False),
        derived("bytes_per_op", "B", "bytes per operation",
                lambda ops, bytes: bytes / ops if ops else 0.0),
        derived("busy", "%", "busy percent", lambda busy_ms: busy_ms / 10.0, agg="max"),
    )

    def __init__(self):
        super().__init__(source=None)
        self.raw = {}
        self.excluded = set()

    def read(self):
        return self.raw

    def in_aggregate(self, instance):
        return instance not in self.excluded


def sample(sampler, raw, t):
    sampler.collector.raw = raw
    return sampler.update(sampler.collector.read(), t)


def by_key(out, inst):
    return {m.key: v for m, v in zip(out.schemas[inst].metrics, out.values[inst])}


def test_the_rate_rule():
    assert rates([10, 5, None, 7], [4, 6, 1, None], 0.5) == [3.0, None, None, None]
    assert rates([10, 5], None, 0.5) == [None, None]  # first sample
    assert rates([10, 5], [4, 1], 0.0) == [None, None]  # no time elapsed
    assert rates([3], [3], 2.0) == [0.0]


@given(st.lists(st.tuples(st.integers(0, 2**70), st.integers(0, 2**70)), max_size=20),
       st.floats(0.001, 1000))
def test_a_rate_is_never_negative_and_only_missing_for_a_counter_that_went_back(pairs, per_s):
    cur, prev = [c for c, _ in pairs], [p for _, p in pairs]
    for c, p, r in zip(cur, prev, rates(cur, prev, per_s)):
        assert (r is None) == (c < p)
        assert r is None or r >= 0


def test_first_sample_has_gauges_only():
    s = Sampler(Fake())
    out = sample(s, {"a": (10, 100, 3, 0)}, 50.0)
    assert out.values["a"] == [None, None, 3, None, None, None]


def test_rates_use_the_measured_elapsed_time_not_the_interval():
    s = Sampler(Fake())
    sample(s, {"a": (10, 100, 3, 0)}, 50.0)
    out = by_key(sample(s, {"a": (40, 400, 5, 500)}, 52.5), "a")  # 2.5 s, not a nominal 1 s or 10 s
    assert out["ops"] == pytest.approx(30 / 2.5)
    assert out["bytes"] == pytest.approx(300 * 512 / 2.5)
    assert out["depth"] == 5
    assert out["bytes_per_op"] == pytest.approx(300 * 512 / 30)
    assert out["busy"] == pytest.approx(500 / 2.5 / 10)


def test_a_counter_going_backwards_voids_its_own_rate_only():
    s = Sampler(Fake())
    sample(s, {"a": (1000, 100, 1, 0)}, 0.0)
    reset = by_key(sample(s, {"a": (5, 200, 1, 10)}, 1.0), "a")  # ops went backwards
    assert reset["ops"] is None
    assert reset["bytes"] == pytest.approx(100 * 512)  # the other counters still go
    assert reset["busy"] == pytest.approx(1.0)
    assert reset["bytes_per_op"] is None  # needs ops
    assert reset["depth"] == 1
    after = by_key(sample(s, {"a": (15, 300, 1, 20)}, 2.0), "a")
    assert after["ops"] == pytest.approx(10.0)
    assert after["bytes"] == pytest.approx(100 * 512)


def test_instance_that_vanishes_and_returns_starts_afresh():
    s = Sampler(Fake())
    sample(s, {"a": (10, 10, 0, 0), "b": (10, 10, 0, 0)}, 0.0)
    gone = sample(s, {"a": (20, 20, 0, 0)}, 1.0)
    assert set(gone.values) == {"a", "total"}
    assert set(s._prev) == {"a"}  # forgotten, not kept forever
    back = sample(s, {"a": (30, 30, 0, 0), "b": (999, 999, 0, 0)}, 2.0)
    assert back.values["b"][0] is None  # no spike from the old history
    assert back.values["a"][0] == pytest.approx(10.0)


def test_a_changed_schema_starts_afresh():
    other = Schema(Fake.fields, Fake.counters, Fake.metrics)

    class Shifting(Fake):
        current = None

        def schema(self, instance):
            return self.current or self.default_schema()

    c = Shifting()
    s = Sampler(c)
    sample(s, {"a": (10, 10, 0, 0)}, 0.0)
    c.current = other
    assert sample(s, {"a": (20, 20, 0, 0)}, 1.0).values["a"][0] is None
    assert sample(s, {"a": (30, 30, 0, 0)}, 2.0).values["a"][0] == pytest.approx(10.0)


def test_aggregate_sums_members_max_for_busy_and_rederives():
    c = Fake()
    c.excluded = {"a1"}  # e.g. a partition: not in the total
    s = Sampler(c)
    sample(s, {"a": (0, 0, 1, 0), "a1": (0, 0, 1, 0), "b": (0, 0, 2, 0)}, 0.0)
    out = sample(s, {"a": (10, 20, 1, 900), "a1": (10, 20, 1, 900), "b": (30, 20, 2, 100)}, 1.0)
    total = by_key(out, "total")
    assert total["ops"] == pytest.approx(40.0)  # a + b, not a1
    assert total["bytes"] == pytest.approx(40 * 512)
    assert total["depth"] == 3
    assert total["bytes_per_op"] == pytest.approx(40 * 512 / 40)  # re-derived from the sums
    assert total["busy"] == pytest.approx(90.0)  # the busiest member, not a sum


def test_aggregate_sums_the_members_that_have_a_rate_counter_by_counter():
    s = Sampler(Fake())
    sample(s, {"a": (0, 0, 0, 0), "b": (100, 0, 0, 0)}, 0.0)
    out = sample(s, {"a": (10, 4, 0, 0), "b": (50, 6, 0, 0), "new": (50, 0, 0, 0)}, 1.0)
    assert out.values["new"][0] is None
    total = by_key(out, "total")
    assert total["ops"] == pytest.approx(10.0)  # b went back, new has no rate yet
    assert total["bytes"] == pytest.approx(10 * 512)  # a and b both went forward


def test_an_aggregate_of_members_without_any_rate_has_none():
    s = Sampler(Fake())
    out = sample(s, {"a": (1, 1, 5, 0), "b": (1, 1, 6, 0)}, 0.0)
    assert by_key(out, "total")["ops"] is None
    assert by_key(out, "total")["depth"] == 11


def test_raw_totals_are_cumulative_and_scaled():
    s = Sampler(Fake(), want_totals=True)
    out = sample(s, {"a": (7, 3, 0, 4)}, 0.0)
    assert [m.key for m in Fake.default_schema().total_metrics] == ["ops", "bytes"]
    assert out.totals["a"] == [7, 3 * 512]
    assert out.totals["total"] == [7, 3 * 512]


def test_zero_elapsed_time_gives_no_rates():
    s = Sampler(Fake())
    sample(s, {"a": (1, 1, 0, 0)}, 5.0)
    out = sample(s, {"a": (2, 2, 0, 0)}, 5.0)
    assert out.values["a"][0] is None


@pytest.mark.parametrize("mode,expected", [
    ("rate", {"h.fake.a.ops 2 60", "h.fake.a.bytes 1024 60", "h.fake.a.depth 5 60",
              "h.fake.a.bytes_per_op 512 60", "h.fake.a.busy 0 60"}),
    ("raw", {"h.fake.a.depth 5 60", "h.fake.a.bytes_per_op 512 60", "h.fake.a.busy 0 60",
             "h.fake.a.ops_total 12 60", "h.fake.a.bytes_total 3072 60"}),
    ("both", {"h.fake.a.ops 2 60", "h.fake.a.bytes 1024 60", "h.fake.a.depth 5 60",
              "h.fake.a.bytes_per_op 512 60", "h.fake.a.busy 0 60",
              "h.fake.a.ops_total 12 60", "h.fake.a.bytes_total 3072 60"}),
], ids=["rate", "raw", "both"])
def test_rendered_lines(mode, expected):
    c = Fake()
    s = Sampler(c, want_totals=mode != "rate")
    sample(s, {"a": (10, 4, 5, 0)}, 0.0)
    out = sample(s, {"a": (12, 6, 5, 0)}, 1.0)
    del out.values["total"]
    if out.totals:
        del out.totals["total"]
    lines = []
    n = Renderer(DefaultLayout("h"), mode).render(out, 60, lines)
    got = set("".join(lines).splitlines())
    assert got == expected
    assert n == len(expected)


def test_lines_skip_missing_values_and_sanitize_instances():
    c = Fake()
    s = Sampler(c)
    out = sample(s, {"flannel.1": (1, 1, 2, 0), "eth 0": (1, 1, 3, 0)}, 0.0)
    lines = []
    Renderer(DefaultLayout("web.01"), "rate").render(out, 10, lines)
    text = "".join(lines)
    assert "web_01.fake.flannel_1.depth 2 10\n" in text
    assert "web_01.fake.eth_0.depth 3 10\n" in text
    assert ".ops " not in text  # first sample: no rate lines at all


def test_values_that_are_not_finite_numbers_are_never_written():
    class Odd(Collector):
        name = group = "odd"
        fields = ("a", "b", "c", "d")
        metrics = tuple(gauge(f, "", f) for f in fields)

        def read(self):
            return {None: (float("nan"), float("inf"), "7", True)}

    c = Odd(None)
    lines = []
    assert Renderer(DefaultLayout("h")).render(Sampler(c).update(c.read(), 0.0), 1, lines) == 0
    assert lines == []


def test_helper_metrics_are_computed_but_not_sent():
    class Hidden(Collector):
        name = group = "hid"
        fields = ("a", "b")
        counters = frozenset(fields)
        metrics = (
            counter("a", "1/s", "a", send=False),
            counter("b", "1/s", "b", send=False),
            derived("share", "%", "a of a+b", lambda a, b: 100.0 * a / (a + b)),
        )

        def read(self):
            return self.raw

    c = Hidden(None)
    s = Sampler(c, want_totals=True)
    c.raw = {None: (0, 0)}
    s.update(c.read(), 0.0)
    c.raw = {None: (30, 10)}
    out = s.update(c.read(), 1.0)
    assert out.values[None] == [30.0, 10.0, 75.0]
    lines = []
    Renderer(DefaultLayout("h"), "both").render(out, 5, lines)
    assert "".join(lines) == "h.hid.share 75 5\n"


def test_a_derived_value_without_its_inputs_is_not_sent():
    class Div(Collector):
        name = group = "div"
        fields = ("a", "b")
        metrics = (gauge("a", "", "a"), gauge("b", "", "b"), derived("q", "", "a/b", lambda a, b: a / b))

        def read(self):
            return self.raw

    c = Div(None)
    c.raw = {None: (1, 0)}
    assert Sampler(c).update(c.read(), 0.0).values[None] == [1, 0, None]  # ZeroDivisionError
    c.raw = {None: (None, 2)}
    assert Sampler(c).update(c.read(), 0.0).values[None] == [None, 2, None]  # TypeError


def test_a_metric_naming_a_field_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="no counter field 'nosuch'"):
        Schema(("a",), frozenset(("a",)), (counter("x", "", "x", field="nosuch"),))
