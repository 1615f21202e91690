"""The writeboost collector against a stand-in ``dmsetup`` first on PATH.

The stand-in replays captured status lines (tests/fixtures/writeboost/) the
way dmsetup prints them: ``status --target writeboost`` lists devices with a
``name: `` prefix, ``status NAME`` prints one device's lines without it. It
can also hang, exit 1, or be missing from PATH altogether.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from carbon_client.agent import Agent
from carbon_client.collectors import REGISTRY
from carbon_client.collectors.writeboost import STAT_KEYS, Writeboost
from carbon_client.config import Config
from carbon_client.lines import Renderer
from carbon_client.metrics import Unavailable
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from carbon_client.source import CommandError, Source
from tests.conftest import FIXTURES, ROOT

WB = FIXTURES / "writeboost"
SAMPLE_226 = (WB / "dmsetup_status.sample.226.txt").read_text().strip()
ISSUE_141 = (WB / "dmsetup_status.issue141.real.txt").read_text().splitlines()
MYLV = ISSUE_141[1].split(": ", 1)[1]  # the second capture, unprefixed
V2_TAIL = ("10 writeback_threshold 0 nr_cur_batched_writeback 1 sync_data_interval 0 "
           "update_sb_record_interval 0 read_cache_threshold 0")
V1_TAIL = ("14 allow_writeback 1 enable_writeback_modulator 0 writeback_threshold 70 "
           "nr_cur_batched_writeback 8 sync_data_interval 60 update_sb_record_interval 0 "
           "read_cache_threshold 0")

STANDIN = """#!/bin/sh
d='{ctl}'
printf '%s\\n' "$*" >> "$d/calls"
case "$(cat "$d/mode")" in
  hang) exec sleep 30 ;;
  slow) sleep 3 ;;
  fail) echo "/dev/mapper/control: open failed: Permission denied" >&2
        echo "Failure to communicate with kernel device-mapper driver." >&2
        exit 1 ;;
esac
if [ "$#" -eq 3 ] && [ "$1" = status ] && [ "$2" = --target ] && [ "$3" = writeboost ]; then
  cat "$d/all"; exit 0
fi
if [ "$#" -eq 2 ] && [ "$1" = status ]; then
  if [ -f "$d/dev.$2" ]; then cat "$d/dev.$2"; exit 0; fi
  echo "Device does not exist." >&2; echo "Command failed." >&2; exit 1
fi
echo "unexpected arguments: $*" >&2
exit 2
"""


class FakeDmsetup:
    """Controls the stand-in: what it prints, and whether it hangs or fails."""

    def __init__(self, tmp: Path) -> None:
        self.ctl = tmp / "dmsetup-ctl"
        self.ctl.mkdir()
        self.bin = tmp / "bin"
        self.bin.mkdir()
        exe = self.bin / "dmsetup"
        exe.write_text(STANDIN.format(ctl=self.ctl))
        exe.chmod(0o755)
        self.mode("ok")
        self.listing("")

    def mode(self, mode: str) -> None:
        (self.ctl / "mode").write_text(mode + "\n")

    def listing(self, text: str) -> None:
        """What ``dmsetup status --target writeboost`` prints."""
        (self.ctl / "all").write_text(text)

    def device(self, name: str, text: str) -> None:
        """What ``dmsetup status NAME`` prints."""
        (self.ctl / f"dev.{name}").write_text(text)

    def calls(self) -> list[str]:
        p = self.ctl / "calls"
        return p.read_text().splitlines() if p.exists() else []


@pytest.fixture
def dmsetup(tmp_path, monkeypatch) -> FakeDmsetup:
    fake = FakeDmsetup(tmp_path)
    monkeypatch.setenv("PATH", f"{fake.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}")
    return fake


def collector(timeout: float = 5.0, **options) -> Writeboost:
    config = replace(Config(), command_timeout=timeout, **options)
    return Writeboost(Source(command_timeout=timeout), config)


def status_line(cursor_pos=2, nr_cache_blocks=762, nr_segments=6, current_id=73, last_flushed_id=73,
                last_writeback_id=67, nr_dirty_cache_blocks=391, stats=(0,) * 16, nr_partial_flushes=0,
                tail=V2_TAIL, name=None) -> str:
    """A status line in writeboost_status()'s token order (writeboost.md)."""
    toks = [0, 204800, "writeboost", cursor_pos, nr_cache_blocks, nr_segments, current_id,
            last_flushed_id, last_writeback_id, nr_dirty_cache_blocks, *stats, nr_partial_flushes]
    line = " ".join(map(str, toks)) + " " + tail
    return f"{name}: {line}" if name else line


def by_key(c: Writeboost, sampled, inst) -> dict:
    return {m.key: v for m, v in zip(sampled.schemas[inst].metrics, sampled.values[inst])}


def render(sampler, sampled, counters="rate") -> dict[str, str]:
    out: list[str] = []
    Renderer(DefaultLayout("h"), counters).render(sampled, 60, out)
    return {p: v for p, v, _ in (ln.split() for ln in "".join(out).splitlines())}


# -- discovery and the two output forms ------------------------------------------------

MIXED_LISTING = "\n".join([
    "vg-root: 0 41943040 linear ",
    "vg-pool: 0 2097152 thin-pool 1 406/4608 7/32768 - rw discard_passdown queue_if_no_space - 1024",
    "vg-thin1: 0 4194304 thin 1024 2047",
    "wb.sample: " + SAMPLE_226,
    ISSUE_141[1],
]) + "\n"


def test_discovery_reads_prefixed_lines_and_skips_other_targets(dmsetup):
    dmsetup.listing(MIXED_LISTING)
    c = collector()
    c.probe()
    raw = c.read()
    assert set(raw) == {"wb.sample", "mylv"}
    assert dmsetup.calls() == ["status --target writeboost"] * 2
    sampled = Sampler(c).update(raw, 0.0)
    v = by_key(c, sampled, "wb.sample")
    # sample.226 tokens 3..9
    assert [v[k] for k in ("cursor_pos", "nr_cache_blocks", "nr_segments", "current_id",
                           "last_flushed_id", "last_writeback_id", "nr_dirty_cache_blocks")] == \
        [2, 762, 6, 73, 73, 67, 391]
    assert v["writeback_lag"] == 73 - 67
    assert v["dirty_ratio"] == pytest.approx(391 / 762 * 100)
    assert v["read_hits"] is None  # a counter: no rate on the first sample
    assert v["nr_cur_batched_writeback"] == 1
    m = by_key(c, sampled, "mylv")
    assert (m["cursor_pos"], m["last_writeback_id"], m["writeback_threshold"]) == (341202, 1504, 70)
    paths = render(Sampler(c), sampled)
    assert paths["h.writeboost.wb_sample.nr_cache_blocks"] == "762"  # the dot never adds a level
    assert paths["h.writeboost.mylv.current_id"] == "2687"


def test_named_devices_read_unprefixed_lines(dmsetup):
    dmsetup.device("wb.sample", SAMPLE_226 + "\n")
    dmsetup.device("mylv", MYLV + "\n")
    c = collector(writeboost=("wb.sample", "mylv"))
    c.probe()
    raw = c.read()
    assert list(raw) == ["wb.sample", "mylv"]
    assert dmsetup.calls() == ["status wb.sample", "status wb.sample", "status mylv"]
    assert raw["wb.sample"][:7] == (2, 762, 6, 73, 73, 67, 391)
    assert raw["mylv"][:7] == (341202, 111085757, 874691, 2687, 2686, 1504, 147638)


def test_named_device_that_is_gone_costs_that_device_only(dmsetup, caplog):
    dmsetup.device("mylv", MYLV + "\n")
    dmsetup.device("vg-root", "0 41943040 linear \n")
    c = collector(writeboost=("gone", "vg-root", "mylv"))
    c.probe()
    with caplog.at_level(logging.WARNING, logger="carbon_client"):
        assert list(c.read()) == ["mylv"]
        assert list(c.read()) == ["mylv"]
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 2  # once per device, not once per cycle
    assert "gone" in msgs[0] and "Device does not exist." in msgs[0]
    assert "vg-root is not a writeboost target" in msgs[1]


def test_all_named_devices_failing_is_an_error_for_the_cycle(dmsetup):
    dmsetup.device("wb1", SAMPLE_226 + "\n")
    c = collector(writeboost=("wb1",))
    c.probe()
    (dmsetup.ctl / "dev.wb1").unlink()
    with pytest.raises(CommandError, match="Device does not exist"):
        c.read()


def test_a_malformed_line_costs_that_device_only(dmsetup, caplog):
    dmsetup.listing("wb-bad: 0 10 writeboost 1 2 3\n" + MIXED_LISTING)
    c = collector()
    with caplog.at_level(logging.WARNING, logger="carbon_client"):
        assert set(c.read()) == {"wb.sample", "mylv"}
        c.read()
    bad = [r.getMessage() for r in caplog.records if "wb-bad" in r.getMessage()]
    assert len(bad) == 1


# -- probe: what disables the collector --------------------------------------------------


def test_no_dmsetup_on_path(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(Unavailable, match="dmsetup"):
        collector().probe()


def test_no_writeboost_target(dmsetup):
    dmsetup.listing("vg-root: 0 41943040 linear \n")
    with pytest.raises(Unavailable, match="no writeboost target"):
        collector().probe()
    dmsetup.listing("No devices found\n")
    with pytest.raises(Unavailable, match="no writeboost target"):
        collector().probe()


def test_named_devices_that_are_not_there(dmsetup):
    with pytest.raises(Unavailable, match="Device does not exist"):
        collector(writeboost=("wb1",)).probe()


def test_dmsetup_exiting_1_at_probe(dmsetup):
    dmsetup.mode("fail")
    with pytest.raises(Unavailable, match="exited 1: /dev/mapper/control: open failed"):
        collector().probe()


def test_dmsetup_exiting_1_at_read_fails_the_cycle(dmsetup):
    dmsetup.listing(MIXED_LISTING)
    c = collector()
    c.probe()
    dmsetup.mode("fail")
    with pytest.raises(CommandError, match="exited 1"):
        c.read()
    dmsetup.mode("ok")
    assert set(c.read()) == {"wb.sample", "mylv"}


@pytest.mark.parametrize("at", ["probe", "read"])
def test_hung_dmsetup_gives_up_within_the_timeout(dmsetup, at):
    dmsetup.listing(MIXED_LISTING)
    c = collector(timeout=0.5)
    if at == "read":
        c.probe()
    dmsetup.mode("hang")
    t0 = time.monotonic()
    with pytest.raises(Unavailable, match=r"no answer within 0\.5 s"):
        c.probe() if at == "probe" else c.read()
    assert 0.4 < time.monotonic() - t0 < 2.0


def test_targets_gone_at_read_disable(dmsetup):
    dmsetup.listing(MIXED_LISTING)
    c = collector()
    c.probe()
    dmsetup.listing("vg-root: 0 41943040 linear \n")
    with pytest.raises(Unavailable, match="no writeboost target"):
        c.read()


# -- rates, ratios and totals over two samples ---------------------------------------------

# stats (write<<3 | hit<<2 | on_buffer<<1 | fullsize) of the two snapshots
STATS_1 = (12, 224, 0, 0, 15, 9, 1, 0, 15, 6567, 0, 0, 1, 0, 15, 0)  # sample.226 tokens 10..25
STATS_2 = (12, 234, 0, 0, 25, 39, 1, 0, 15, 6767, 0, 0, 11, 0, 55, 0)
# deltas over 2 s: stat1 read miss full +10; stat4 read hit partial +10; stat5 read hit full +30;
# stat9 write miss full +200; stat12 write hit partial +10; stat14 write hit buffer partial +40.


def two_samples(dmsetup, counters="rate", legacy=False):
    dmsetup.listing(status_line(stats=STATS_1, nr_partial_flushes=11, name="wb.sample") + "\n")
    c = collector(counters=counters, layout="legacy" if legacy else "default")
    s = Sampler(c, want_totals=counters != "rate")
    s.update(c.read(), 100.0)
    dmsetup.listing(status_line(stats=STATS_2, nr_partial_flushes=15, current_id=80, last_flushed_id=79,
                                last_writeback_id=70, nr_dirty_cache_blocks=381,
                                name="wb.sample") + "\n")
    return c, s, s.update(c.read(), 102.0)


def test_exact_rates_and_hit_ratios(dmsetup):
    c, s, sampled = two_samples(dmsetup)
    v = by_key(c, sampled, "wb.sample")
    assert v["read_hits"] == 20.0       # (10 + 30) / 2 s
    assert v["read_misses"] == 5.0      # 10 / 2 s
    assert v["write_hits"] == 25.0      # (10 + 40) / 2 s
    assert v["write_misses"] == 100.0   # 200 / 2 s
    assert v["read_hit_ratio"] == pytest.approx(80.0)   # 40 of 50 reads
    assert v["write_hit_ratio"] == pytest.approx(20.0)  # 50 of 250 writes
    assert v["nr_partial_flushes"] == 2.0  # (15 - 11) / 2 s
    assert v["read_miss_nobuffer_full"] == 5.0
    assert v["read_hit_nobuffer_partial"] == 5.0
    assert v["read_hit_nobuffer_full"] == 15.0
    assert v["write_miss_nobuffer_full"] == 100.0
    assert v["write_hit_nobuffer_partial"] == 5.0
    assert v["write_hit_buffer_partial"] == 20.0
    for k in ("read_miss_nobuffer_partial", "read_hit_buffer_full", "write_hit_buffer_full",
              "write_miss_buffer_partial"):
        assert v[k] == 0.0
    assert v["dirty_ratio"] == pytest.approx(50.0)  # 381 of 762 blocks
    assert v["writeback_lag"] == 10                 # 80 - 70
    assert v["current_id"] == 80


def test_no_io_in_the_interval_has_no_hit_ratio(dmsetup):
    dmsetup.listing(status_line(stats=STATS_1, name="wb") + "\n")
    c = collector()
    s = Sampler(c)
    s.update(c.read(), 0.0)
    v = by_key(c, s.update(c.read(), 10.0), "wb")
    assert v["read_hits"] == 0.0 and v["read_hit_ratio"] is None and v["write_hit_ratio"] is None


def test_counters_both_sends_raw_totals(dmsetup):
    c, s, sampled = two_samples(dmsetup, counters="both")
    paths = render(s, sampled, "both")
    assert paths["h.writeboost.wb_sample.read_hits"] == "20"
    assert paths["h.writeboost.wb_sample.read_hits_total"] == str(25 + 39 + 1)
    assert paths["h.writeboost.wb_sample.write_misses_total"] == str(15 + 6767)
    assert paths["h.writeboost.wb_sample.write_hit_buffer_partial_total"] == "55"
    assert paths["h.writeboost.wb_sample.nr_partial_flushes_total"] == "15"
    assert "h.writeboost.wb_sample.read_hit_ratio_total" not in paths
    assert "h.writeboost.wb_sample.cursor_pos_total" not in paths


def test_counter_going_back_gives_no_rate(dmsetup):
    c, s, _ = two_samples(dmsetup)
    dmsetup.listing(status_line(stats=STATS_1, name="wb.sample") + "\n")  # target re-created
    v = by_key(c, s.update(c.read(), 104.0), "wb.sample")
    assert v["read_hits"] is None and v["read_hit_ratio"] is None
    assert v["writeback_lag"] == 6


# -- schemas per tunables layout ------------------------------------------------------------


def test_schema_per_tunables_layout(dmsetup):
    dmsetup.listing("\n".join([
        status_line(name="wb-v2"),
        status_line(name="wb-v1", tail=V1_TAIL),
        status_line(name="wb-v2b"),
    ]) + "\n")
    c = collector()
    s = Sampler(c)
    sampled = s.update(c.read(), 0.0)
    v2, v1, v2b = (c.schema(n) for n in ("wb-v2", "wb-v1", "wb-v2b"))
    assert v2 is v2b and v2 is not v1
    assert v2 is c.default_schema()  # the declared schema is the v2.x one
    assert [m.key for m in v1.metrics][-7:] == [
        "allow_writeback", "enable_writeback_modulator", "writeback_threshold",
        "nr_cur_batched_writeback", "sync_data_interval", "update_sb_record_interval",
        "read_cache_threshold",
    ]
    assert by_key(c, sampled, "wb-v1")["sync_data_interval"] == 60
    assert by_key(c, sampled, "wb-v1")["allow_writeback"] == 1
    assert "allow_writeback" not in by_key(c, sampled, "wb-v2")
    c.read()
    assert c.schema("wb-v1") is v1  # the same object while the layout is unchanged


def test_stat_names_follow_the_bit_order():
    assert STAT_KEYS[0] == "read_miss_nobuffer_partial"
    assert STAT_KEYS[1] == "read_miss_nobuffer_full"
    assert STAT_KEYS[2] == "read_miss_buffer_partial"
    assert STAT_KEYS[4] == "read_hit_nobuffer_partial"
    assert STAT_KEYS[8] == "write_miss_nobuffer_partial"
    assert STAT_KEYS[15] == "write_hit_buffer_full"
    assert len(set(STAT_KEYS)) == 16


def test_the_collector_does_not_depend_on_the_layout(dmsetup):
    c, _, sampled = two_samples(dmsetup, legacy=True)
    assert list(sampled.values) == ["wb.sample"]  # naming is the layout's business
    assert by_key(c, sampled, "wb.sample")["nr_partial_flushes"] == 2.0


def test_registered():
    assert REGISTRY["writeboost"] is Writeboost


def test_metric_reference_lists_every_key():
    doc = (ROOT / "docs" / "WRITEBOOST.md").read_text()
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", doc, re.M))
    declared = {m.key for m in Writeboost.default_schema().metrics}
    assert declared <= documented


# -- the agent: a hung dmsetup must not cost the other groups --------------------------------


def agent_config(**kw) -> Config:
    values = dict(proc_root=str(FIXTURES / "procfs"), sys_root=str(FIXTURES), hostname="fx",
                  collectors=("load", "memory", "writeboost"), command_timeout=0.5)
    return replace(Config(), **{**values, **kw})


def settle(agent, deadline=10.0):
    """Wait until no off-cycle read is in flight; the sender-less agent keeps their samples."""
    t0 = time.monotonic()
    while any(s.busy for s in agent.slots):
        assert time.monotonic() - t0 < deadline, "an off-cycle read never ended"
        time.sleep(0.01)


class Lines:
    """A sender that keeps what the off-cycle reads put."""

    def __init__(self):
        self.data = []

    def put(self, data, lines):
        self.data.append(data.decode())

    def health(self):
        return (0,) * 8

    def text(self):
        return "".join(self.data)


def test_agent_with_dmsetup_hanging_from_the_start(dmsetup, caplog):
    dmsetup.mode("hang")
    now = [0.0]
    sender = Lines()
    with caplog.at_level(logging.INFO, logger="carbon_client"):
        t0 = time.monotonic()
        agent = Agent(agent_config(), monotonic=lambda: now[0], health=False, sender=sender)
        text = agent.cycle(60).data.decode()
        assert time.monotonic() - t0 < 0.4  # the probe of dmsetup runs off the cycle
        settle(agent)
    assert agent.enabled == ["load", "memory"]
    assert "fx.load.1m 0.02 60\n" in text and "fx.memory.total " in text
    assert ".writeboost." not in text + sender.text()
    msgs = [r.getMessage() for r in caplog.records if "writeboost" in r.getMessage()]
    assert len(msgs) == 1 and "no answer within 0.5 s" in msgs[0]


def test_agent_with_dmsetup_hanging_mid_run(dmsetup, caplog):
    dmsetup.listing(MIXED_LISTING)
    now = [0.0]
    sender = Lines()
    agent = Agent(agent_config(), monotonic=lambda: now[0], health=False, sender=sender)
    agent.cycle(60)
    settle(agent)
    assert agent.enabled == ["load", "memory", "writeboost"]
    assert "fx.writeboost.wb_sample.cursor_pos 2 60\n" in sender.text()
    before = len(sender.data)
    dmsetup.mode("hang")
    with caplog.at_level(logging.INFO, logger="carbon_client"):
        for ts in (70, 80):
            now[0] += 10
            t0 = time.monotonic()
            text = agent.cycle(ts).data.decode()
            assert time.monotonic() - t0 < 0.3  # never waits for dmsetup
            assert f"fx.load.1m 0.02 {ts}\n" in text and "fx.memory.free " in text
            settle(agent)
    assert ".writeboost." not in "".join(sender.data[before:])
    assert agent.enabled == ["load", "memory"]
    msgs = [r.getMessage() for r in caplog.records if "writeboost" in r.getMessage()]
    assert len(msgs) == 1 and "disabled" in msgs[0]


def test_agent_looks_again_and_enables_it(dmsetup, caplog, monkeypatch):
    dmsetup.mode("hang")
    now = [0.0]
    sender = Lines()
    agent = Agent(agent_config(), monotonic=lambda: now[0], health=False, sender=sender)
    agent.cycle(60)
    settle(agent)
    assert "writeboost" not in agent.enabled
    dmsetup.listing(MIXED_LISTING)
    dmsetup.mode("ok")
    caplog.clear()
    later = time.time() + 301  # the agent looks again after REPROBE_SECONDS
    monkeypatch.setattr("carbon_client.agent.time.time", lambda: later)
    with caplog.at_level(logging.INFO, logger="carbon_client"):
        now[0] += 300
        agent.cycle(300)
        settle(agent)
    assert agent.enabled == ["load", "memory", "writeboost"]
    assert "fx.writeboost.wb_sample.nr_segments 6 300\n" in sender.text()
    assert [r.getMessage() for r in caplog.records] == ["collector writeboost enabled: its source appeared"]


def test_a_slow_dmsetup_costs_the_proc_groups_no_tick(dmsetup):
    """dmsetup answering in 3 s at a 1 s interval: load is sent every tick, writeboost
    when it answers, stamped with the tick it was asked at; the ticks it was busy are counted."""
    dmsetup.listing(MIXED_LISTING)
    sender = Lines()
    agent = Agent(agent_config(interval=1, command_timeout=5), health=False, sender=sender)
    dmsetup.mode("slow")
    stamps = []
    for ts in range(100, 108):
        t0 = time.monotonic()
        stamps.append("fx.load.1m 0.02 %d\n" % ts in agent.cycle(ts).data.decode())
        assert time.monotonic() - t0 < 0.3
        time.sleep(1.0)
    settle(agent)
    assert all(stamps)
    wb = [line.split()[2] for line in sender.text().splitlines() if ".writeboost.mylv.cursor_pos " in line]
    assert wb and set(wb) <= {str(ts) for ts in range(100, 108)}
    slot = next(s for s in agent.slots if s.collector.name == "writeboost")
    assert slot.skipped >= 3 and slot.timeouts == 0


def test_agent_with_dmsetup_failing_logs_once(dmsetup, caplog):
    dmsetup.listing(MIXED_LISTING)
    now = [0.0]
    sender = Lines()
    agent = Agent(agent_config(), monotonic=lambda: now[0], health=False, sender=sender)
    agent.cycle(50)
    settle(agent)
    dmsetup.mode("fail")
    with caplog.at_level(logging.INFO, logger="carbon_client"):
        for ts in (60, 70, 80):
            now[0] += 10
            text = agent.cycle(ts).data.decode()
            settle(agent)
            assert f"fx.load.1m 0.02 {ts}\n" in text and f".writeboost.mylv.cursor_pos 341202 {ts}" not in sender.text()
        dmsetup.mode("ok")
        now[0] += 10
        agent.cycle(90)
        settle(agent)
        assert "fx.writeboost.mylv.cursor_pos 341202 90\n" in sender.text()
    msgs = [r.getMessage() for r in caplog.records if "writeboost" in r.getMessage()]
    assert msgs == [msgs[0], "collector writeboost recovered"]
    assert "collector writeboost failed" in msgs[0] and "exited 1" in msgs[0]
