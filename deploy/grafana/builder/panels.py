"""Panels, targets and the grid: what every dashboard is made of."""

from __future__ import annotations

import re
from typing import Any, Optional

# Every panel, target and query variable reads the dashboard's datasource variable.
DS = {"type": "graphite", "uid": "${datasource}"}
BASE = "${prefix}$host"
_PATH_END = re.compile(r"[^A-Za-z0-9_\-*?.{}\[\]$]")


def host_node(expr: str) -> int:
    """The host's node in the first path of ``expr``, counted from the end (-3 in
    ``${prefix}$host.load.1m``): the same whatever the prefix's depth."""
    depth = dots = 0
    for ch in expr[expr.index("$host"):]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and _PATH_END.match(ch):
            break
        dots += ch == "."
    return -(dots + 1)


def alias(expr: str, *nodes: int) -> str:
    """Series named by their host and ``nodes`` (negative: independent of the prefix),
    so several hosts selected at once stay apart."""
    names = (host_node(expr), *nodes)
    return f"aliasByNode({expr}, {', '.join(str(n) for n in names)})"


def percent(part: str, total: str) -> str:
    """``part`` in percent of ``total``, host by host."""
    node = host_node(part)
    return alias(f"asPercent({part}, {total}, {node})")


def _targets(targets: list[str]) -> list[dict]:
    return [
        {"refId": chr(ord("A") + i), "datasource": DS, "target": t, "hide": False}
        for i, t in enumerate(targets)
    ]


def timeseries(
    title: str,
    targets: list[str],
    unit: str,
    description: str = "",
    *,
    w: int = 12,
    h: int = 8,
    stack: bool = False,
    min: Optional[float] = 0,
    max: Optional[float] = None,
) -> dict:
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 25 if stack else 8,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
            "axisSoftMin": min,
        },
    }
    if max is not None:
        defaults["max"] = max
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": _targets(targets),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {
                "showLegend": True,
                "displayMode": "table",
                "placement": "bottom",
                "calcs": ["mean", "max", "lastNotNull"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "_size": (w, h),
    }


def stat(
    title: str,
    target: str,
    unit: str,
    description: str = "",
    *,
    w: int = 6,
    h: int = 4,
    thresholds: tuple[tuple[str, Optional[float]], ...] = (("green", None),),
    mappings: Optional[list] = None,
) -> dict:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": _targets([target if target.startswith("aliasByNode(") else alias(target)]),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": {
                    "mode": "absolute",
                    "steps": [{"color": c, "value": v} for c, v in thresholds],
                },
                "mappings": mappings or [],
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
            "justifyMode": "auto",
            "orientation": "auto",
        },
        "_size": (w, h),
    }


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_size": (24, 1)}


# What dm-writeboost v2.0 .. v2.2 report (v1.0 and pre-1.0 targets report other keys).
WRITEBOOST_TUNABLES = (
    "writeback_threshold", "nr_cur_batched_writeback", "sync_data_interval",
    "update_sb_record_interval", "read_cache_threshold",
)
PERCENT_WARN = (("green", None), ("orange", 80.0), ("red", 90.0))
# connected: destinations connected now (0 or 1 in failover mode, up to N with mode: all).
CONNECTED = [{"type": "value", "options": {"0": {"text": "disconnected", "color": "red", "index": 0}}}]
# destination: which --carbon destination is in use, 1 for the first; 0 for none.
DESTINATION = [{"type": "value", "options": {"0": {"text": "none", "color": "red", "index": 0}}}]


def layout(panels: list[dict]) -> list[dict]:
    """Grid positions left to right, wrapping at 24 columns; ids in order."""
    x = y = line_h = 0
    out = []
    for i, p in enumerate(panels, start=1):
        w, h = p.pop("_size")
        if x + w > 24 or p["type"] == "row":
            y += line_h
            x = line_h = 0
        p["id"] = i
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x += w
        line_h = max(line_h, h)
        if p["type"] == "row":
            y += h
            x = line_h = 0
        out.append(p)
    return out
