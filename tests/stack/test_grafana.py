"""Grafana provisioning as Grafana reads it: datasource, dashboard provider, dashboards, alert rules."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
import yaml

from tests.conftest import ROOT
from tests.stack.grafana import (
    DASHBOARD_DIR, DATASOURCE_UID, GRAFANA, IMPORT_DIR, alert_rules, dashboards, panels, path_expressions,
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
    "cc-host-tags": "host-overview-tags",
}
# Per-device dashboards and the variable their panels iterate over.
INSTANCE_VARS = {"disks": "disk", "network": "nic", "writeboost": "dev", "probes": "probe", "cgroups": "cgroup",
                 "process-groups": "group", "nfs-mounts": "mount"}
# Grafana unit ids used (packages/grafana-data/src/valueFormats/categories.ts), plus custom suffix units.
UNITS = {"none", "short", "percent", "bytes", "Bps", "pps", "iops", "ops", "cps", "ms", "s", "d"}
DASHBOARDS = dashboards()
IMPORTABLE = dashboards(IMPORT_DIR)
# Every panel, target and query variable reads the datasource variable.
DS_VAR = {"type": "graphite", "uid": "${datasource}"}


def build_module():
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dashboard_files_are_what_the_generator_writes():
    files = build_module().render_all()
    on_disk = {str(p.relative_to(GRAFANA)): p.read_text()
               for d in (DASHBOARD_DIR, IMPORT_DIR) for p in d.glob("*.json")}
    assert sorted(on_disk) == sorted(n for n in files if n.endswith(".json")), \
        "run python3 deploy/grafana/build_dashboards.py"
    for name, text in files.items():
        assert (GRAFANA / name).read_text() == text, f"{name} is stale: run python3 deploy/grafana/build_dashboards.py"


def test_check_mode_finds_a_stale_file(tmp_path):
    """``--check`` exits 1 and names the file when one differs from what the tables give."""
    import subprocess
    import sys

    script = GRAFANA / "build_dashboards.py"
    ok = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    victim = DASHBOARD_DIR / "probes.json"
    saved = victim.read_text()
    try:
        victim.write_text(saved.replace('"Up"', '"Down"', 1))
        stale = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    finally:
        victim.write_text(saved)
    assert stale.returncode == 1 and "probes.json" in stale.stderr


def test_builder_modules_stay_small():
    for path in sorted((GRAFANA / "builder").glob("*.py")) + [GRAFANA / "build_dashboards.py"]:
        lines = len(path.read_text().splitlines())
        assert lines <= 400, f"{path.name}: {lines} lines; split it"


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
    assert variables(d)[0]["name"] == "datasource", "defined before every variable that uses it"
    ds = by_name["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "graphite"
    assert ds["current"]["value"] == DATASOURCE_UID, "the provisioned copy reads the provisioned datasource"
    assert by_name["prefix"]["type"] == "textbox"
    assert by_name["prefix"]["query"] == "", "unprefixed paths by default"
    host = by_name["host"]
    assert host["type"] == "query"
    assert host["datasource"] == DS_VAR
    if name.endswith("-tags"):
        # format: tags: the host is a tag of the series, listed by graphite-web's tag database.
        assert host["query"].startswith("tag_values(host, name=${prefix}") and host["regex"] == ""
    else:
        assert host["query"].startswith("expand(${prefix}*.") and host["query"].endswith(")")
        assert re.compile(host["regex"].strip("/")).groups == 1, "the regex must capture the host level"
    assert host["multi"] and host["includeAll"], "several hosts side by side, or the whole fleet"
    if name in INSTANCE_VARS:
        inst = by_name[INSTANCE_VARS[name]]
        assert inst["datasource"] == DS_VAR
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
        assert p["datasource"] == DS_VAR, title
        assert p["targets"], f"{title}: no target"
        unit = p["fieldConfig"]["defaults"].get("unit")
        assert unit in UNITS or (unit or "").startswith("suffix:"), f"{title}: unit {unit!r}"
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), title
        for t in p["targets"]:
            assert t["target"].strip(), f"{title}: empty target"
            assert t["datasource"] == DS_VAR
            # Several hosts selected: every series is named by its host (and what tells it apart).
            assert t["target"].startswith(("aliasByNode(", "aliasByTags(")), f"{title}: {t['target']}"
            if name.endswith("-tags"):
                # every series from seriesByTag(), of the hosts selected (several: a regex)
                assert "'host=~^${host:regex}$'" in t["target"] and not path_expressions(
                    re.sub(r"'[^']*'", "''", t["target"])), t["target"]
            else:
                assert path_expressions(t["target"]), f"{title}: {t['target']} reads no series"
            assert t["target"].count("(") == t["target"].count(")"), t["target"]
            # The agent sends rates already; a derivative would show the rate of a rate.
            assert not re.search(r"(?i)derivative|persecond", t["target"]), t["target"]
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, title
    if name in INSTANCE_VARS:
        var = "$" + INSTANCE_VARS[name]
        assert any(var in t["target"] for _, t in targets(d)), f"no panel uses {var}"


# -- the copies made for "Import dashboard" ----------------------------------------------

_DS_INPUT = re.compile(r"\$\{(DS_\w+)\}")


def import_dashboard(dash: dict, chosen: dict[str, str]) -> dict:
    """What Grafana's import does with ``__inputs``: every ``${NAME}`` of an input replaced by
    the value the user chose (pkg/services/dashboardimport, DashTemplateEvaluator)."""
    text = json.dumps({k: v for k, v in dash.items() if k not in ("__inputs", "__requires")})
    return json.loads(_DS_INPUT.sub(lambda m: chosen[m.group(1)], text))


def test_import_copies_mirror_the_provisioned_dashboards():
    assert sorted(IMPORTABLE) == sorted(DASHBOARDS)
    for name, dash in IMPORTABLE.items():
        provisioned = DASHBOARDS[name]
        imported = import_dashboard(dash, {"DS_GRAPHITE": DATASOURCE_UID})
        assert imported == {k: v for k, v in provisioned.items() if k != "__requires"}, name


@pytest.mark.parametrize("name", sorted(IMPORTABLE))
def test_import_asks_for_the_graphite_datasource(name):
    dash = IMPORTABLE[name]
    (ds_input,) = dash["__inputs"]
    assert ds_input["type"] == "datasource" and ds_input["pluginId"] == "graphite"
    text = json.dumps(dash)
    assert set(_DS_INPUT.findall(text)) == {ds_input["name"]}, "every input is used, none undeclared"
    imported = import_dashboard(dash, {ds_input["name"]: "another-graphite"})
    ds = variables(imported)[0]
    assert ds["name"] == "datasource" and ds["current"]["value"] == "another-graphite"
    assert "${DS_" not in json.dumps(imported)


def test_the_tags_overview_mirrors_the_host_overview():
    """Panel for panel, target for target: the same series, found by tags."""
    plain, tagged = DASHBOARDS["host-overview"], DASHBOARDS["host-overview-tags"]
    assert [p["title"] for p in plain["panels"]] == [p["title"] for p in tagged["panels"]]
    assert [len(p.get("targets", [])) for p in plain["panels"]] == [len(p.get("targets", [])) for p in tagged["panels"]]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_requires(name):
    """``__requires`` names what import checks: Grafana (the stack's version), Graphite, the panel types."""
    dash = DASHBOARDS[name]
    req = {r["id"]: r for r in dash["__requires"]}
    image = yaml.safe_load((ROOT / "docker-compose.grafana.yml").read_text())["services"]["grafana"]["image"]
    assert req["grafana"]["version"] == image.rpartition(":")[2]
    assert req["graphite"]["type"] == "datasource"
    assert {k for k, r in req.items() if r["type"] == "panel"} == {p["type"] for p in panels(dash)}
    assert "__inputs" not in dash, "the provisioned copy asks nothing"
    assert "${DS_" not in json.dumps(dash)


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


RULE_FILES = {"plain": "carbon-client.yaml", "tags": "carbon-client-tags.yaml"}


def test_alert_rules_files():
    groups = []
    for fmt, name in RULE_FILES.items():
        doc = yaml.safe_load((GRAFANA / "provisioning/alerting" / name).read_text())
        assert doc["apiVersion"] == 1
        (group,) = doc["groups"]
        assert group["name"] and group["folder"] and re.fullmatch(r"\d+[smh]", group["interval"])
        groups.append(group["name"])
    assert len(set(groups)) == len(groups)
    assert {r["uid"] for r in alert_rules("", "plain")} == ALERT_UIDS
    assert {r["uid"] for r in alert_rules("", "tags")} == {f"{u}-tags" for u in ALERT_UIDS}
    # Both formats may be provisioned together (CARBON_CLIENT_FORMAT=both), in one folder.
    both = alert_rules("", "both")
    for field in ("uid", "title"):
        values = [r[field] for r in both]
        assert len(values) == 2 * len(ALERT_UIDS) and len(set(values)) == len(values), field
    assert all(len(r["uid"]) <= 40 for r in both)


def test_alert_rules_are_the_builders_table_as_yaml():
    """The files are the builder's data, written by its own YAML writer: loading them gives it back."""
    build_module()
    from builder import alerts  # on sys.path once build_dashboards.py is loaded

    for fmt, name in RULE_FILES.items():
        text = (GRAFANA / "provisioning/alerting" / name).read_text()
        assert yaml.safe_load(text) == alerts.rules_doc(fmt), name


@pytest.mark.parametrize("fmt", sorted(RULE_FILES))
def test_every_query_is_under_the_prefix(fmt):
    """Each series a rule reads starts with ${CARBON_CLIENT_PREFIX}: a path glob, or a tag query's name."""
    for rule in yaml.safe_load((GRAFANA / "provisioning/alerting" / RULE_FILES[fmt]).read_text())["groups"][0]["rules"]:
        (target,) = [q["model"]["target"] for q in rule["data"] if q["datasourceUid"] == DATASOURCE_UID]
        if fmt == "plain":
            paths = path_expressions(target)
            assert paths and all(p.startswith("${CARBON_CLIENT_PREFIX}*.") for p in paths), target
        else:
            names = re.findall(r"'(name[^']*)'", target)
            assert names and all(n.startswith("name=${CARBON_CLIENT_PREFIX}") for n in names), target
            assert not path_expressions(re.sub(r"'[^']*'", "''", target)), "every series comes from seriesByTag"


@pytest.mark.parametrize("rule", alert_rules("", "plain") + alert_rules("", "tags"), ids=lambda r: r["uid"])
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
        assert path_expressions(q["model"]["target"]) or "seriesByTag(" in q["model"]["target"]
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
