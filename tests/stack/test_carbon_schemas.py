"""The shipped storage-schemas.conf and storage-aggregation.conf in a real carbon-cache.

Carbon picks a Whisper file's archives and roll-up the first time it sees a series, by
the first pattern that matches. A carbon-client host named ``carbon`` or ``stats`` must
get carbon-client's retention and roll-up, not carbon's own or statsd's: the files are
created here from one line each, and whisper reads back what they got.
"""

from __future__ import annotations

import configparser
import time

import pytest

from tests.carbon_server import CarbonCache, carbon_cache_command
from tests.conftest import ROOT, require
from tests.stack.ghosts import send_lines

whisper = pytest.importorskip("whisper")

pytestmark = pytest.mark.integration

GRAPHITE = ROOT / "deploy" / "graphite"


def retentions(section: str) -> list[tuple[int, int]]:
    cp = configparser.ConfigParser()
    cp.read(GRAPHITE / "storage-schemas.conf")
    return [whisper.parseRetentionDef(r) for r in cp[section]["retentions"].split(",")]


# path -> (storage-schemas section, aggregationMethod)
EXPECTED = {
    # carbon-client hosts named like carbon's and statsd's namespaces
    "carbon.cpu.total.user": ("carbon_client", "average"),
    "carbon.carbon_client.connected": ("carbon_client", "min"),
    "stats.process.web.count": ("carbon_client", "average"),
    "stats.disk.sda.busy_percent": ("carbon_client", "average"),
    "statsd.load.1m": ("carbon_client", "average"),
    "servers.dc1.carbon.memory.used": ("carbon_client", "average"),
    # carbon's and statsd's own
    "carbon.agents.graphite-a.metricsReceived": ("carbon", "average"),
    "carbon.relays.graphite-a.metricsReceived": ("carbon", "average"),
    "stats.timers.api.upper_90": ("statsd", "max"),
    "stats.timers.api.lower": ("statsd", "min"),
    "stats.timers.api.count": ("statsd", "sum"),
    "stats.gauges.queue": ("statsd", "average"),
    "stats_counts.api.requests": ("statsd", "sum"),
    "statsd.numStats": ("statsd", "average"),
}


def test_each_series_gets_its_schema_and_roll_up(tmp_path):
    require(carbon_cache_command() is not None, "carbon-cache.py not installed (pip install carbon)")
    cache = CarbonCache(tmp_path / "carbon", schemas=GRAPHITE / "storage-schemas.conf",
                        aggregation=GRAPHITE / "storage-aggregation.conf")
    try:
        cache.start()
        now = int(time.time())
        send_lines(cache.port, [f"{path} 1 {now}" for path in EXPECTED])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(cache.wsp(p).exists() for p in EXPECTED):
            time.sleep(0.1)
        time.sleep(0.2)  # a file exists before its header is complete
        got = {}
        for path in EXPECTED:
            info = whisper.info(str(cache.wsp(path)))
            archives = [(a["secondsPerPoint"], a["points"]) for a in info["archives"]]
            got[path] = (archives, info["aggregationMethod"])
    finally:
        cache.stop()
    wrong = {p: g for p, g in got.items() if g != (retentions(EXPECTED[p][0]), EXPECTED[p][1])}
    assert not wrong, f"expected {EXPECTED}, got {wrong}"
    assert retentions("carbon_client") != retentions("carbon") != retentions("statsd"), "the test tells them apart"


def test_a_new_host_is_created_in_its_first_minute(stack):
    """Every series this machine's agent sends gets its file within one minute of carbon's
    create budget (MAX_CREATES_PER_MINUTE): none of a new host's points are dropped."""
    cp = configparser.ConfigParser()
    cp.read(GRAPHITE / "carbon.conf")
    budget = float(cp["cache"]["MAX_CREATES_PER_MINUTE"])
    sent = [m for m in stack.cache.metrics() if m.startswith(stack.hosts["main"] + ".")]
    assert 200 < len(sent) <= budget, f"{len(sent)} series, {budget:.0f} creates a minute"
