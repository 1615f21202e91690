"""Grafana provisioning as Grafana reads it: datasource, dashboard provider, dashboards, alert rules."""

from __future__ import annotations

import importlib.util
import re

import pytest
import yaml

from tests.stack.grafana import (
    DASHBOARD_DIR, DATASOURCE_UID, GRAFANA, alert_rules, dashboards, panels, path_expressions,
    targets, variables, variables_used,
)

EXPECTED = {
    "cc-host": "host-overview",
    "cc-disks": "disks",
    "cc-network": "network",
    "cc-nfs-client": "nfs-client",
    "cc-nfs-server": "nfs-server",
    "cc-writeboost": "writeboost",
    "cc-nfs-mounts": "nfs-mounts",
    "cc-agent": "agent-health",
    "cc-probes": "probes",
    "cc-cgroups": "cgroups",
    "cc-process-groups": "process-groups",
    "cc-netstack": "network-stack",
}
# Per-device dashboards and the variable their panels iterate over.
INSTANCE_VARS = {"disks": "disk", "network": "nic", "writeboost": "dev", "probes": "probe", "cgroups": "cgroup",
                 "process-groups": "group", "nfs-mounts": "mount"}
# Grafana unit ids used (packages/grafana-data/src/valueFormats/categories.ts), plus custom suffix units.
UNITS = {"none", "short", "percent", "bytes", "Bps", "pps", "iops", "ops", "cps", "ms", "s", "d"}
DASHBOARDS = dashboards()


def build_module():
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dashboard_files_are_what_the_generator_writes():
    files = build_module().render_all()
    on_disk = {p.name: p.read_text() for p in DASHBOARD_DIR.glob("*.json")}
    assert sorted(on_disk) == sorted(files), "run python3 deploy/grafana/build_dashboards.py"
    for name, text in files.items():
        assert on_disk[name] == text, f"{name} is stale: run python3 deploy/grafana/build_dashboards.py"


def test_every_dashboard_is_there_once():
    uids = {d["uid"]: name for name, d in DASHBOARDS.items()}
    assert uids == EXPECTED
    titles = [d["title"] for d in DASHBOARDS.values()]
    assert len(set(titles)) == len(titles)
    for name, d in DASHBOARDS.items():
        assert len(d["uid"]) <= 40, f"{name}: Grafana uids are at most 40 characters"
        assert d["schemaVersion"] >= 39, name
        assert d["id"] is None, f"{name}: provisioned dashboards carry no database id"
        assert "carbon-client" in d["tags"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_variables(name):
    d = DASHBOARDS[name]
    by_name = {v["name"]: v for v in variables(d)}
    assert by_name["prefix"]["type"] == "textbox"
    assert by_name["prefix"]["query"] == "", "unprefixed paths by default"
    host = by_name["host"]
    assert host["type"] == "query"
    assert host["datasource"]["uid"] == DATASOURCE_UID
    assert host["query"].startswith("expand(${prefix}*.") and host["query"].endswith(")")
    assert re.compile(host["regex"].strip("/")).groups == 1, "the regex must capture the host level"
    assert not host["multi"], "aliases and stat panels assume one host"
    if name in INSTANCE_VARS:
        inst = by_name[INSTANCE_VARS[name]]
        assert inst["type"] == "query" and inst["multi"] and inst["includeAll"]
        assert inst["query"].startswith("${prefix}$host.")
    # Every variable a target or a variable query uses is defined before use.
    defined: set[str] = set()
    for v in variables(d):
        assert variables_used(v.get("query", "")) <= defined, f"{v['name']} uses a later variable"
        defined.add(v["name"])
    for p, t in targets(d):
        assert variables_used(t["target"]) <= defined, f"{p['title']}: {t['target']}"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_have_graphite_targets_and_units(name):
    d = DASHBOARDS[name]
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    found = list(panels(d))
    assert len(found) >= 4
    for p in found:
        title = p["title"]
        assert p["type"] in ("timeseries", "stat"), title
        assert p["datasource"]["uid"] == DATASOURCE_UID, title
        assert p["targets"], f"{title}: no target"
        unit = p["fieldConfig"]["defaults"].get("unit")
        assert unit in UNITS or (unit or "").startswith("suffix:"), f"{title}: unit {unit!r}"
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), title
        for t in p["targets"]:
            assert t["target"].strip(), f"{title}: empty target"
            assert t["datasource"]["uid"] == DATASOURCE_UID
            assert path_expressions(t["target"]), f"{title}: {t['target']} reads no series"
            assert t["target"].count("(") == t["target"].count(")"), t["target"]
            # The agent sends rates already; a derivative would show the rate of a rate.
            assert not re.search(r"(?i)derivative|persecond", t["target"]), t["target"]
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, title
    if name in INSTANCE_VARS:
        var = "$" + INSTANCE_VARS[name]
        assert any(var in t["target"] for _, t in targets(d)), f"no panel uses {var}"


# -- provisioning ------------------------------------------------------------------


def load(rel: str) -> dict:
    return yaml.safe_load((GRAFANA / "provisioning" / rel).read_text())


def test_datasource():
    doc = load("datasources/graphite.yaml")
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    assert ds["type"] == "graphite"
    assert ds["uid"] == DATASOURCE_UID
    assert ds["access"] == "proxy"
    assert ds["url"] == "${GRAPHITE_URL}"
    assert ds["isDefault"] is True
    assert ds["jsonData"]["graphiteVersion"] == "1.1", "graphite-web 1.1: tags, /functions, expand"


def test_dashboard_provider():
    doc = load("dashboards/carbon-client.yaml")
    assert doc["apiVersion"] == 1
    (prov,) = doc["providers"]
    assert prov["type"] == "file"
    assert prov["options"]["path"].startswith("/")
    assert prov["folder"]


ALERT_UIDS = {
    "cc-host-silent", "cc-disk-busy", "cc-fs-full", "cc-writeboost-dirty", "cc-nfs-retrans",
    "cc-agent-dropping", "cc-probe-down", "cc-cert-expiring", "cc-process-group-empty",
    "cc-cgroup-memory-limit", "cc-nfs-unresponsive",
    "cc-pressure", "cc-conntrack-full", "cc-listen-drops",
}
REDUCERS = {"last", "mean", "min", "max", "sum", "count", "median"}
EVALUATORS = {"gt": 1, "lt": 1, "within_range": 2, "outside_range": 2}


def test_alert_rules_file():
    doc = yaml.safe_load((GRAFANA / "provisioning/alerting/carbon-client.yaml").read_text())
    assert doc["apiVersion"] == 1
    (group,) = doc["groups"]
    assert group["name"] and group["folder"] and re.fullmatch(r"\d+[smh]", group["interval"])
    rules = alert_rules()
    assert {r["uid"] for r in rules} == ALERT_UIDS
    titles = [r["title"] for r in rules]
    assert len(set(titles)) == len(titles)


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["uid"])
def test_alert_rule(rule):
    assert rule["title"] and rule["condition"]
    assert rule["noDataState"] in ("OK", "NoData", "Alerting")
    assert rule["execErrState"] in ("OK", "Error", "Alerting")
    assert re.fullmatch(r"\d+[smh]", rule["for"])
    assert rule["annotations"]["summary"]
    assert rule["labels"]["severity"] in ("warning", "critical")
    data = {q["refId"]: q for q in rule["data"]}
    assert len(data) == len(rule["data"]), "refIds are unique"
    assert rule["condition"] in data
    queries = [q for q in rule["data"] if q["datasourceUid"] == DATASOURCE_UID]
    assert queries, "at least one Graphite query"
    for q in queries:
        assert q["relativeTimeRange"]["from"] > q["relativeTimeRange"]["to"] == 0
        assert path_expressions(q["model"]["target"])
        assert q["model"]["refId"] == q["refId"]
    for q in rule["data"]:
        if q["datasourceUid"] == DATASOURCE_UID:
            continue
        assert q["datasourceUid"] == "__expr__"
        m = q["model"]
        assert m["refId"] == q["refId"]
        assert m["expression"] in data and m["expression"] != q["refId"]
        if m["type"] == "reduce":
            assert m["reducer"] in REDUCERS
            assert m["settings"]["mode"] in ("dropNN", "replaceNN", "")
        elif m["type"] == "threshold":
            (cond,) = m["conditions"]
            ev = cond["evaluator"]
            assert len(ev["params"]) == EVALUATORS[ev["type"]]
        else:
            pytest.fail(f"unexpected expression type {m['type']}")
