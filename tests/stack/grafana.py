"""Reading the provisioned dashboards and alert rules the way Grafana uses them.

Grafana's Graphite datasource replaces ``$var`` / ``${var}`` in a target, a
multi-value variable as a glob ``{a,b}``, and sends the result to graphite-web's
/render; a query variable lists /metrics/find (or /metrics/expand for
``expand(...)``) and keeps what its regex matches (the first capture group
when there is one). These helpers do the same so the tests can drive a real
graphite-web with exactly what the dashboards would send.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Optional

import yaml

from tests.conftest import ROOT

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"
IMPORT_DIR = GRAFANA / "import"
ALERTS_DIR = GRAFANA / "provisioning" / "alerting"
COMPOSE_FILE = ROOT / "docker-compose.grafana.yml"
DATASOURCE_UID = "graphite"

_VAR = re.compile(r"\$\{(\w+)(?::([\w-]+))?\}|\$(\w+)|\[\[(\w+)\]\]")


def dashboards(where=DASHBOARD_DIR) -> dict[str, dict]:
    """file stem -> parsed dashboard (the provisioned ones, or those of ``where``)."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(where.glob("*.json"))}


def panels(dash: dict) -> Iterator[dict]:
    """Every panel but rows, including those inside collapsed rows."""
    for p in dash.get("panels", []):
        if p.get("type") == "row":
            yield from p.get("panels", [])
        else:
            yield p


def targets(dash: dict) -> Iterator[tuple[dict, dict]]:
    for p in panels(dash):
        for t in p.get("targets", []):
            yield p, t


def variables(dash: dict) -> list[dict]:
    return dash.get("templating", {}).get("list", [])


def _name(m: re.Match) -> str:
    return m.group(1) or m.group(3) or m.group(4)


def variables_used(text: str) -> set[str]:
    return {_name(m) for m in _VAR.finditer(text)}


def regex_escape(text: str) -> str:
    """Grafana's regexEscape (packages/grafana-data, text.ts)."""
    return re.sub(r"[\\^$*+?.()|\[\]{}/]", lambda m: "\\" + m.group(0), text)


def formatted(value, fmt: Optional[str]) -> str:
    """A variable's value as Grafana's Graphite datasource writes it: several values as a glob
    ``{a,b}`` by default; ``${var:regex}`` escapes them, several as ``(a|b)``."""
    if fmt is None:
        return glob(value) if isinstance(value, list) else value
    if fmt == "regex":
        if isinstance(value, str):
            return regex_escape(value)
        escaped = [regex_escape(v) for v in value]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    raise ValueError(f"format {fmt!r} is not emulated")


def interpolate(text: str, values: dict) -> str:
    """``values``: name -> a string, or the list of values selected."""
    def sub(m: re.Match) -> str:
        name = _name(m)
        if name not in values:
            raise KeyError(f"variable ${name} is not defined (in {text!r})")
        return formatted(values[name], m.group(2))

    return _VAR.sub(sub, text)


def js_regex(text: str) -> Optional[re.Pattern]:
    """A variable's ``/pattern/flags`` as a Python pattern (None when empty)."""
    if not text:
        return None
    m = re.fullmatch(r"/(.*)/([gimsuy]*)", text, re.S)
    if m is None:
        return re.compile(text)
    flags = re.I if "i" in m.group(2) else 0
    return re.compile(m.group(1), flags)


def apply_regex(options: list[str], regex: str) -> list[str]:
    rx = js_regex(regex)
    if rx is None:
        return list(options)
    out = []
    for o in options:
        m = rx.search(o)
        if m is None:
            continue
        value = m.group(1) if rx.groups else o
        if value not in out:
            out.append(value)
    return out


ALL = object()  # resolve(): every host the variable lists


def glob(values: list[str]) -> str:
    """A multi-value variable as Grafana's Graphite datasource formats it."""
    return values[0] if len(values) == 1 else "{" + ",".join(values) + "}"


def resolve(dash: dict, host, find: Callable[[str], list[str]], expand: Callable[[str], list[str]],
            tag_values: Optional[Callable[[str, list[str]], list[str]]] = None,
            typed: Optional[dict[str, str]] = None) -> tuple[dict, dict[str, list[str]]]:
    """Variable values as Grafana would set them, with ``host`` chosen (a name, a list of
    names, or ``ALL``), ``typed`` in the text boxes, and the other query variables on All.

    A query variable lists /metrics/find, /metrics/expand for ``expand(...)``, or
    /tags/autoComplete/values for ``tag_values(tag, expr, ...)``.
    Returns (values, options): what each variable became (a string, or the list of values
    selected), and what its query listed.
    """
    values: dict = {}
    options: dict[str, list[str]] = {}
    for v in variables(dash):
        name = v["name"]
        if v["type"] == "datasource":
            continue  # chooses where the queries go, appears in none
        if v["type"] in ("textbox", "constant", "custom"):
            values[name] = (typed or {}).get(name, v.get("query", ""))
            continue
        assert v["type"] == "query", f"{name}: unexpected variable type {v['type']}"
        q = interpolate(v["query"], values)
        m = re.fullmatch(r"expand\((.*)\)", q)
        tv = re.fullmatch(r"tag_values\((\w+)\s*(?:,(.*))?\)", q)
        if tv:
            listed = tag_values(tv.group(1), [e.strip() for e in (tv.group(2) or "").split(",") if e.strip()])
        else:
            listed = expand(m.group(1)) if m else find(q)
        opts = options[name] = apply_regex(listed, v.get("regex", ""))
        if name == "host":
            values[name] = opts if host is ALL else [host] if isinstance(host, str) else list(host)
        else:
            values[name] = opts if opts else ""
    return values, options


# -- what a Graphite target reads ------------------------------------------------------

_PATH_CHARS = re.compile(r"[A-Za-z0-9_\-*?.{}\[\]$:]")


def path_expressions(target: str) -> list[str]:
    """The series path globs in a Graphite target (function names, numbers and strings skipped)."""
    out: list[str] = []
    word = ""
    depth = 0
    quote = ""
    for ch in target + " ":
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
            word = ""
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if _PATH_CHARS.match(ch) or (ch == "," and depth > 0):
            word += ch
            continue
        if ch != "(" and word and ("." in word or "*" in word) and not re.fullmatch(r"-?[\d.]+", word):
            out.append(word)
        word = ""
    return out


def glob_regex(pattern: str) -> re.Pattern:
    """A Graphite path glob as a regex over whole paths."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^.]*")
        elif ch == "?":
            out.append("[^.]")
        elif ch == "{":
            j = pattern.index("}", i)
            out.append("(?:" + "|".join(glob_regex(p).pattern[:-2] for p in pattern[i + 1:j].split(",")) + ")")
            i = j
        elif ch == "[":
            j = pattern.index("]", i)
            out.append(pattern[i:j + 1])
            i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


# -- the alert rules as Grafana gets them ----------------------------------------------------


def grafana_entrypoint() -> list[str]:
    """The grafana service's entrypoint as the container runs it: compose turns ``$$`` into
    ``$``; the script has no other ``$``, so compose interpolates nothing in it."""
    entry = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["grafana"]["entrypoint"]
    assert not any("$" in e.replace("$$", "") for e in entry), "compose would interpolate the script"
    return [e.replace("$$", "$") for e in entry]


def provision_rules(where: Path, prefix: str, fmt: str, command: tuple[str, ...] = ("true",)
                    ) -> subprocess.CompletedProcess:
    """Runs that entrypoint with /bin/sh, Grafana's /run.sh replaced by ``command``; the rules
    land in ``where``/alerting, as in the container's /etc/grafana/provisioning."""
    env = {"PATH": os.environ["PATH"], "CARBON_CLIENT_PREFIX": prefix, "CARBON_CLIENT_FORMAT": fmt,
           "CARBON_CLIENT_RULES": str(ALERTS_DIR), "GF_PATHS_PROVISIONING": str(where)}
    return subprocess.run(grafana_entrypoint() + list(command), env=env, capture_output=True, text=True,
                          timeout=30)


@functools.lru_cache(maxsize=None)
def alert_rules(prefix: str = "", fmt: str = "plain") -> list[dict]:
    """The rules Grafana loads when CARBON_CLIENT_PREFIX is ``prefix`` and CARBON_CLIENT_FORMAT ``fmt``."""
    with tempfile.TemporaryDirectory() as d:
        res = provision_rules(Path(d), prefix, fmt)
        assert res.returncode == 0, res.stderr
        docs = [yaml.safe_load(p.read_text()) for p in sorted(Path(d, "alerting").glob("*.yaml"))]
    return [r for doc in docs for g in doc["groups"] for r in g["rules"]]
