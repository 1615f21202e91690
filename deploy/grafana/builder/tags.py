"""Dashboards for agents on ``format: tags``, derived from the default layout's.

A tagged series is ``[prefix.]group.key;host=<host>[;instance=<instance>]``
(carbon_client/naming.py, TagsLayout): the host and the instance leave the path for
tags. Each target of the plain dashboard is rewritten: its path glob
``${prefix}$host.group[.instance].key`` becomes a ``seriesByTag()`` on the name, the
host and the instance, and its ``aliasByNode`` nodes become ``aliasByTags`` tags
(the host and instance nodes) or nodes of the tagged name (the group and key ones,
counted from the end as before). So the panels stay the plain dashboard's, query for
query.

Several hosts at once: Grafana writes ``${host:regex}`` as ``(a|b)``; a tag query
takes a regular expression, not a glob.
"""

from __future__ import annotations

import copy
import re

from .dashboard import build
from .host import host_overview
from .panels import DS
from .variables import prefix_var

# Groups whose level after the group is an instance (the tag ``instance``), as the
# collectors of the host overview name them.
INSTANCED = {"cpu", "disk", "net", "fs", "pressure"}
HOST = "'host=~^${host:regex}$'"
_ALIAS = re.compile(r"aliasByNode\((.*?), (-?\d+(?:, -?\d+)*)\)", re.S)
_PATH = re.compile(r"\$\{prefix\}\$host((?:\.(?:[A-Za-z0-9_*-]|\{[^}]*\})+)+)")


def _levels(path: str) -> list[str]:
    return re.findall(r"\.((?:[A-Za-z0-9_*-]|\{[^}]*\})+)", path)


def _regex(level: str) -> str:
    """One path level's glob as a regular expression: ``{a,b}`` -> ``(a|b)``, ``*`` -> ``[^.]*``
    (a tag expression cannot hold a ``;``)."""
    out = re.sub(r"\{([^}]*)\}", lambda m: "(" + m.group(1).replace(",", "|") + ")", level)
    return out.replace("*", "[^.]*")


def _is_glob(level: str) -> bool:
    return any(c in level for c in "*{")


def series_by_tag(path: str) -> tuple[str, dict[int, str]]:
    """``seriesByTag()`` for a plain path glob, and how its nodes (from the end) map to the
    tagged series: to a tag name, or to a node of the tagged name."""
    levels = _levels(path)
    group = levels[0]
    instance = levels[1] if group.strip("{}").split(",")[0] in INSTANCED else None
    keys = levels[2:] if instance is not None else levels[1:]
    name_levels = [group, *keys]
    if any(_is_glob(v) for v in name_levels):
        exprs = ["'name=~^${prefix:regex}" + r"\.".join(_regex(v) for v in name_levels) + "$'"]
    else:
        exprs = ["'name=${prefix}" + ".".join(name_levels) + "'"]
    exprs.append(HOST)
    if instance is not None and _is_glob(instance) and instance != "*":
        exprs.append(f"'instance=~^{_regex(instance)}$'")
    elif instance is not None and instance != "*":
        exprs.append(f"'instance={instance}'")
    nodes = {-len(levels) - 1: "'host'"}
    for i in range(1, len(keys) + 1):
        nodes[-i] = str(-i)
    if instance is not None:
        nodes[-len(keys) - 1] = "'instance'"
    nodes[-len(levels)] = str(-len(keys) - 1)
    return f"seriesByTag({', '.join(exprs)})", nodes


def to_tags(target: str) -> str:
    """A plain dashboard target, ``aliasByNode(<expr over one path glob>, nodes)``, for tagged series."""
    m = _ALIAS.fullmatch(target)
    if m is None:
        raise ValueError(f"not aliasByNode(...): {target}")
    expr, nodes = m.group(1), [int(n) for n in m.group(2).split(", ")]
    paths = set(_PATH.findall(expr))
    if len(paths) != 1:
        raise ValueError(f"one path glob expected: {target}")
    (path,) = paths
    query, mapping = series_by_tag(path)
    return f"aliasByTags({expr.replace('${prefix}$host' + path, query)}, {', '.join(mapping[n] for n in nodes)})"


def tag_host_var() -> dict:
    """Hosts whose agent sends tags: the ``host`` values of their cycle-time series."""
    query = "tag_values(host, name=${prefix}carbon_client.cycle_ms)"
    return {
        "type": "query", "name": "host", "label": "Host", "datasource": DS, "query": query,
        "definition": query, "regex": "", "refresh": 2, "sort": 1, "multi": True, "includeAll": True,
        "current": {}, "options": [], "hide": 0,
    }


def tagged_panels(panels: list[dict]) -> list[dict]:
    out = copy.deepcopy(panels)
    for p in out:
        for t in p.get("targets", []):
            t["target"] = to_tags(t["target"])
    return out


def dashboards() -> dict[str, dict]:
    """file stem -> dashboard (without its datasource variable)."""
    return {"host-overview-tags": build(
        "cc-host-tags", "carbon-client / Host overview (tags)",
        "The host overview for agents on format: tags (group.key;host=...;instance=...), with seriesByTag().",
        [prefix_var(), tag_host_var()], tagged_panels(host_overview()))}
