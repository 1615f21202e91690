"""The dashboards: one row of DASHBOARDS each, assembled into Grafana's JSON model."""

from __future__ import annotations

import json

from .devices import disks, network, writeboost
from .host import host_overview
from .netstack import network_stack
from .nfs import nfs_client, nfs_mounts, nfs_server
from .panels import layout
from .services import agent_health, containers_services, probes, process_groups
from .variables import IMPORT_INPUT, PROVISIONED_UID, datasource_var, host_var, instance_var, prefix_var

SCHEMA_VERSION = 39
TAG = "carbon-client"
# The Grafana the stack runs (docker-compose.grafana.yml), named in __requires.
GRAFANA_VERSION = "11.3.0"

DASHBOARDS = [
    # uid, file, title, group of the host variable, instance variables, panels, description
    ("cc-host", "host-overview", "carbon-client / Host overview", "carbon_client", [], host_overview,
     "CPU, memory, paging, disks, network, filesystems, pressure, kernel and processes of one host."),
    ("cc-disks", "disks", "carbon-client / Disks", "disk",
     [("disk", "Disk", "disk", True)], disks, "Block devices from /proc/diskstats."),
    ("cc-network", "network", "carbon-client / Network", "net",
     [("nic", "Interface", "net", True)], network, "Interfaces from /proc/net/dev."),
    ("cc-nfs-client", "nfs-client", "carbon-client / NFS client", "nfs", [], nfs_client,
     "NFS client RPC calls from /proc/net/rpc/nfs."),
    ("cc-nfs-server", "nfs-server", "carbon-client / NFS server", "nfsd", [], nfs_server,
     "NFS server from /proc/net/rpc/nfsd."),
    ("cc-writeboost", "writeboost", "carbon-client / dm-writeboost", "writeboost",
     [("dev", "Device", "writeboost", False)], writeboost, "dm-writeboost caches (dmsetup status)."),
    ("cc-nfs-mounts", "nfs-mounts", "carbon-client / NFS client per mount", "nfsmount",
     [("mount", "Mount", "nfsmount", False)], nfs_mounts,
     "NFS mounts from /proc/self/mountstats: calls, throughput, times per call, transports; "
     "responsiveness and space from fs."),
    ("cc-agent", "agent-health", "carbon-client / Agent health", "carbon_client", [], agent_health,
     "The agent itself: delivery to Carbon, its own cost, and each collector."),
    ("cc-probes", "probes", "carbon-client / Probes", "probe",
     [("probe", "Probe", "probe", False)], probes, "HTTP, TCP and TLS probes (`probes` in the config)."),
    ("cc-cgroups", "cgroups", "carbon-client / Containers and services", "cgroup",
     [("cgroup", "Service or container", "cgroup", False)], containers_services,
     "systemd services and containers from their cgroups: CPU, throttling, memory, I/O, tasks, pressure."),
    ("cc-process-groups", "process-groups", "carbon-client / Processes", "process",
     [("group", "Process group", "process", False)], process_groups,
     "The process groups configured in process_groups: processes, CPU, memory, I/O, files, threads."),
    ("cc-netstack", "network-stack", "carbon-client / Network stack", "netstat", [], network_stack,
     "TCP, UDP and IP protocol counters, sockets, softnet drops and connection tracking."),
]


def build(uid: str, title: str, description: str, variables: list[dict], panels: list[dict]) -> dict:
    """The dashboard without its datasource variable (:func:`copies` adds it)."""
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [TAG],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "links": [
            {
                "type": "dashboards",
                "tags": [TAG],
                "title": "carbon-client",
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }
        ],
        "templating": {"list": variables},
        "panels": layout(panels),
    }


def requires(dash: dict) -> list[dict]:
    """``__requires`` as Grafana's export writes it: Grafana, the datasource type, the panel types."""
    out = [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": GRAFANA_VERSION},
           {"type": "datasource", "id": "graphite", "name": "Graphite", "version": "1.0.0"}]
    names = {"stat": "Stat", "timeseries": "Time series"}
    kinds = sorted({p["type"] for p in dash["panels"] if p["type"] != "row"})
    out += [{"type": "panel", "id": k, "name": names[k], "version": ""} for k in kinds]
    return sorted(out, key=lambda r: r["id"])


def copies(dash: dict) -> tuple[dict, dict]:
    """(provisioned, importable): the first selects the provisioned datasource; the second
    declares ``__inputs``, so Grafana's "Import dashboard" asks which Graphite to read."""
    provisioned = dict(dash, __requires=requires(dash))
    provisioned["templating"] = {"list": [datasource_var(PROVISIONED_UID), *dash["templating"]["list"]]}
    importable = dict(provisioned, __inputs=[{
        "name": IMPORT_INPUT, "label": "Graphite", "description": "The Graphite carbon-client sends to.",
        "type": "datasource", "pluginId": "graphite", "pluginName": "Graphite",
    }])
    importable["templating"] = {"list": [datasource_var(f"${{{IMPORT_INPUT}}}"), *dash["templating"]["list"]]}
    return provisioned, importable


def dashboards() -> dict[str, dict]:
    """file stem -> dashboard (without its datasource variable)."""
    out = {}
    for uid, name, title, group, ivars, fn, desc in DASHBOARDS:
        variables = [prefix_var(), host_var(group), *(instance_var(*v) for v in ivars)]
        out[name] = build(uid, title, desc, variables, fn())
    return out


def dump(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def render_all(dashes: dict[str, dict]) -> dict[str, str]:
    """Path under deploy/grafana -> text: the provisioned dashboards and their importable copies."""
    out = {}
    for name, dash in dashes.items():
        provisioned, importable = copies(dash)
        out[f"dashboards/{name}.json"] = dump(provisioned)
        out[f"import/{name}.json"] = dump(importable)
    return out
