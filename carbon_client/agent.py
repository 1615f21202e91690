"""One agent: collectors -> sampler -> renderer -> sender, once per tick."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Callable, Optional

from carbon_client.collectors import REGISTRY
from carbon_client.collectors.agent import Health
from carbon_client.config import Config
from carbon_client.lines import Renderer
from carbon_client.logonce import LogOnce
from carbon_client.metrics import Collector, Unavailable
from carbon_client.naming import make_layout, sanitize
from carbon_client.sampling import Sample, Sampler
from carbon_client.sender import Fanout, TcpSender, UdpSender
from carbon_client.source import Source
from carbon_client.spool import Spool

log = logging.getLogger("carbon_client")

# Disabled collectors look for their source again this often.
REPROBE_SECONDS = 300
# What the health group reports from the sender when there is none.
NO_SENDER = (0, 0, 0, 0, 0, 0, 0, 0)


def open_spool(directory: str, max_bytes: int) -> Spool:
    # Only whole segments are dropped: four or more under the limit keep it a limit.
    spool = Spool(directory, max_bytes=max_bytes, segment_bytes=min(4 << 20, max_bytes // 4))
    try:
        spool.open()
    except OSError as exc:
        log.error("spool %s unusable: %s; lines stay in memory until it works", directory, exc)
    return spool


def make_sender(config: Config):
    if config.protocol == "udp":
        return UdpSender(list(config.carbon))
    resend = config.resend_window
    if resend is None:
        # Two intervals, and long enough to cover a write that stalls until write_timeout.
        resend = max(2 * config.interval, 2 * config.write_timeout)

    def tcp(destinations, spool_dir):
        return TcpSender(
            destinations,
            buffer_lines=config.buffer_lines,
            backoff_min=config.backoff_min,
            backoff_max=config.backoff_max,
            connect_timeout=config.connect_timeout,
            write_timeout=config.write_timeout,
            resend_seconds=resend,
            spool=open_spool(spool_dir, config.spool_max_bytes) if spool_dir else None,
            name=str(destinations[0]),
        )

    if config.mode == "all" and len(config.carbon) > 1:
        # Each destination keeps its own spool: one may be down while another is up.
        return Fanout([
            tcp([d], os.path.join(config.spool_dir, sanitize(f"{d.host}_{d.port}")) if config.spool_dir else None)
            for d in config.carbon
        ])
    return tcp(list(config.carbon), config.spool_dir)


@dataclass
class _Slot:
    collector: Collector
    sampler: Sampler
    enabled: bool = False
    duration_ms: float = 0.0
    success: int = 1
    errors: int = 0
    last_reason: str = ""


@dataclass
class CycleResult:
    """What one cycle produced: the sampled groups (health last), and the lines sent."""

    timestamp: int
    samples: list[Sample]
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
        process: Optional[Callable[[], tuple]] = None,
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
        self.complaints = LogOnce(log)
        self._reprobe_every = max(1, REPROBE_SECONDS // config.interval)
        names = config.collectors or tuple(REGISTRY)
        self.explicit = config.collectors is not None
        self.slots = [self._slot(REGISTRY[n](self.source, config)) for n in names]
        self.health_slots = []
        if health:
            self.health_slots = [self._slot(Health(self.source, config, agent=self._agent_stats,
                                                   collectors=self._collector_stats, process=process))]
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
        self.renderer = Renderer(self.layout, config.counters)
        for s in self.slots + self.health_slots:
            s.sampler.want_totals = self.renderer.wants_totals

    def _slot(self, c: Collector) -> _Slot:
        return _Slot(c, Sampler(c))

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

    # -- health -----------------------------------------------------------------

    def _agent_stats(self) -> tuple:
        """The health group's fields from ``sent`` to ``skipped``: the sender's, then the agent's."""
        s = self.sender.health() if self.sender is not None else NO_SENDER
        return (*s, self.cycle_ms, self.skipped)

    def _collector_stats(self) -> dict:
        """Per collector running, or that failed: (duration_ms, success, errors)."""
        return {s.collector.name: (s.duration_ms, s.success, s.errors)
                for s in self.slots if s.enabled or s.errors}

    # -- one cycle ----------------------------------------------------------------

    def _read(self, slot: _Slot) -> Optional[Sample]:
        """One collector's sample, under the exception boundary that keeps the others going."""
        c = slot.collector
        t0 = self.monotonic()
        try:
            sample = slot.sampler.update(c.read(), t0)
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
            expected = isinstance(exc, (OSError, ValueError))
            self.complaints.complain(c.name, f"collector {c.name} failed: {exc}", logging.ERROR,
                                     exc_info=not expected)
            return None
        slot.duration_ms = (self.monotonic() - t0) * 1000.0
        slot.success = 1
        if c.name in self.complaints:
            self.complaints.release(c.name, f"collector {c.name} recovered")
        return sample

    def sample(self) -> list[Sample]:
        """Read every enabled collector once (not the health groups)."""
        self.source.new_cycle()
        self.cycles += 1
        if self.cycles % self._reprobe_every == 0:
            for s in self.slots:
                if not s.enabled:
                    self._probe(s)
        return [x for x in (self._read(s) for s in self.slots if s.enabled) if x is not None]

    def cycle(self, timestamp: int) -> CycleResult:
        t0 = self.monotonic()
        samples = self.sample()
        self.cycle_ms = (self.monotonic() - t0) * 1000.0
        samples += [x for x in (self._read(s) for s in self.health_slots) if x is not None]
        out: list[str] = []
        count = 0
        for sample in samples:
            count += self.renderer.render(sample, timestamp, out)
        data = "".join(out).encode("ascii")
        if self.sender is not None and data:
            self.sender.put(data, count)
        return CycleResult(timestamp, samples, data, count, (self.monotonic() - t0) * 1000.0)
