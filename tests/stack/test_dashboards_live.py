"""Every dashboard target returns data once agents have streamed (agent -> carbon-cache -> graphite-web).

For each dashboard the variables are resolved the way Grafana resolves them
(the host variable's expand query must list the agent's host; instance
variables take All), every target is sent to graphite-web's /render with the
values filled in, and each must return at least one series with a non-null
point. Then every path the agents sent must be read by some dashboard.
"""

from __future__ import annotations

import pytest

from tests.stack.conftest import FIXTURE_HOST, MAIN_HOST, collector_missing
from tests.stack.grafana import dashboards, glob_regex, interpolate, path_expressions, resolve, targets

DASHBOARDS = dashboards()
# Which agent of the stack sends each dashboard's groups, and the collector behind it.
HOST = {
    "host-overview": (MAIN_HOST, None),
    "disks": (MAIN_HOST, None),
    "network": (MAIN_HOST, None),
    "agent-health": (MAIN_HOST, None),
    "probes": (MAIN_HOST, None),
    "nfs-client": (FIXTURE_HOST, "nfs"),
    "nfs-server": (FIXTURE_HOST, "nfs"),
    "writeboost": (FIXTURE_HOST, "writeboost"),
    "cgroups": (FIXTURE_HOST, "cgroup"),
    "process-groups": (MAIN_HOST, "process"),
    "nfs-mounts": (FIXTURE_HOST, "nfsmount"),
    "network-stack": (FIXTURE_HOST, "netstat"),
}

pytestmark = pytest.mark.integration


def resolved(stack, name: str) -> tuple[dict, dict]:
    host, collector = HOST[name]
    if collector is not None and (why := collector_missing(collector)):
        pytest.skip(why)
    return resolve(DASHBOARDS[name], host, stack.web.find, stack.web.expand)


def test_every_dashboard_is_mapped_to_an_agent():
    assert set(HOST) == set(DASHBOARDS)


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_variables_list_the_agents(stack, name):
    host, _ = HOST[name]
    values, options = resolved(stack, name)
    assert host in options["host"], f"host variable listed {options['host']}"
    for var, opts in options.items():
        assert opts, f"${var} lists nothing"
        assert "total" not in opts or var == "dev", f"${var} offers the total row's instance"
    if name == "disks":
        assert "total" not in values["disk"]
    if name == "writeboost":
        # dm names are sanitized like every component: wb.sample -> wb_sample.
        assert set(options["dev"]) == {"wb_sample", "mylv"}
    if name == "cgroups":
        # the captured trees: Fedora's services and podman pod, the 6.x capture as capture.service
        assert set(options["cgroup"]) == {"NetworkManager", "chronyd", "crond", "redis", "sshd", "capture",
                                          "9d30caebefaa"}
    if name == "process-groups":
        assert set(options["group"]) == {"agent", "agents", "carbon", "absent"}


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_target_returns_data(stack, name):
    values, _ = resolved(stack, name)
    failures = []
    checked = 0
    for panel, t in targets(DASHBOARDS[name]):
        target = interpolate(t["target"], values)
        series = stack.web.render(target, since="-5min")
        points = [v for s in series for v, _ in s["datapoints"] if v is not None]
        checked += 1
        if not points:
            failures.append(f"{panel['title']!r}: {target} -> {[s['target'] for s in series] or 'no series'}")
    assert checked >= 4
    assert not failures, "targets without data:\n" + "\n".join(failures)


def test_every_metric_sent_is_on_a_dashboard(stack):
    """What the agents sent (the cache's series), each read by at least one dashboard target."""
    patterns = []
    for name in DASHBOARDS:
        host, collector = HOST[name]
        if collector is not None and collector_missing(collector):
            continue
        _, options = resolve(DASHBOARDS[name], host, stack.web.find, stack.web.expand)
        # Both agents send carbon_client: each host the dashboard offers counts.
        for h in {MAIN_HOST, FIXTURE_HOST} & set(options["host"]):
            values, _ = resolve(DASHBOARDS[name], h, stack.web.find, stack.web.expand)
            for _, t in targets(DASHBOARDS[name]):
                patterns += [glob_regex(p) for p in path_expressions(interpolate(t["target"], values))]
    sent = [m for m in stack.cache.metrics() if m.split(".")[0] in (MAIN_HOST, FIXTURE_HOST)]
    groups = {m.split(".")[1] for m in sent}
    assert {"load", "cpu", "memory", "disk", "net", "carbon_client", "probe"} <= groups
    if not collector_missing("nfs"):
        assert {"nfs", "nfsd"} <= groups
    if stack.writeboost:
        assert "writeboost" in groups
    for group in ("cgroup", "process"):
        if not collector_missing(group):
            assert group in groups
    if not collector_missing("netstat"):
        # the fixture agent sends the network stack groups from the captures; kernel and processes are this host's
        assert {"pressure", "netstat", "sockstat", "softnet", "conntrack", "kernel", "processes"} <= groups
    unread = [m for m in sent if not any(p.match(m) for p in patterns)]
    assert not unread, f"{len(unread)} of {len(sent)} series on no dashboard: {unread[:40]}"
