"""The alert rules: one table, written as two provisioning files.

- ``carbon-client.yaml``: the default layout, ``[prefix.]host.group[.instance].key``;
- ``carbon-client-tags.yaml``: ``format: tags``, ``[prefix.]group.key;host=..;instance=..``,
  found with seriesByTag().

Each rule is Grafana's A/B/C chain: A = one Graphite query over the rule's window,
B = reduce each series (non-numbers dropped), C = a threshold on B; one alert instance
per series, named by its host (and instance). "For N minutes" is the window: the
minimum over 10 minutes above 90 means every sample was, with no pending state to lose
when Grafana restarts.

The agent's prefix is ``${CARBON_CLIENT_PREFIX}`` in every query (empty, or
``servers.dc1.`` with its trailing dot). Grafana reads an alert rule's query model as
written, without the environment interpolation it applies to other provisioning values
(grafana/grafana#54293), so the stack substitutes the variable when the grafana service
starts (docker-compose.grafana.yml). Aliases count nodes from the end of the path, so
they name the host whatever the prefix's depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import yamlout
from .variables import PROVISIONED_UID

PREFIX = "${CARBON_CLIENT_PREFIX}"
FOLDER = "carbon-client"
INTERVAL_MS = 10000  # the agent's default interval


@dataclass(frozen=True)
class Rule:
    uid: str
    title: str
    group: str
    key: str
    # None: the group has no instance level; "*": every instance; "a,b": those; "rpc": that one
    instance: Optional[str]
    window: int  # seconds
    reducer: str
    op: str  # gt | lt
    threshold: float
    severity: str
    summary: str
    description: str
    no_data: str = "OK"
    shape: str = ""  # "nonnull", "no_total", or "percent_of:<key>"

    @property
    def per_instance(self) -> bool:
        return self.instance is not None and ("*" in self.instance or "," in self.instance)


RULES = [
    Rule("cc-host-silent", "Host silent", "carbon_client", "cycle_ms", None, 300, "max", "lt", 1, "critical",
         "{{ $labels.name }}: no data for 5 minutes",
         "The agent has sent nothing for 5 minutes: host down, agent stopped, or Carbon unreachable for longer "
         "than the agent can buffer. A decommissioned host keeps firing until its Whisper files are removed.",
         no_data="Alerting", shape="nonnull"),
    Rule("cc-disk-busy", "Disk busy", "disk", "busy_percent", "*", 600, "min", "gt", 90, "warning",
         "{{ $labels.name }}: busy over 90 % for 10 minutes",
         "The device had I/O in flight more than 90 % of the time for every sample of the last 10 minutes "
         "(iostat %util): it is saturated, or a queue is building.", shape="no_total"),
    Rule("cc-fs-full", "Filesystem almost full", "fs", "used_percent", "*", 600, "min", "gt", 90, "warning",
         "{{ $labels.name }}: filesystem over 90 % used",
         "Used space (as df prints Use%) has stayed above 90 % for 10 minutes."),
    Rule("cc-writeboost-dirty", "dm-writeboost cache mostly dirty", "writeboost", "dirty_ratio", "*", 600, "min",
         "gt", 80, "warning", "{{ $labels.name }}: over 80 % of cache blocks dirty for 10 minutes",
         "Writeback is not keeping up with writes: when the cache fills with dirty blocks, writes stall at the "
         "backing device's speed. Check writeback_threshold and the backing device."),
    Rule("cc-nfs-retrans", "NFS retransmissions rising", "nfs", "retrans", "rpc", 600, "mean", "gt", 1, "warning",
         "{{ $labels.name }}: NFS client retransmitting over 1 % of its calls",
         "Over the last 10 minutes more than 1 % of RPC calls were retransmitted: the NFS server or the network "
         "is too slow to answer within timeo.", shape="percent_of:calls"),
    Rule("cc-nfs-unresponsive", "NFS mount not answering", "fs", "responsive", "*", 120, "max", "lt", 1,
         "critical", "{{ $labels.name }}: NFS mount not answering for 2 minutes",
         "statvfs on the mount has not answered within nfs_statvfs_timeout in any sample of the last 2 minutes "
         "(fs.<mount>.responsive 0, 12 intervals at 10 s): the server or the network to it is down, and "
         "processes touching the mount hang. Check the server, then `nfsstat -m` and `mountstats` on the "
         "client."),
    Rule("cc-agent-dropping", "Agent dropping lines", "carbon_client", "dropped", None, 300, "max", "gt", 0,
         "critical", "{{ $labels.name }}: carbon-client is dropping lines",
         "The agent's buffer (and spool, if configured) overflowed in the last 5 minutes: Carbon has been "
         "unreachable or too slow for longer than buffer_lines covers. Lost points cannot be recovered; add "
         "--spool-dir or raise buffer_lines."),
    Rule("cc-probe-down", "Probe down", "probe", "up", "*", 180, "max", "lt", 1, "critical",
         "{{ $labels.name }}: probe down for 3 minutes",
         "Every result of the probe in the last 3 minutes was a failure (up 0): the service does not answer, "
         "answers with an unexpected status or body, or its TLS chain does not verify. Like asmon's "
         "if_in_a_row, the window is the number of failures in a row that make an alert; renotify is the "
         "notification policy's repeat interval."),
    Rule("cc-cert-expiring", "Certificate expiring", "probe", "cert_days_left", "*", 7200, "last", "lt", 14,
         "warning", "{{ $labels.name }}: certificate expires in less than 14 days",
         "The leaf certificate a TLS probe was served expires within 14 days (negative: already expired). "
         "Renew it before clients start refusing the service."),
    Rule("cc-process-group-empty", "Process group has no process", "process", "count", "*", 300, "max", "lt", 1,
         "critical", "{{ $labels.name }}: no process in the group for 5 minutes",
         "A process group of process_groups (by name, command line, user, pidfile or unit) has found no "
         "process in any sample of the last 5 minutes: the service is down, or its pidfile is stale."),
    Rule("cc-cgroup-memory-limit", "Service or container near its memory limit", "cgroup", "memory_percent", "*",
         600, "min", "gt", 90, "warning", "{{ $labels.name }}: over 90 % of its memory limit for 10 minutes",
         "memory.current has stayed above 90 % of memory.max (v1 memory.limit_in_bytes) for every sample of "
         "the last 10 minutes: the kernel reclaims its page cache hard, and the OOM killer comes next when "
         "anonymous memory keeps growing. Raise the limit or look at memory_anon."),
    Rule("cc-pressure", "Memory or I/O pressure", "pressure", "full.avg60", "memory,io", 600, "min", "gt", 10,
         "warning", "{{ $labels.name }}: every task stalled on it over 10 % of the time for 10 minutes",
         "The kernel's 1-minute \"full\" pressure average stayed above 10 % for every sample of the last 10 "
         "minutes: all non-idle tasks were waiting for memory (reclaim, swap-in, thrashing) or for I/O at the "
         "same time. Work is stalling; find what fills memory or saturates the disks."),
    Rule("cc-conntrack-full", "Conntrack table almost full", "conntrack", "used_percent", None, 300, "min", "gt",
         90, "warning", "{{ $labels.name }}: connection tracking table over 90 % full for 5 minutes",
         "When nf_conntrack_count reaches nf_conntrack_max the kernel drops packets of new connections "
         "(\"nf_conntrack: table full, dropping packet\"). Raise net.netfilter.nf_conntrack_max or shorten "
         "the timeouts of idle entries."),
    Rule("cc-listen-drops", "TCP listen queue dropping", "netstat", "ListenDrops", "tcpext", 300, "min", "gt", 0,
         "warning", "{{ $labels.name }}: listeners dropping connections for 5 minutes",
         "TcpExt ListenDrops went up in every sample of the last 5 minutes: a listening socket's accept queue "
         "(or the SYN queue) is full, so clients see timeouts and retries. The application accepts too slowly, "
         "or its backlog (listen(), net.core.somaxconn) is too small."),
]


# -- the Graphite query of a rule, in each format ------------------------------------------------


def plain_path(rule: Rule, key: str) -> str:
    inst = "" if rule.instance is None else "." + (f"{{{rule.instance}}}" if "," in rule.instance else rule.instance)
    return f"{PREFIX}*.{rule.group}{inst}.{key}"


def plain_target(rule: Rule) -> str:
    """``aliasByNode(<query>, host[, instance])``, nodes counted from the end of the path."""
    key_levels = rule.key.count(".") + 1
    inst_node = -(key_levels + 1)
    host_node = -(key_levels + 2 + (rule.instance is not None))  # host.group[.instance].key
    query = plain_path(rule, rule.key)
    if rule.shape == "nonnull":
        query = f"isNonNull({query})"
    elif rule.shape == "no_total":
        query = f"exclude({query}, '\\.total\\.')"
    elif rule.shape.startswith("percent_of:"):
        query = f"asPercent({query}, {plain_path(rule, rule.shape.split(':')[1])}, {host_node})"
    nodes = [host_node] + ([inst_node] if rule.per_instance else [])
    return f"aliasByNode({query}, {', '.join(map(str, nodes))})"


def tag_series(rule: Rule, key: str) -> str:
    exprs = [f"'name={PREFIX}{rule.group}.{key}'"]
    if rule.instance is not None and "," in rule.instance:
        exprs.append(f"'instance=~^({rule.instance.replace(',', '|')})$'")
    elif rule.instance is not None and rule.instance != "*":
        exprs.append(f"'instance={rule.instance}'")
    if rule.shape == "no_total":
        exprs.append("'instance!=total'")
    return f"seriesByTag({', '.join(exprs)})"


def tags_target(rule: Rule) -> str:
    """``aliasByTags(<query>, 'host'[, 'instance'])`` over seriesByTag()."""
    query = tag_series(rule, rule.key)
    if rule.shape == "nonnull":
        query = f"isNonNull({query})"
    elif rule.shape.startswith("percent_of:"):
        # asPercent() matches each series to its total by host but names the result
        # asPercent(<series>,<total>) with no tags left: take the host from that name.
        assert not rule.per_instance, rule.uid
        query = f"asPercent({query}, {tag_series(rule, rule.shape.split(':')[1])}, 'host')"
        return f"aliasSub({query}, '.*;host=([^;,)]+).*', '\\1')"
    tags = ["'host'"] + (["'instance'"] if rule.per_instance else [])
    return f"aliasByTags({query}, {', '.join(tags)})"


# -- the provisioning files ------------------------------------------------------------------------


def _expr(ref: str, body: dict) -> dict:
    return {"refId": ref, "datasourceUid": "__expr__",
            "model": {"refId": ref, "datasource": {"type": "__expr__", "uid": "__expr__"}, **body}}


def grafana_rule(rule: Rule, target: str, uid_suffix: str, title_suffix: str) -> dict:
    query = {"refId": "A", "relativeTimeRange": {"from": rule.window, "to": 0}, "datasourceUid": PROVISIONED_UID,
             "model": {"refId": "A", "datasource": {"type": "graphite", "uid": PROVISIONED_UID}, "target": target,
                       "intervalMs": INTERVAL_MS, "maxDataPoints": 43200}}
    reduce = _expr("B", {"type": "reduce", "expression": "A", "reducer": rule.reducer,
                         "settings": {"mode": "dropNN"}})
    threshold = _expr("C", {"type": "threshold", "expression": "B",
                            "conditions": [{"evaluator": {"type": rule.op, "params": [rule.threshold]}}]})
    return {
        "uid": rule.uid + uid_suffix,
        "title": rule.title + title_suffix,
        "condition": "C",
        "data": [query, reduce, threshold],
        "noDataState": rule.no_data,
        "execErrState": "Error",
        "for": "0s",
        "isPaused": False,
        "annotations": {"summary": rule.summary, "description": rule.description},
        "labels": {"severity": rule.severity, "source": "carbon-client"},
    }


HEADER = """\
Grafana alert rules for carbon-client hosts ({what}).
Generated by deploy/grafana/build_dashboards.py from builder/alerts.py: edit the table there.
Each rule: A = a Graphite query over a window, B = reduce each series (non-numbers
dropped), C = threshold; one alert instance per series. "For N minutes" is the window.
${{CARBON_CLIENT_PREFIX}} is the agents' prefix (empty, or servers.dc1. with the dot):
the grafana service of docker-compose.grafana.yml substitutes it when it starts, since
Grafana does not interpolate environment variables in a rule's query model.
Notifications go to the default contact point; route on the labels
severity=critical|warning and source=carbon-client."""

FORMATS = {
    # file, group name, uid and title suffixes (unique in the folder), target function, header
    "plain": ("carbon-client.yaml", "carbon-client", "", "", plain_target,
              "default layout: [prefix.]host.group[.instance].key"),
    "tags": ("carbon-client-tags.yaml", "carbon-client-tags", "-tags", " (tags)", tags_target,
             "format: tags, [prefix.]group.key;host=...;instance=..."),
}


def rules_doc(fmt: str) -> dict:
    _, group, uid_suffix, title_suffix, target, _ = FORMATS[fmt]
    return {"apiVersion": 1, "groups": [{
        "orgId": 1, "name": group, "folder": FOLDER, "interval": "1m",
        "rules": [grafana_rule(r, target(r), uid_suffix, title_suffix) for r in RULES],
    }]}


def render_all() -> dict[str, str]:
    """Path under deploy/grafana -> YAML text."""
    out = {}
    for fmt, (name, *_, what) in FORMATS.items():
        out[f"provisioning/alerting/{name}"] = yamlout.render(rules_doc(fmt), HEADER.format(what=what))
    return out
