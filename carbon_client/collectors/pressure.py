"""Pressure stall information (PSI) from /proc/pressure: `host.pressure.<resource>.<some|full>.*`.

One instance per resource; its keys have two levels (`some.avg10`), and its
schema is one of three: the kernel prints `some` and `full`, only `some`
(cpu before 5.13) or only `full` (irq).
"""

from __future__ import annotations

from typing import Optional

from carbon_client.metrics import Collector, Metric, Raw, Schema, Unavailable, counter, gauge
from carbon_client.parsers.pressure import parse_pressure

RESOURCES = ("cpu", "memory", "io", "irq")


def _metrics(line: str) -> tuple[Metric, ...]:
    who = "some non-idle task was" if line == "some" else "all non-idle tasks were"
    return (
        gauge(f"{line}.avg10", "%", f"percent of time {who} stalled, running average over 10 s"),
        gauge(f"{line}.avg60", "%", f"percent of time {who} stalled, running average over 60 s"),
        gauge(f"{line}.avg300", "%", f"percent of time {who} stalled, running average over 300 s"),
        # total counts microseconds: us per second / 1e6 * 100 = percent of the interval
        counter(f"{line}.total", "%", f"percent of the interval {who} stalled (the microsecond counter "
                                      "`total` as a rate)", scale=1e-4, total=False),
    )


def _schema(lines: tuple[str, ...]) -> Schema:
    metrics = tuple(m for line in lines for m in _metrics(line))
    return Schema(tuple(m.key for m in metrics), frozenset(f"{line}.total" for line in lines), metrics)


# By the lines a file has: both, cpu before 5.13, irq.
SCHEMAS = {lines: _schema(lines) for lines in (("some", "full"), ("some",), ("full",))}


class Pressure(Collector):
    name = group = "pressure"
    description = (
        "Pressure stall information (/proc/pressure/cpu, memory, io, irq; kernel 4.20+): the "
        "percent of time some non-idle task (`some`) or all of them at once (`full`) were stalled "
        "waiting for the resource, as the kernel's running averages and as a rate over the "
        "interval (`total`). What the kernel does not print is not sent: cpu has no `full` before "
        "5.13 (and prints zeros there since), irq (6.1+, with CONFIG_IRQ_TIME_ACCOUNTING) has only "
        "`full`. A kernel without PSI, or booted with psi=0 (every read fails), disables the group."
    )
    instances = "the resource: `cpu`, `memory`, `io`, `irq`"
    source_path = "pressure"

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self.resources: tuple[str, ...] = ()
        self._schema_of: dict[Optional[str], Schema] = {}

    @classmethod
    def reference(cls) -> dict[Optional[str], Schema]:
        return {"<resource>": SCHEMAS["some", "full"]}

    def schema(self, instance: Optional[str]) -> Schema:
        return self._schema_of[instance]

    def probe(self) -> None:
        super().probe()
        present = tuple(r for r in RESOURCES if self.source.proc_exists(f"pressure/{r}"))
        failures = []
        for r in present:
            try:
                self.source.read_proc(f"pressure/{r}")
            except OSError as exc:
                failures.append(f"{r}: {exc.strerror or exc}")
        if not present or len(failures) == len(present):
            why = "; ".join(failures) or "no pressure file"
            raise Unavailable(f"{self.source.proc_path('pressure')}: PSI disabled (psi=0?): {why}")
        self.resources = present

    def read(self) -> Raw:
        out: dict[Optional[str], tuple] = {}
        schema_of: dict[Optional[str], Schema] = {}
        for r in self.resources:
            p = parse_pressure(self.source.read_proc(f"pressure/{r}"))
            lines = [(k, x) for k, x in (("some", p.some), ("full", p.full)) if x is not None]
            schema_of[r] = SCHEMAS[tuple(k for k, _ in lines)]
            out[r] = tuple(v for _, x in lines for v in (x.avg10, x.avg60, x.avg300, x.total))
        self._schema_of = schema_of
        return out
