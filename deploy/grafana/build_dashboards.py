#!/usr/bin/env python3
"""Writes the Grafana dashboards and alert rules of deploy/grafana/ from the tables of builder/.

    python3 deploy/grafana/build_dashboards.py          # rewrite the generated files
    python3 deploy/grafana/build_dashboards.py --check  # exit 1 if a file is stale

Written: dashboards/*.json (provisioned), import/*.json (for "Import dashboard"),
provisioning/alerting/carbon-client.yaml and carbon-client-tags.yaml (alert rules).

Every dashboard reads the paths carbon-client sends in its default layout,
``[prefix.]host.group[.instance].key``, as the agent sends them (rates are
already per second: no derivative() anywhere). Variables: ``prefix`` (a textbox:
the agent's ``prefix`` followed by a dot, empty by default), ``host`` (the
hosts that send the dashboard's group, found with /metrics/expand), and per
dashboard ``disk``, ``nic`` or ``dev``. Aliases use negative node indices, so
they do not depend on how many levels the prefix has.

Stdlib only; the output is stable (sorted keys, fixed ids) so a diff shows
exactly what changed. The tables and helpers live in the ``builder`` package
beside this file; this script only puts it on the path.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from builder.cli import main, render_all  # noqa: E402,F401  (tests load render_all from here)

if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
