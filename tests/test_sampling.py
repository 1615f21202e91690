"""The rate engine: rates over measured time, first samples, resets, aggregates, totals."""

from __future__ import annotations

import pytest

from carbon_client.lines import LineFormatter
from carbon_client.metrics import Collector, counter, derived, gauge
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler


class Fake(Collector):
    name = group = "fake"
    aggregate = "total"
    fields = ("ops", "bytes_", "depth", "busy_ms")
    counters = frozenset(("ops", "bytes_", "busy_ms"))
    metrics = (
        counter("ops", "1/s", "operations"),
        counter("bytes", "B/s", "bytes", field="bytes_", scale=512),
        gauge("depth", "", "queue depth"),
        derived("bytes_per_op", "B", "bytes per operation", "bytes / ops if ops else 0.0"),
        derived("busy", "%", "busy percent", "busy_ms / 10.0", agg="max"),  # busy_ms: a field's rate
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


def test_first_sample_has_gauges_only():
    s = Sampler(Fake())
    out = sample(s, {"a": (10, 100, 3, 0)}, 50.0)
    assert out.values["a"] == [None, None, 3, None, None]


def test_rates_use_the_measured_elapsed_time_not_the_interval():
    s = Sampler(Fake())
    sample(s, {"a": (10, 100, 3, 0)}, 50.0)
    out = sample(s, {"a": (40, 400, 5, 500)}, 52.5)  # 2.5 s, not a nominal 1 s or 10 s
    ops, nbytes, depth, per_op, busy = out.values["a"]
    assert ops == pytest.approx(30 / 2.5)
    assert nbytes == pytest.approx(300 * 512 / 2.5)
    assert depth == 5
    assert per_op == pytest.approx(300 * 512 / 30)
    assert busy == pytest.approx(500 / 2.5 / 10)


def test_counter_going_backwards_gives_no_rate_for_that_interval_then_recovers():
    s = Sampler(Fake())
    sample(s, {"a": (1000, 100, 1, 0)}, 0.0)
    reset = sample(s, {"a": (5, 200, 1, 10)}, 1.0)  # ops went backwards: device re-added
    assert reset.values["a"][:2] == [None, None]
    assert reset.values["a"][2] == 1  # gauges are still sent
    after = sample(s, {"a": (15, 300, 1, 20)}, 2.0)
    assert after.values["a"][0] == pytest.approx(10.0)
    assert after.values["a"][1] == pytest.approx(100 * 512)


def test_instance_that_vanishes_and_returns_starts_afresh():
    s = Sampler(Fake())
    sample(s, {"a": (10, 10, 0, 0), "b": (10, 10, 0, 0)}, 0.0)
    gone = sample(s, {"a": (20, 20, 0, 0)}, 1.0)
    assert set(gone.values) == {"a", "total"}
    back = sample(s, {"a": (30, 30, 0, 0), "b": (999, 999, 0, 0)}, 2.0)
    assert back.values["b"][0] is None  # no spike from the old history
    assert back.values["a"][0] == pytest.approx(10.0)


def test_aggregate_sums_members_max_for_busy_and_rederives():
    c = Fake()
    c.excluded = {"a1"}  # e.g. a partition: not in the total
    s = Sampler(c)
    sample(s, {"a": (0, 0, 1, 0), "a1": (0, 0, 1, 0), "b": (0, 0, 2, 0)}, 0.0)
    out = sample(s, {"a": (10, 20, 1, 900), "a1": (10, 20, 1, 900), "b": (30, 20, 2, 100)}, 1.0)
    total = out.values["total"]
    assert total[0] == pytest.approx(40.0)  # a + b, not a1
    assert total[1] == pytest.approx(40 * 512)
    assert total[2] == 3
    assert total[3] == pytest.approx(40 * 512 / 40)  # re-derived from the sums
    assert total[4] == pytest.approx(90.0)  # the busiest member, not a sum


def test_aggregate_skips_members_without_rates():
    s = Sampler(Fake())
    sample(s, {"a": (0, 0, 0, 0)}, 0.0)
    out = sample(s, {"a": (10, 0, 0, 0), "new": (50, 0, 0, 0)}, 1.0)
    assert out.values["new"][0] is None
    assert out.values["total"][0] == pytest.approx(10.0)


def test_raw_totals_are_cumulative_and_scaled():
    s = Sampler(Fake(), counters="both")
    out = sample(s, {"a": (7, 3, 0, 4)}, 0.0)
    assert [m.key for m in s.total_metrics(Fake.default_schema())] == ["ops", "bytes"]
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
], ids=["rate", "raw"])
def test_rendered_lines(mode, expected):
    c = Fake()
    s = Sampler(c, counters=mode)
    sample(s, {"a": (10, 4, 5, 0)}, 0.0)
    out = sample(s, {"a": (12, 6, 5, 0)}, 1.0)
    del out.values["total"]
    if out.totals:
        del out.totals["total"]
    lines = []
    n = LineFormatter(DefaultLayout("h"), mode).render("fake", s, out, 60, lines)
    got = set("".join(lines).splitlines())
    assert got == expected
    assert n == len(expected)


def test_lines_skip_missing_values_and_sanitize_instances():
    c = Fake()
    s = Sampler(c)
    out = sample(s, {"flannel.1": (1, 1, 2, 0), "eth 0": (1, 1, 3, 0)}, 0.0)
    lines = []
    LineFormatter(DefaultLayout("web.01"), "rate").render("fake", s, out, 10, lines)
    text = "".join(lines)
    assert "web_01.fake.flannel_1.depth 2 10\n" in text
    assert "web_01.fake.eth_0.depth 3 10\n" in text
    assert ".ops " not in text  # first sample: no rate lines at all


def test_helper_metrics_are_computed_but_not_sent():
    class Hidden(Collector):
        name = group = "hid"
        fields = ("a", "b")
        counters = frozenset(fields)
        metrics = (
            counter("a", "1/s", "a", send=False),
            counter("b", "1/s", "b", send=False),
            derived("share", "%", "a of a+b", "100.0 * a / (a + b) if a + b else None"),
        )

        def read(self):
            return self.raw

    c = Hidden(None)
    s = Sampler(c)
    c.raw = {None: (0, 0)}
    s.update(c.read(), 0.0)
    c.raw = {None: (30, 10)}
    out = s.update(c.read(), 1.0)
    assert out.values[None] == [30.0, 10.0, 75.0]
    lines = []
    LineFormatter(DefaultLayout("h"), "both").render("hid", s, out, 5, lines)
    assert "".join(lines) == "h.hid.share 75 5\n"


@pytest.mark.parametrize("expr,fragment", [
    ("nosuch * 2", "unknown name 'nosuch'"),
    ("__import__('os')", "unknown name '__import__'"),
])
def test_a_derived_expression_may_only_name_metrics_fields_and_a_few_builtins(expr, fragment):
    class Bad(Collector):
        name = group = "bad"
        fields = ("a",)
        metrics = (gauge("a", "", "a"), derived("x", "", "x", expr))

    with pytest.raises(ValueError, match=fragment):
        Sampler(Bad(None))


def test_a_derived_value_without_its_inputs_is_not_sent():
    class Div(Collector):
        name = group = "div"
        fields = ("a", "b")
        metrics = (gauge("a", "", "a"), gauge("b", "", "b"), derived("q", "", "a/b", "a / b"))

        def read(self):
            return self.raw

    c = Div(None)
    c.raw = {None: (1, 0)}
    assert Sampler(c).update(c.read(), 0.0).values[None] == [1, 0, None]  # ZeroDivisionError
    c.raw = {None: (None, 2)}
    assert Sampler(c).update(c.read(), 0.0).values[None] == [None, 2, None]  # TypeError
