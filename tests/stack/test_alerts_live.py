"""The provisioned alert rules evaluated on real data through graphite-web.

Grafana runs each rule as: query A over its window (relativeTimeRange), B =
reduce every series (non-numbers dropped: mode dropNN), C = threshold on B;
one alert instance per series. The same steps here, on the live stack: each
rule must fire for the synthetic ``ghost-*`` host made to trip it, and stay
quiet for the healthy agents where the outcome is known.
"""

from __future__ import annotations

import math
import statistics

import pytest

from tests.stack.conftest import FIXTURE_HOST, MAIN_HOST, collector_missing
from tests.stack.grafana import DATASOURCE_UID, alert_rules

pytestmark = pytest.mark.integration

RULES = {r["uid"]: r for r in alert_rules()}
REDUCE = {
    "last": lambda v: v[-1],
    "mean": statistics.fmean,
    "min": min,
    "max": max,
    "sum": math.fsum,
    "count": len,
    "median": statistics.median,
}


def evaluate(web, rule: dict) -> dict[str, bool]:
    """series name -> firing, as Grafana's A/reduce/threshold chain decides."""
    data = {q["refId"]: q for q in rule["data"]}
    results: dict[str, dict[str, float]] = {}

    def run(ref: str) -> dict[str, float]:
        if ref in results:
            return results[ref]
        q = data[ref]
        if q["datasourceUid"] == DATASOURCE_UID:
            window = q["relativeTimeRange"]["from"]
            out = {s["target"]: [v for v, _ in s["datapoints"]]
                   for s in web.render(q["model"]["target"], since=f"-{window}s")}
        else:
            m = q["model"]
            src = run(m["expression"])
            if m["type"] == "reduce":
                assert m["settings"]["mode"] == "dropNN"
                out = {}
                for name, values in src.items():
                    kept = [v for v in values if v is not None and not math.isnan(v)]
                    out[name] = REDUCE[m["reducer"]](kept) if kept else math.nan
            else:
                ev = m["conditions"][0]["evaluator"]
                (limit,) = ev["params"]
                cmp = {"gt": lambda x: x > limit, "lt": lambda x: x < limit}[ev["type"]]
                out = {name: (not math.isnan(x)) and cmp(x) for name, x in src.items()}
        results[ref] = out
        return out

    return run(rule["condition"])


def by_host(firing: dict[str, bool]) -> dict[str, bool]:
    """Series names are aliased to the host (and instance): any instance firing fires the host."""
    out: dict[str, bool] = {}
    for name, state in firing.items():
        host = name.split(".")[0]
        out[host] = out.get(host, False) or state
    return out


@pytest.mark.parametrize("uid", sorted(RULES))
def test_each_series_is_its_own_alert_instance(stack, uid):
    """Grafana labels a Graphite series with its tags: equal tags would collide as one instance."""
    (query,) = [q for q in RULES[uid]["data"] if q["datasourceUid"] == DATASOURCE_UID]
    series = stack.web.render(query["model"]["target"], since=f"-{query['relativeTimeRange']['from']}s")
    assert series, f"{uid}: no series at all"
    tags = [tuple(sorted(s["tags"].items())) for s in series]
    assert len(set(tags)) == len(tags), tags


def test_host_silent(stack):
    hosts = by_host(evaluate(stack.web, RULES["cc-host-silent"]))
    assert hosts["ghost-silent"] is True
    assert hosts[MAIN_HOST] is False and hosts[FIXTURE_HOST] is False
    assert hosts["ghost-dropping"] is False


def test_agent_dropping_lines(stack):
    hosts = by_host(evaluate(stack.web, RULES["cc-agent-dropping"]))
    assert hosts["ghost-dropping"] is True
    assert hosts[MAIN_HOST] is False, "a healthy agent on loopback drops nothing"


def test_disk_busy(stack):
    firing = evaluate(stack.web, RULES["cc-disk-busy"])
    assert firing["ghost-busy.sdz"] is True
    assert not [n for n in firing if n.endswith(".total")], "total repeats the busiest disk"
    assert any(n.startswith(MAIN_HOST + ".") for n in firing), "this host's disks are evaluated"


def test_filesystem_full(stack):
    firing = evaluate(stack.web, RULES["cc-fs-full"])
    assert firing["ghost-full.data"] is True
    assert any(n.startswith(MAIN_HOST + ".") for n in firing)


def test_writeboost_dirty(stack):
    if why := collector_missing("writeboost"):
        pytest.skip(why)
    firing = evaluate(stack.web, RULES["cc-writeboost-dirty"])
    assert firing["ghost-wb.cache0"] is True
    # The captures: 391 of 762 cache blocks dirty (51 %), and 7104 of 111085757.
    assert firing[f"{FIXTURE_HOST}.wb_sample"] is False
    assert firing[f"{FIXTURE_HOST}.mylv"] is False


def test_nfs_retransmissions(stack):
    if why := collector_missing("nfs"):
        pytest.skip(why)
    hosts = by_host(evaluate(stack.web, RULES["cc-nfs-retrans"]))
    assert hosts["ghost-nfs"] is True, "9 of 200 calls retransmitted: 4.5 %"
    assert hosts[FIXTURE_HOST] is False, "the captured client never retransmitted"


def test_probe_down(stack):
    firing = evaluate(stack.web, RULES["cc-probe-down"])
    assert firing["ghost-probe.web"] is True
    assert firing[f"{MAIN_HOST}.carbon"] is False, "the stack's carbon-cache answers"
    assert firing[f"{MAIN_HOST}.tls"] is False


def test_certificate_expiring(stack):
    firing = evaluate(stack.web, RULES["cc-cert-expiring"])
    assert firing["ghost-cert.site"] is True
    assert firing[f"{MAIN_HOST}.tls"] is False, "the stack's TLS server has 200 days left"


def test_process_group_empty(stack):
    if why := collector_missing("process"):
        pytest.skip(why)
    firing = evaluate(stack.web, RULES["cc-process-group-empty"])
    assert firing["ghost-procs.web"] is True
    assert firing["ghost-procs.db"] is False
    # The stack agent's own groups: one finds nothing, the others find the agents.
    assert firing[f"{MAIN_HOST}.absent"] is True
    assert firing[f"{MAIN_HOST}.agent"] is False and firing[f"{MAIN_HOST}.agents"] is False


def test_cgroup_memory_limit(stack):
    if why := collector_missing("cgroup"):
        pytest.skip(why)
    firing = evaluate(stack.web, RULES["cc-cgroup-memory-limit"])
    assert firing["ghost-cgroup.web"] is True
    assert firing["ghost-cgroup.db"] is False
    # The 6.x capture: memory.current 13071106048 of memory.max 103079215104, 12.7 %;
    # the Fedora services have no limit, so no memory_percent at all.
    assert firing[f"{FIXTURE_HOST}.capture"] is False
    assert not [n for n in firing if n.startswith(f"{FIXTURE_HOST}.") and n != f"{FIXTURE_HOST}.capture"]

def test_nfs_mount_unresponsive(stack):
    if why := collector_missing("nfsmount"):
        pytest.skip(why)
    hosts = by_host(evaluate(stack.web, RULES["cc-nfs-unresponsive"]))
    assert hosts["ghost-nfsmount"] is True, "responsive 0 in every sample of the window"
    assert hosts[FIXTURE_HOST] is False, "the fixture's NFS mounts are directories that answer"


def test_memory_or_io_pressure(stack):
    if why := collector_missing("pressure"):
        pytest.skip(why)
    firing = evaluate(stack.web, RULES["cc-pressure"])
    assert firing["ghost-pressure.memory"] is True, "memory full avg60 35.5 % for 10 minutes"
    assert firing["ghost-pressure.io"] is False, "io full avg60 2.5 %"
    # The 6.18 capture: memory full avg60 0.00, io full avg60 0.04
    assert firing[f"{FIXTURE_HOST}.memory"] is False and firing[f"{FIXTURE_HOST}.io"] is False
    assert any(n.startswith(MAIN_HOST + ".") for n in firing), "this host's pressure is evaluated"


def test_conntrack_almost_full(stack):
    if why := collector_missing("conntrack"):
        pytest.skip(why)
    hosts = by_host(evaluate(stack.web, RULES["cc-conntrack-full"]))
    assert hosts["ghost-conntrack"] is True
    assert hosts[FIXTURE_HOST] is False, "the capture tracks 0 of 262144"


def test_listen_drops(stack):
    if why := collector_missing("netstat"):
        pytest.skip(why)
    hosts = by_host(evaluate(stack.web, RULES["cc-listen-drops"]))
    assert hosts["ghost-listen"] is True
    assert hosts[FIXTURE_HOST] is False, "the capture's counters do not move: 0 drops per second"
