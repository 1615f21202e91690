"""The command line: write the generated files, or check that they are current."""

from __future__ import annotations

import sys
from pathlib import Path

from . import alerts, dashboard, tags

OUT = Path(__file__).resolve().parent.parent  # deploy/grafana


def render_all() -> dict[str, str]:
    """Every generated file: path under deploy/grafana -> text."""
    dashes = {**dashboard.dashboards(), **tags.dashboards()}
    return {**dashboard.render_all(dashes), **alerts.render_all()}


def main(argv: list[str]) -> int:
    files = render_all()
    if argv[1:] == ["--check"]:
        stale = [n for n, text in files.items()
                 if not (OUT / n).exists() or (OUT / n).read_text() != text]
        for n in stale:
            print(f"stale: {OUT / n} (run {argv[0]})", file=sys.stderr)
        return 1 if stale else 0
    for n, text in files.items():
        (OUT / n).parent.mkdir(parents=True, exist_ok=True)
        (OUT / n).write_text(text)
        print(OUT / n)
    return 0
