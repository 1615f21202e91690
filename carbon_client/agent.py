"""One agent: collectors -> sampler -> renderer -> sender, once per tick."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

from carbon_client.collectors import make_collectors
from carbon_client.collectors.agent import Health
from carbon_client.config import Config
from carbon_client.lines import Renderer
from carbon_client.logonce import LogOnce
from carbon_client.metrics import Collector, Unavailable
from carbon_client.naming import Filters, make_layout
from carbon_client.sampling import Sample, Sampler
from carbon_client.source import Source
from carbon_client.workers import Workers

log = logging.getLogger("carbon_client")

# Disabled collectors look for their source again this often.
REPROBE_SECONDS = 300
# Off-cycle reads that took less than this last time share one thread a tick; a first
# read, or a slower one, goes alone (workers.py).
SHARED_MS = 10.0
# What the health group reports from the sender when there is none.
NO_SENDER = (0, 0, 0, 0, 0, 0, 0, 0)


@dataclass
class _Slot:
    collector: Collector
    sampler: Sampler
    interval: int  # seconds, a multiple of the agent's
    timeout: float  # seconds an off-cycle read may take before its result is dropped
    enabled: bool = False
    probed: bool = False
    busy: bool = False  # an off-cycle read is in flight
    started: float = 0.0  # when it started (monotonic)
    overdue: bool = False  # it has run longer than its timeout (counted once)
    duration_ms: float = 0.0
    success: int = 1
    errors: int = 0
    timeouts: int = 0
    skipped: int = 0
    last_reason: str = ""
    next_probe: float = 0.0  # wall time at which a disabled collector looks for its source again


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
        workers: Optional[int] = None,
        health_every_tick: bool = False,
    ) -> None:
        """``workers``: threads for the collectors whose read can block (None: the
        config's ``workers``); 0 reads them inline like the others (top, once, tests).
        ``health_every_tick``: the health group at every tick whatever its interval
        (``once``, and the terminal view, whose sender column it fills)."""
        self.config = config
        self.health_every_tick = health_every_tick
        self.source = source or Source(
            config.proc_root, config.sys_root, command_timeout=config.command_timeout
        )
        self.monotonic = monotonic
        self.sender = sender
        self.cycle_ms = 0.0
        self._longest_ms = 0.0  # the longest cycle since the health group last read it
        self.skipped = 0
        self.repeated = 0
        self.complaints = LogOnce(log)
        self.explicit = config.collectors is not None
        self.slots = [self._slot(c) for c in make_collectors(self.source, config)]
        self.health_slots = []
        if health:
            self.health_slots = [self._slot(Health(self.source, config, agent=self._agent_stats,
                                                   collectors=self._collector_stats, process=process))]
        for s in self.health_slots:
            s.enabled = s.probed = True
        size = config.workers if workers is None else workers
        blocking = sum(1 for s in self.slots if s.collector.blocking)
        self.workers = Workers(min(size, blocking)) if size and blocking else None
        self._done: list[tuple] = []  # off-cycle reads finished since the last cycle
        for s in self.slots:
            if not (s.collector.blocking and self.workers):
                self._probe(s)
        self.rename(config)

    def rename(self, config: Config) -> None:
        """Apply the naming keys (hostname, prefix, layout, counters) of ``config``.

        Collectors and their history stay, so a reload that only renames
        keeps every rate.
        """
        self.config = config
        self.layout = make_layout("tags" if config.format == "tags" else config.layout, config.hostname,
                                  config.prefix, config.postfix, config.hostname_method == "fqdn_reversed",
                                  disks=config.disks, nics=config.nics, writeboost=config.writeboost)
        self.renderer = Renderer(self.layout, config.counters,
                                 Filters(config.include, config.exclude, config.filters))
        for s in self.slots + self.health_slots:
            s.sampler.want_totals = self.renderer.wants_totals

    def _slot(self, c: Collector) -> _Slot:
        interval = self.config.intervals.get(c.name) or getattr(c, "interval", None) or self.config.interval
        timeout = getattr(c, "timeout", None) or self.config.command_timeout
        return _Slot(c, Sampler(c), int(interval), timeout)

    def _probe(self, slot: _Slot) -> bool:
        """Look for the collector's source; True when it is there. A disabled collector
        looks again every REPROBE_SECONDS."""
        c = slot.collector
        first = not slot.probed
        slot.probed = True
        slot.next_probe = time.time() + REPROBE_SECONDS
        try:
            c.probe()
        except Unavailable as exc:
            if first or slot.last_reason != str(exc):
                lvl = logging.WARNING if self.explicit else logging.INFO
                log.log(lvl, "collector %s disabled: %s", c.name, exc)
            slot.last_reason = str(exc)
            slot.enabled = False
            return False
        except Exception as exc:  # a plugin's own probe failing: disabled, never fatal
            log.error("collector %s disabled: its probe failed: %s", c.name, exc, exc_info=True)
            slot.last_reason = f"probe failed: {exc}"
            slot.enabled = False
            return False
        if not first and not slot.enabled:
            log.info("collector %s enabled: its source appeared", c.name)
        slot.enabled = True
        slot.last_reason = ""
        return True

    def _ready(self, slot: _Slot) -> bool:
        """Whether the collector is to be read: enabled, or its source looked for again and found."""
        if slot.enabled:
            return True
        if not slot.probed or time.time() >= slot.next_probe:
            return self._probe(slot)
        return False

    @property
    def enabled(self) -> list[str]:
        """Collectors whose source was found (blocking ones are looked for off the cycle)."""
        return [s.collector.name for s in self.slots if s.enabled]

    def collector(self, name: str) -> Optional[Collector]:
        return next((s.collector for s in self.slots if s.collector.name == name), None)

    def unavailable(self) -> dict[str, str]:
        """Collectors disabled because their source is missing, and why."""
        return {s.collector.name: s.last_reason for s in self.slots if s.probed and not s.enabled}

    # -- health -----------------------------------------------------------------

    def _agent_stats(self) -> tuple:
        """The health group's fields from ``sent`` to ``skipped``: the sender's, then the agent's."""
        s = self.sender.health() if self.sender is not None else NO_SENDER
        longest, self._longest_ms = self._longest_ms, 0.0
        return (*s, longest, self.skipped, self.repeated)

    def _collector_stats(self) -> dict:
        """Per collector running, or that failed: its health fields (collectors/agent.py)."""
        return {s.collector.name: (s.duration_ms, s.success, s.errors, s.collector.bad_lines, s.timeouts, s.skipped)
                if s.collector.blocking else (s.duration_ms, s.success, s.errors, s.collector.bad_lines)
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
        """Read every collector once, inline, blocking ones too (top, once); not the health group."""
        self.source.new_cycle()
        return [x for x in (self._read(s) for s in self.slots if self._ready(s)) if x is not None]

    def _off_cycle(self, slot: _Slot, ts: int) -> None:
        """One read of a collector that can block, in a worker thread: its lines are stamped
        with the tick they belong to, or dropped and counted when it took longer than its timeout."""
        try:
            if not self._ready(slot):
                return
            t0 = slot.started = self.monotonic()  # the read's deadline; a probe has its own
            renderer = self.renderer
            sample = self._read(slot)
            if sample is None:
                return
            late = self.monotonic() - t0
            if late > slot.timeout:
                slot.timeouts += 0 if slot.overdue else 1
                self.complaints.complain(("late", slot.collector.name),
                                         f"collector {slot.collector.name} took {late:.1f} s, more than its "
                                         f"timeout of {slot.timeout:g} s: its values for {ts} are dropped")
                return
            self.complaints.release(("late", slot.collector.name))
            out: list[str] = []
            count = renderer.render(sample, ts, out)
            self._done.append((sample, out, count))
        finally:
            slot.busy = False

    def cycle(self, timestamp: int) -> CycleResult:
        """One tick: the collectors due at ``timestamp`` (a multiple of their interval) but the
        blocking ones, then the health group; the lines to the sender; then the blocking ones
        handed to the workers (their lines ride with the next tick's)."""
        t0 = self.monotonic()
        self.source.new_cycle()
        samples, shared, alone = [], [], []
        for slot in self.slots:
            if timestamp % slot.interval:
                continue
            if self.workers is not None and slot.collector.blocking:
                if not slot.enabled and slot.probed and time.time() < slot.next_probe:
                    continue  # disabled until its source is looked for again
                if slot.busy:
                    slot.skipped += 1
                    if not slot.overdue and t0 - slot.started > slot.timeout:
                        slot.overdue = True
                        slot.timeouts += 1
                        self.complaints.complain(("late", slot.collector.name),
                                                 f"collector {slot.collector.name} has not answered for "
                                                 f"{t0 - slot.started:.0f} s; skipped until it does")
                    continue
                slot.busy, slot.started, slot.overdue = True, t0, False
                quick = 0 < slot.duration_ms < SHARED_MS  # read before, and quickly
                (shared if quick else alone).append(partial(self._off_cycle, slot, timestamp))
            elif self._ready(slot):
                sample = self._read(slot)
                if sample is not None:
                    samples.append(sample)
        self.cycle_ms = (self.monotonic() - t0) * 1000.0
        self._longest_ms = max(self._longest_ms, self.cycle_ms)
        try:
            for slot in self.health_slots:
                if self.health_every_tick or not timestamp % slot.interval:
                    sample = self._read(slot)
                    if sample is not None:
                        samples.append(sample)
            out: list[str] = []
            count = 0
            for sample in samples:
                count += self.renderer.render(sample, timestamp, out)
            done = self._take_done()
            for sample, lines, n in done:
                samples.append(sample)
                out += lines
                count += n
            data = "".join(out).encode("ascii")
            if self.sender is not None and data:
                self.sender.put(data, count)
        finally:
            if self.workers is not None:
                # After the write: a worker taking the GIL at each of this thread's system calls,
                # and giving it back at each of its own, would cost both more than it overlaps.
                # Whatever happened, the reads marked busy above are handed over.
                self.workers.submit(shared, alone)
        return CycleResult(timestamp, samples, data, count, (self.monotonic() - t0) * 1000.0)

    def _take_done(self) -> list:
        """What the off-cycle reads finished since the last call: (sample, lines, count) each.
        Their lines ride with the next cycle's: one write a tick, however many finished."""
        done, self._done = self._done, []
        return done

    def flush(self) -> None:
        """Hand the sender what finished off the cycle since the last tick (at a stop)."""
        done = self._take_done()
        if self.sender is not None and done:
            self.sender.put("".join(line for _, lines, _ in done for line in lines).encode("ascii"),
                            sum(n for _, _, n in done))

    def close(self) -> None:
        if self.workers is not None:
            self.workers.close()
        self.source.close()
