"""Pressure stall information (PSI) from /proc/pressure: `host.pressure.<resource>.<some|full>.*`."""

from __future__ import annotations

from typing import Optional

from carbon_client.metrics import Collector, Raw, Unavailable, counter, gauge
from carbon_client.parsers.pressure import parse_pressure

RESOURCES = ("cpu", "memory", "io", "irq")


class Pressure(Collector):
    name = group = "pressure"
    description = (
        "Pressure stall information (/proc/pressure/cpu, memory, io, irq; kernel 4.20+): the "
        "percent of time some (`some`) or all (`full`) non-idle tasks were stalled waiting for "
        "the resource, as the kernel's running averages and as a rate over the interval "
        "(`total`). What the kernel does not print is not sent: cpu has no `full` before 5.13 "
        "(and prints zeros there since), irq (6.1+, with CONFIG_IRQ_TIME_ACCOUNTING) has only "
        "`full`. A kernel without PSI, or booted with psi=0 (every read fails), disables the group."
    )
    instances = "`<resource>.<some|full>` (two levels: `cpu.some`, `io.full`, `irq.full`)"
    source_path = "pressure"
    fields = ("avg10", "avg60", "avg300", "total")
    counters = frozenset(("total",))
    metrics = (
        gauge("avg10", "%", "percent of time stalled, running average over 10 s"),
        gauge("avg60", "%", "percent of time stalled, running average over 60 s"),
        gauge("avg300", "%", "percent of time stalled, running average over 300 s"),
        # total counts microseconds: us per second / 1e6 * 100 = percent of the interval
        counter("total", "%", "percent of the interval stalled (the microsecond counter `total` as a rate)",
                scale=1e-4, total=False),
    )

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self.resources: tuple[str, ...] = ()

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
        out: dict[Optional[tuple], tuple] = {}
        for r in self.resources:
            p = parse_pressure(self.source.read_proc(f"pressure/{r}"))
            if p.some is not None:
                out[(r, "some")] = (p.some.avg10, p.some.avg60, p.some.avg300, p.some.total)
            if p.full is not None:
                out[(r, "full")] = (p.full.avg10, p.full.avg60, p.full.avg300, p.full.total)
        return out
