"""One agent: collectors -> rate engine -> lines -> sender, once per tick."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Optional

from carbon_client.collectors import REGISTRY
from carbon_client.collectors.agent import AgentHealth, CollectorHealth
from carbon_client.config import Config
from carbon_client.health import HealthLines
from carbon_client.lines import LineFormatter
from carbon_client.metrics import Collector, Unavailable
from carbon_client.naming import make_layout
from carbon_client.sampling import Sampled, Sampler
from carbon_client.sender import STATS
from carbon_client.source import Source

log = logging.getLogger("carbon_client")

# Disabled collectors look for their source again this often.
REPROBE_SECONDS = 300


@dataclass
class _Slot:
    collector: Collector
    sampler: Sampler
    enabled: bool = False
    failing: bool = False
    duration_ms: float = 0.0
    success: int = 1
    errors: int = 0
    last_reason: str = ""
    # (plans, make_plan) of the line formatter: the C engine renders the lines with the rates.
    lines: Optional[tuple] = None


@dataclass
class CycleResult:
    """What one cycle produced: the sampled groups, and the lines sent."""

    timestamp: int
    groups: list[tuple[Collector, Sampler, Sampled]]
    data: bytes
    lines: int
    duration_ms: float


class Agent:
    def __init__(
        self,
        config: Config,
        *,
        source: Optional[Source] = None,
        sender=None,
        monotonic: Callable[[], float] = time.monotonic,
        health: bool = True,
    ) -> None:
        self.config = config
        self.source = source or Source(
            config.proc_root, config.sys_root, command_timeout=config.command_timeout
        )
        self.monotonic = monotonic
        self.sender = sender
        self.cycle_ms = 0.0
        self.skipped = 0
        self.cycles = 0
        self._reprobe_every = max(1, REPROBE_SECONDS // config.interval)
        names = config.collectors or tuple(REGISTRY)
        self.slots = [self._slot(REGISTRY[n](self.source, config)) for n in names]
        self.explicit = config.collectors is not None
        self.health_slots = []
        self._health: Optional[HealthLines] = None
        if health:
            self.health_slots = [
                self._slot(AgentHealth(self.source, config, stats=self._agent_stats)),
                self._slot(CollectorHealth(self.source, config, stats=self._collector_stats)),
            ]
        for s in self.slots:
            self._probe(s, first=True)
        for s in self.health_slots:
            s.enabled = True
        self.rename(config)

    def rename(self, config: Config) -> None:
        """Apply the naming keys (hostname, prefix, layout, counters) of ``config``.

        Collectors and their history stay, so a reload that only renames
        keeps every rate.
        """
        self.config = config
        self.layout = make_layout(config.layout, config.hostname, config.prefix,
                                  disks=config.disks, nics=config.nics, writeboost=config.writeboost)
        self.formatter = LineFormatter(self.layout, config.counters)
        if self.health_slots:
            # Health lines straight from the counters when the layout allows (health.py).
            lean = HealthLines(self.layout, config.counters)
            if self._health is not None:  # a rename keeps the rates going
                lean.carry(self._health)
            self._health = lean if lean.usable else None
        want_totals = config.counters in ("raw", "both") or self.layout.needs_totals
        for s in self.slots + self.health_slots:
            s.sampler.want_totals = want_totals
            s.lines = None if want_totals else self.formatter.context(s.collector.group, s.sampler)

    def _slot(self, c: Collector) -> _Slot:
        return _Slot(c, Sampler(c, self.config.counters))

    def _probe(self, slot: _Slot, first: bool = False) -> None:
        c = slot.collector
        try:
            c.probe()
        except Unavailable as exc:
            if first or slot.last_reason != str(exc):
                lvl = logging.WARNING if self.explicit else logging.INFO
                log.log(lvl, "collector %s disabled: %s", c.name, exc)
            slot.last_reason = str(exc)
            slot.enabled = False
            return
        if not first:
            log.info("collector %s enabled: its source appeared", c.name)
        slot.enabled = True
        slot.last_reason = ""

    @property
    def enabled(self) -> list[str]:
        return [s.collector.name for s in self.slots if s.enabled]

    def collector(self, name: str) -> Optional[Collector]:
        return next((s.collector for s in self.slots if s.collector.name == name), None)

    def unavailable(self) -> dict[str, str]:
        """Collectors disabled because their source is missing, and why."""
        return {s.collector.name: s.last_reason for s in self.slots if not s.enabled}

    # -- health ---------------------------------------------------------------

    def _agent_stats(self) -> tuple:
        """AgentHealth's fields from ``sent`` to ``skipped``: the sender's, then the agent's."""
        s = self.sender.health() if self.sender is not None else (0,) * len(STATS)
        return (*s, self.cycle_ms, self.skipped)

    def _reported(self) -> list[_Slot]:
        """The collectors CollectorHealth reports: those running, and those that failed."""
        return [s for s in self.slots if s.enabled or s.errors]

    def _collector_stats(self) -> dict:
        return {s.collector.name: (s.duration_ms, s.success, s.errors) for s in self._reported()}

    # -- one cycle --------------------------------------------------------------

    def _read(self, slot: _Slot, ts: Optional[str] = None) -> Optional[Sampled]:
        """One collector's sample; with ``ts`` (the timestamp's text) its lines too when the
        C engine can make them (``sampled.text``)."""
        c = slot.collector
        t0 = self.monotonic()
        try:
            raw = c.read()
            sampled = None
            if ts is not None and slot.lines is not None:
                sampled = slot.sampler.update_lines(raw, t0, ts, *slot.lines)
            if sampled is None:
                sampled = slot.sampler.update(raw, t0)
        except Unavailable as exc:
            log.warning("collector %s disabled: %s", c.name, exc)
            slot.enabled = False
            slot.last_reason = str(exc)
            slot.sampler.forget()
            return None
        except Exception as exc:  # the per-collector boundary: one failure stops nothing else
            slot.errors += 1
            slot.success = 0
            slot.duration_ms = (self.monotonic() - t0) * 1000.0
            if not slot.failing:
                expected = isinstance(exc, (OSError, ValueError))
                log.error("collector %s failed: %s", c.name, exc, exc_info=not expected)
                slot.failing = True
            return None
        slot.duration_ms = (self.monotonic() - t0) * 1000.0
        slot.success = 1
        if slot.failing:
            log.info("collector %s recovered", c.name)
            slot.failing = False
        return sampled

    def sample(self, ts: Optional[str] = None) -> list[tuple[Collector, Sampler, Sampled]]:
        """Read every enabled collector once; with ``ts`` (the timestamp's text), groups the
        C engine samples come with their lines rendered."""
        self.source.new_cycle()
        self.cycles += 1
        if self.cycles % self._reprobe_every == 0:
            for s in self.slots:
                if not s.enabled:
                    self._probe(s)
        out = []
        for slot in self.slots:
            if slot.enabled:
                sampled = self._read(slot, ts)
                if sampled is not None:
                    out.append((slot.collector, slot.sampler, sampled))
        return out

    def _health_lines(self, timestamp: int, out: list) -> int:
        """The health lines by :class:`HealthLines`; -1 when it cannot (then the health
        collectors go through the rate engine, from now on if it failed)."""
        lean = self._health
        try:
            t = self.monotonic()
            agent = self.health_slots[0].collector.values()
            slots = self._reported()
            names = tuple([s.collector.name for s in slots])
            collectors = [x for s in slots for x in (s.duration_ms, s.success, s.errors)]
            return lean.render(agent, names, collectors, t, timestamp, out)
        except Exception as exc:  # the health lines must never stop the others
            log.error("health lines failed, sending them the general way from now on: %s", exc,
                      exc_info=True)
            self._health = None
            return -1

    def cycle(self, timestamp: int) -> CycleResult:
        t0 = self.monotonic()
        groups = self.sample(str(int(timestamp)))
        self.cycle_ms = (self.monotonic() - t0) * 1000.0
        out: list[str] = []
        count = 0
        health = -1
        if self._health is not None:
            # Rendered first into a list of its own: health lines go last, as ever.
            health_out: list[str] = []
            health = self._health_lines(timestamp, health_out)
        if health < 0:
            for slot in self.health_slots:
                sampled = self._read(slot)
                if sampled is not None:
                    groups.append((slot.collector, slot.sampler, sampled))
        render = self.formatter.render
        for collector, sampler, sampled in groups:
            count += render(collector.group, sampler, sampled, timestamp, out)
        if health >= 0:
            out += health_out
            count += health
        data = "".join(out).encode("ascii")
        if self.cycles % 64 == 0:
            self.formatter.prune(
                (c.group, inst) for c, _, s in groups for inst in s.values
            )
        if self.sender is not None and data:
            self.sender.put(data, count)
        return CycleResult(timestamp, groups, data, count, (self.monotonic() - t0) * 1000.0)
