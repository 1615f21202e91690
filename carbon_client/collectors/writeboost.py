"""dm-writeboost caches, from `dmsetup status` (one instance per dm name).

Targets are discovered with `dmsetup status --target writeboost` every
cycle, or read one by one with `dmsetup status NAME` when `writeboost`
names the devices. dmsetup runs as an argv list with the configured
`command_timeout`, never through a shell.

Failures, and what each costs:
- no dmsetup, or no writeboost target: :class:`Unavailable` at probe; the
  agent logs it once and looks again every few minutes.
- dmsetup gone or not answering within the timeout during a read:
  :class:`Unavailable` too, so a hung dmsetup costs one timeout, not one per
  cycle, and the other collectors keep their interval.
- dmsetup exiting non-zero during a read: an error for that cycle (the agent
  logs it once while it lasts); with named devices a device that is gone
  costs that device only.
"""

from __future__ import annotations

import logging
from typing import Optional, Sequence

from carbon_client.logonce import BadLines, LogOnce
from carbon_client.metrics import Collector, Metric, Raw, Schema, Unavailable, counter, derived, gauge
from carbon_client.source import CommandError, CommandResult
from carbon_client.parsers.writeboost import NR_STATS, WriteboostStatus, parse_writeboost_status

log = logging.getLogger("carbon_client.collectors")

DISCOVER = ("dmsetup", "status", "--target", "writeboost")


def stat_key(i: int) -> str:
    """Name of stat[i]: `<read|write>_<hit|miss>_<buffer|nobuffer>_<full|partial>`."""
    return "_".join((
        "write" if i & 8 else "read",
        "hit" if i & 4 else "miss",
        "buffer" if i & 2 else "nobuffer",
        "full" if i & 1 else "partial",
    ))


def _stat_help(i: int) -> str:
    return (
        f"{'writes' if i & 8 else 'reads'} that "
        f"{'hit' if i & 4 else 'missed'} the cache, "
        f"{'found on' if i & 2 else 'not on'} the RAM buffer, "
        f"{'covering a whole 4 KiB cache block' if i & 1 else 'smaller than a cache block'} "
        f"(stat[{i}])"
    )


STAT_KEYS = tuple(stat_key(i) for i in range(NR_STATS))

GAUGES = (
    "cursor_pos", "nr_cache_blocks", "nr_segments", "current_id", "last_flushed_id",
    "last_writeback_id", "nr_dirty_cache_blocks",
)
SUMS = ("read_hits", "read_misses", "write_hits", "write_misses")
# stat indexes summed into each of SUMS (write = bit 3, hit = bit 2).
_SUM_OF = {
    "read_hits": tuple(i for i in range(NR_STATS) if not i & 8 and i & 4),
    "read_misses": tuple(i for i in range(NR_STATS) if not i & 8 and not i & 4),
    "write_hits": tuple(i for i in range(NR_STATS) if i & 8 and i & 4),
    "write_misses": tuple(i for i in range(NR_STATS) if i & 8 and not i & 4),
}

FIXED_FIELDS = GAUGES + STAT_KEYS + SUMS + ("nr_partial_flushes",)
COUNTERS = frozenset(STAT_KEYS + SUMS + ("nr_partial_flushes",))

def _ratio(read_hits, read_misses):
    """hits / (hits + misses) in percent, for reads and (renamed) writes."""
    return read_hits * 100.0 / (read_hits + read_misses) if read_hits + read_misses > 0 else None


_FIXED_METRICS: tuple[Metric, ...] = (
    gauge("cursor_pos", "", "position of the next cache block to write in the cache device"),
    gauge("nr_cache_blocks", "", "cache blocks in the cache device"),
    gauge("nr_segments", "", "segments in the cache device"),
    gauge("current_id", "", "id of the segment being filled"),
    gauge("last_flushed_id", "", "id of the last segment written to the cache device"),
    gauge("last_writeback_id", "", "id of the last segment written back to the backing device"),
    gauge("nr_dirty_cache_blocks", "", "cache blocks not yet written back"),
    counter("read_hits", "1/s", "reads served from the cache (sum of the 4 read_hit_* counters)"),
    counter("read_misses", "1/s", "reads that missed the cache (sum of the 4 read_miss_* counters)"),
    counter("write_hits", "1/s", "writes to blocks already cached (sum of the 4 write_hit_* counters)"),
    counter("write_misses", "1/s", "writes to blocks not cached (sum of the 4 write_miss_* counters)"),
    *(counter(STAT_KEYS[i], "1/s", _stat_help(i)) for i in range(NR_STATS)),
    counter("nr_partial_flushes", "1/s", "segments flushed before they were full"),
    derived("read_hit_ratio", "%", "read_hits / (read_hits + read_misses) over the interval",
            _ratio),
    derived("write_hit_ratio", "%", "write_hits / (write_hits + write_misses) over the interval",
            lambda write_hits, write_misses: _ratio(write_hits, write_misses)),
    derived("dirty_ratio", "%", "nr_dirty_cache_blocks / nr_cache_blocks * 100",
            lambda nr_cache_blocks, nr_dirty_cache_blocks:
            nr_dirty_cache_blocks * 100.0 / nr_cache_blocks if nr_cache_blocks else None),
    derived("writeback_lag", "segments", "current_id - last_writeback_id: segments not yet written back",
            lambda current_id, last_writeback_id: current_id - last_writeback_id),
)

# The tunables v2.0.0 .. v2.2.18 report (the documented default schema).
V2_TUNABLES = (
    "writeback_threshold", "nr_cur_batched_writeback", "sync_data_interval",
    "update_sb_record_interval", "read_cache_threshold",
)
_TUNABLE_HELP = {
    "writeback_threshold": "percent: writeback is held back while the backing device is busier than this",
    "nr_cur_batched_writeback": "segments written back together in one batch (set as nr_max_batched_writeback)",
    "sync_data_interval": "seconds between syncs of all volatile data (0: never)",
    "update_sb_record_interval": "seconds between superblock records of the last written-back id (0: never)",
    "read_cache_threshold": "reads of more consecutive 4 KiB blocks than this are not cached",
    "allow_writeback": "1 when writeback runs before the cache is full (v1.0)",
    "enable_writeback_modulator": "1 when allow_writeback follows the backing device's load (v1.0)",
    "barrier_deadline_ms": "ms a flush request may wait for the RAM buffer (pre-1.0)",
    "allow_migrate": "1 when writeback (migration) runs before the cache is full (pre-1.0)",
    "enable_migration_modulator": "1 when allow_migrate follows the backing device's load (pre-1.0)",
    "migrate_threshold": "percent: pre-1.0 name of writeback_threshold",
    "nr_cur_batched_migration": "segments migrated together in one batch (pre-1.0)",
    "sync_interval": "seconds between syncs of all volatile data (pre-1.0)",
    "update_record_interval": "seconds between superblock records (pre-1.0)",
}
_RESERVED = frozenset(m.key for m in _FIXED_METRICS) | frozenset(FIXED_FIELDS)


def _tunable(key: str) -> Metric:
    return gauge(key, "", _TUNABLE_HELP.get(key, "tunable reported by the target"))


def build_schema(tunables: Sequence[str]) -> Schema:
    """The schema of a target reporting these tunables (in this order)."""
    return Schema(
        FIXED_FIELDS + tuple(tunables), COUNTERS, _FIXED_METRICS + tuple(_tunable(k) for k in tunables)
    )


def raw_tuple(st: WriteboostStatus, tunables: Sequence[tuple[str, int]]) -> tuple:
    s = st.stats
    return (
        st.cursor_pos, st.nr_cache_blocks, st.nr_segments, st.current_id, st.last_flushed_id,
        st.last_writeback_id, st.nr_dirty_cache_blocks, *s,
        *(sum(s[i] for i in _SUM_OF[k]) for k in SUMS),
        st.nr_partial_flushes, *(v for _, v in tunables),
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


class Writeboost(Collector):
    name = group = "writeboost"
    blocking = True
    instances = "the dm name of the device"
    description = (
        "dm-writeboost caches, one instance per dm name, from `dmsetup status` (every "
        "writeboost target, or the devices `writeboost` names). Hit and miss counters "
        "count I/Os per second, split by read/write, hit/miss, whether the block was on the "
        "RAM buffer and whether the I/O covered a whole 4 KiB cache block. The tunables the "
        "target reports are sent as gauges under their own names (v2.x: writeback_threshold, "
        "nr_cur_batched_writeback, sync_data_interval, update_sb_record_interval, "
        "read_cache_threshold; v1.0 and pre-1.0 targets report their own sets)."
    )
    fields = FIXED_FIELDS + V2_TUNABLES
    counters = COUNTERS
    metrics = _FIXED_METRICS + tuple(_tunable(k) for k in V2_TUNABLES)

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        names = getattr(options, "writeboost", None)
        self.devices: Optional[tuple[str, ...]] = tuple(names) if names else None
        self.timeout: Optional[float] = getattr(options, "command_timeout", None)
        self._schemas: dict[tuple[str, ...], Schema] = {V2_TUNABLES: self.default_schema()}
        self._schema_of: dict[Optional[str], Schema] = {}
        self._errors = BadLines(log, "dmsetup status", self)
        self._devices_down = LogOnce(log)

    # -- running dmsetup --------------------------------------------------------

    def _run(self, argv: Sequence[str]) -> CommandResult:
        """Run dmsetup; a missing or hung one disables the collector (re-probed later)."""
        try:
            return self.source.run(list(argv), self.timeout)
        except CommandError as exc:
            raise Unavailable(str(exc)) from None

    @staticmethod
    def _failure(res: CommandResult) -> str:
        why = _first_line(res.stderr) or _first_line(res.stdout) or "no message"
        return f"{' '.join(res.argv)} exited {res.returncode}: {why}"

    # -- the collector interface --------------------------------------------------

    def schema(self, instance: Optional[str]) -> Schema:
        return self._schema_of.get(instance) or self.default_schema()

    def _schema_for(self, keys: tuple[str, ...]) -> Schema:
        s = self._schemas.get(keys)
        if s is None:
            s = self._schemas[keys] = build_schema(keys)
        return s

    def probe(self) -> None:
        if self.devices is None:
            res = self._run(DISCOVER)
            if res.returncode != 0:
                raise Unavailable(self._failure(res))
            if not parse_writeboost_status(res.stdout, lambda err: None):
                raise Unavailable("no writeboost target (dmsetup status --target writeboost)")
            return
        problems = []
        for name in self.devices:
            res = self._run(("dmsetup", "status", name))
            if res.returncode != 0:
                problems.append(self._failure(res))
            elif parse_writeboost_status(res.stdout, lambda err: None):
                return
            else:
                problems.append(f"{name} is not a writeboost target")
        raise Unavailable("no writeboost target: " + "; ".join(problems))

    def _statuses(self) -> list[tuple[str, WriteboostStatus]]:
        if self.devices is None:
            res = self._run(DISCOVER)
            if res.returncode != 0:
                raise CommandError(self._failure(res))
            found = parse_writeboost_status(res.stdout, self._errors)
            self._errors.end()
            if not found:
                raise Unavailable("no writeboost target any more")
            # Several devices listed: dmsetup names every line.
            return [(st.name or "writeboost", st) for st in found]
        out = []
        failures = []
        for name in self.devices:
            res = self._run(("dmsetup", "status", name))
            if res.returncode != 0:
                self._devices_down.complain(name, f"writeboost: skipping {name}: {self._failure(res)}")
                failures.append(self._failure(res))
                continue
            found = parse_writeboost_status(res.stdout, self._errors)
            if not found:
                self._devices_down.complain(name, f"writeboost: skipping {name}: {name} is not a writeboost target")
                continue
            self._devices_down.release(name, f"writeboost: {name} is back")
            out.extend((st.name or name, st) for st in found)
        self._errors.end()
        if not out and failures:
            raise CommandError("; ".join(failures))
        return out

    def read(self) -> Raw:
        out: dict[Optional[str], tuple] = {}
        schema_of: dict[Optional[str], Schema] = {}
        for inst, st in self._statuses():
            if inst in out:
                continue  # a second writeboost target in one device's table
            tunables = [(k, v) for k, v in st.tunables if k not in _RESERVED]
            schema_of[inst] = self._schema_for(tuple(k for k, _ in tunables))
            out[inst] = raw_tuple(st, tunables)
        self._schema_of = schema_of
        return out
