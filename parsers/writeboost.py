"""dm-writeboost ``dmsetup status`` lines (dm-writeboost-target.c ``writeboost_status()``, STATUSTYPE_INFO).

``dmsetup status NAME`` prints ``<start> <length> writeboost <info...>``; plain
``dmsetup status`` and ``dmsetup status --target writeboost`` list several
devices and put ``<name>: `` before every target line (lvm2 tools/dmsetup.c
``_status``: ``if (multiple_devices) printf("%s: ", name)``). Both forms are
recognised line by line: wbstatus assumes the unprefixed one and reads every
field one token off when given the other (dm-writeboost issue #171).

Info tokens after ``writeboost`` (the same from pre-1.0 to v2.2.18)::

    cursor_pos nr_cache_blocks nr_segments current_id last_flushed_id
    last_writeback_id (pre-1.0: last_migrated_id) nr_dirty_cache_blocks
    stat[0..15] nr_partial_flushed <n> <n tokens of key value pairs>

``stat[i]`` counts I/Os by ``i = write<<3 | hit<<2 | on_buffer<<1 | fullsize``
(enum STATFLAG, ``inc_stat()``). The tunables tail is ``10`` and five pairs in
v2.0.0..v2.2.18, ``14`` and seven pairs in v1.0.0 (allow_writeback,
enable_writeback_modulator first) and in pre-1.0 releases (barrier_deadline_ms,
allow_migrate, ... migrate_threshold, nr_cur_batched_migration, sync_interval,
update_record_interval).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ._common import excerpt, OnError, ParseError, report, uints

TARGET = "writeboost"
NR_STATS = 16
# start, length, "writeboost", 7 gauges, 16 stats, partial flushes.
_LEADING = 27

# One target line: optional "<name>: ", then "<start> <length> <target>" and the
# target's own words. The name is matched lazily, so the first ": " that is
# followed by two numbers and a word ends it.
# Target type names (linear, thin-pool, writeboost...) start with a letter.
_PREFIXED = re.compile(r"(?P<name>.+?):[ \t]+(?P<body>[0-9]+[ \t]+[0-9]+[ \t]+[A-Za-z]\S*(?:[ \t].*)?)", re.A)
_UNPREFIXED = re.compile(r"[0-9]+[ \t]+[0-9]+[ \t]+[A-Za-z]\S*(?:[ \t]|$)", re.A)
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.A)
_INT = re.compile(r"-?[0-9]+", re.A)

# What dmsetup prints instead of status lines when there is no device at all.
_NO_DEVICES = "No devices found"


def stat_index(write: bool, hit: bool, on_buffer: bool, fullsize: bool) -> int:
    """Position in ``stats`` of the I/Os with these four flags (enum STATFLAG)."""
    return (int(write) << 3) | (int(hit) << 2) | (int(on_buffer) << 1) | int(fullsize)


@dataclass(frozen=True, slots=True)
class WriteboostStatus:
    """One writeboost target line of ``dmsetup status``.

    ``name`` is the dm name when dmsetup printed it (several devices listed),
    else None. ``stats[stat_index(write, hit, on_buffer, fullsize)]`` counts
    I/Os since the target was created. ``tunables`` keeps the reported key
    value pairs in order; their keys tell the version apart.
    """

    name: Optional[str]
    start: int
    length: int
    cursor_pos: int
    nr_cache_blocks: int
    nr_segments: int
    current_id: int
    last_flushed_id: int
    last_writeback_id: int
    nr_dirty_cache_blocks: int
    stats: tuple[int, ...]
    nr_partial_flushes: int
    tunables: tuple[tuple[str, int], ...]

    def stat(self, write: bool, hit: bool, on_buffer: bool, fullsize: bool) -> int:
        return self.stats[stat_index(write, hit, on_buffer, fullsize)]

    @property
    def tunable_keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.tunables)


def split_target_line(line: str) -> Optional[tuple[Optional[str], list[str]]]:
    """``(name or None, tokens from <start> on)`` of one dmsetup status/table line.

    None for a line that is not a target line. The unprefixed form is taken
    when the line starts with two numbers and a word, so a device named like
    a number (``0: 0 100 linear``) still reads as prefixed (``0:`` is no number).
    A target type starts with a letter.
    """
    text = line.strip()
    if _UNPREFIXED.match(text):
        return None, text.split()
    m = _PREFIXED.fullmatch(text)
    if m is None:
        return None
    return m.group("name"), m.group("body").split()


def _parse_tokens(line: str, name: Optional[str], tok: list[str]) -> WriteboostStatus:
    n = len(tok)
    if n < _LEADING + 1:
        raise ParseError(
            f"writeboost: {excerpt(line)}: expected {_LEADING} leading fields and the tunables count, got {n} fields"
        )
    lead = uints("writeboost", line, tok[:2] + tok[3:_LEADING + 1])
    count = lead[-1]
    tail = tok[_LEADING + 1:]
    if count % 2 or len(tail) != count:
        raise ParseError(
            f"writeboost: {excerpt(line)}: tunables count {count} does not match the {len(tail)} fields after it"
        )
    pairs = []
    for k, v in zip(tail[0::2], tail[1::2]):
        if not _KEY.fullmatch(k) or not _INT.fullmatch(v):
            raise ParseError(f"writeboost: {excerpt(line)}: expected 'key value' tunables, got {excerpt(k)} {excerpt(v)}")
        try:
            pairs.append((k, int(v)))
        except ValueError as exc:  # beyond int()'s digit limit
            raise ParseError(f"writeboost: {excerpt(line)}: {exc}") from None
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ParseError(f"writeboost: {excerpt(line)}: a tunable is reported twice")
    # lead: start, length, then tokens 3..26 (7 gauges, 16 stats, partial flushes), count.
    return WriteboostStatus(
        name, lead[0], lead[1], *lead[2:9], tuple(lead[9:9 + NR_STATS]), lead[9 + NR_STATS], tuple(pairs)
    )


def parse_writeboost_line(line: str) -> Optional[WriteboostStatus]:
    """One status line: the record, None for another target's line, or ParseError."""
    split = split_target_line(line)
    if split is None:
        raise ParseError(f"writeboost: {excerpt(line)}: expected '[name: ]start length target ...'")
    name, tok = split
    if tok[2] != TARGET:
        return None
    return _parse_tokens(line, name, tok)


def parse_writeboost_status(text: str, on_error: OnError = None) -> list[WriteboostStatus]:
    """Every writeboost target of a ``dmsetup status`` output, in output order.

    Lines of other targets are skipped, and so are a device without a table
    (``name:`` alone) and dmsetup's ``No devices found``. A malformed line
    raises ParseError, or with ``on_error`` is reported and skipped so the
    other devices survive.
    """
    out: list[WriteboostStatus] = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s == _NO_DEVICES or s.endswith(":"):
            continue
        try:
            rec = parse_writeboost_line(s)
        except ParseError as err:
            report(on_error, err)
            continue
        if rec is not None:
            out.append(rec)
    return out
