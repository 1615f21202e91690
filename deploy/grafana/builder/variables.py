"""Template variables: the prefix textbox, the host and the instances of a group."""

from __future__ import annotations

from .panels import BASE, DS


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
    """Hosts that send ``group``: expand ``${prefix}*.group`` and keep the host level."""
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
        "multi": False,
        "includeAll": False,
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
