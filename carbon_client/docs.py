"""Writes docs/METRICS.md from the collectors' declarations: ``python -m carbon_client.docs``."""

from __future__ import annotations

import sys

from carbon_client.collectors import REGISTRY
from carbon_client.collectors.agent import Health
from carbon_client.metrics import COUNTER, DERIVED, GAUGE, Collector

KIND = {COUNTER: "counter (rate per second)", GAUGE: "gauge", DERIVED: "derived"}

HEADER = """# Metrics reference

Generated from the collectors' declarations by `make docs`
(`python -m carbon_client.docs`); do not edit by hand.

Paths, default layout: `[prefix.]host.group[.instance].key`. Every component
keeps `[A-Za-z0-9_-]`; any other character becomes `_`. A component over 200
characters is cut and ends with `_` and the CRC-32 of the name (8 hex digits).

- **counter**: the kernel's cumulative count, sent as a per-second rate over
  the measured time between two reads. No value on an instance's first sample
  or when a counter went backwards (reset, device re-added, 32-bit wrap).
  With `counters: raw` the cumulative value is sent at `<key>_total` instead
  of the rate; with `counters: both`, both (keys marked "no _total" have none).
- **gauge**: the value as read.
- **derived**: computed from the other values of the same instance over the
  interval (percentages, ratios, averages).
"""


def _table(metrics) -> str:
    rows = ["| key | kind | unit | meaning |\n|---|---|---|---|\n"]
    for m in metrics:
        if not m.send:
            continue
        kind = KIND[m.kind]
        if m.kind == COUNTER and not m.total:
            kind += ", no _total"
        rows.append(f"| `{m.key}` | {kind} | {m.unit or '-'} | {m.help} |\n")
    return "".join(rows)


def _per_instance(c) -> str:
    """Groups whose instances differ (nfs, nfsd): one section per instance."""
    out = []
    for inst, schema in c.reference().items():
        where = f"host.{c.group}.{inst}.<key>" if inst is not None else f"host.{c.group}.<key>"
        metrics = [m for m in schema.metrics if m.send]
        # Long uniform lists whose help is only the name (nfs operations) are listed in one line.
        if (len(metrics) > 12 and len({(m.kind, m.unit) for m in metrics}) == 1
                and all(m.help.endswith(m.key) for m in metrics)):
            m0 = metrics[0]
            keys = ", ".join(f"`{m.key}`" for m in metrics)
            out.append(f"\n`{where}`: {KIND[m0.kind]}, {m0.unit}, one per operation: {keys}.\n")
        else:
            out.append(f"\n`{where}`:\n\n{_table(metrics)}")
    return "".join(out)


def render(collectors: list[type[Collector]]) -> str:
    out = [HEADER]
    for c in collectors:
        out.append(f"\n## {c.name}: `host.{c.group}.*`\n\n{c.description}\n")
        if hasattr(c, "reference"):
            out.append(_per_instance(c))
            continue
        if not c.metrics:
            continue
        where = f"`host.{c.group}.<instance>.<key>`; instance: {c.instances}" if c.instances \
            else f"`host.{c.group}.<key>`"
        out.append(f"\nPaths: {where}.\n\n{_table(c.metrics)}")
    return "".join(out)


def main() -> int:
    sys.stdout.write(render(list(REGISTRY.values()) + [Health]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
