"""Template variables: the prefix textbox, the host and the instances of a group."""

from __future__ import annotations

from .panels import BASE, DS

# The datasource provisioned with the stack (provisioning/datasources/graphite.yaml).
PROVISIONED_UID = "graphite"
# What Grafana's "Import dashboard" asks for, and replaces with the chosen datasource's uid.
IMPORT_INPUT = "DS_GRAPHITE"


def datasource_var(uid: str) -> dict:
    """The Graphite datasource every panel reads, ``uid`` selected: the provisioned one, or
    ``${DS_GRAPHITE}`` in the copies made for import (Grafana fills in the one chosen)."""
    return {
        "type": "datasource",
        "name": "datasource",
        "label": "Data source",
        "query": "graphite",
        "regex": "",
        "current": {"selected": True, "text": uid, "value": uid},
        "options": [],
        "refresh": 1,
        "multi": False,
        "includeAll": False,
        "hide": 0,
    }


def prefix_var() -> dict:
    return {
        "type": "textbox",
        "name": "prefix",
        "label": "Prefix",
        "description": "The agent's `prefix` followed by a dot (servers.dc1.), or empty.",
        "query": "",
        "current": {"selected": False, "text": "", "value": ""},
        "options": [{"selected": True, "text": "", "value": ""}],
        "hide": 0,
    }


def host_var(group: str) -> dict:
    """Hosts that send ``group``: expand ``${prefix}*.group`` and keep the host level.

    Several hosts, or All, may be selected: Grafana writes them as a glob ``{a,b}``.
    """
    query = f"expand(${{prefix}}*.{group})"
    return {
        "type": "query",
        "name": "host",
        "label": "Host",
        "datasource": DS,
        "query": query,
        "definition": query,
        "regex": f"/([^.]+)\\.{group}$/",
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "current": {},
        "options": [],
        "hide": 0,
    }


def instance_var(name: str, label: str, group: str, skip_total: bool) -> dict:
    """The instances of a per-device group (all selected by default)."""
    query = f"{BASE}.{group}.*"
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DS,
        "query": query,
        "definition": query,
        "regex": "/^(?!total$).*/" if skip_total else "",
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }
