"""Collectors other packages install, found through the entry-point group
``carbon_client.collectors`` (pytest's and Telegraf's registry, done by packaging).

A plugin is a :class:`~carbon_client.metrics.Collector` subclass like the
built-in ones: it declares its metrics, its counters become rates, its
description and declarations feed ``carbon-client collectors`` and the
metrics reference. In the plugin's pyproject.toml::

    [project.entry-points."carbon_client.collectors"]
    queue = "mypackage.queue:QueueCollector"

A plugin runs off the host cycle with a timeout (it is third-party code: it
may block). One that fails to import, is not a collector, or takes the name
of a built-in one is reported and disabled, never fatal; one that fails to
read costs its own lines only, like any collector.
"""

from __future__ import annotations

import importlib.metadata
import logging

from carbon_client.metrics import Collector, Unavailable

log = logging.getLogger("carbon_client")

GROUP = "carbon_client.collectors"


def entry_points() -> list:
    return list(importlib.metadata.entry_points(group=GROUP))


class Broken(Collector):
    """A plugin that could not be loaded: always unavailable, with the reason."""

    blocking = True

    def __init__(self, source, options, name: str, reason: str) -> None:
        super().__init__(source, options)
        self.name = self.group = name
        self.reason = reason

    def probe(self) -> None:
        raise Unavailable(self.reason)


def load(source, config, taken: set[str]) -> list[Collector]:
    """The plugin collectors, each an instance, or a :class:`Broken` one saying why not.

    ``taken``: the names of the built-in collectors and groups.
    """
    out: list[Collector] = []
    for ep in entry_points():
        try:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Collector)):
                raise TypeError(f"{ep.value} is not a carbon_client.metrics.Collector subclass")
            if cls.name != ep.name:
                raise ValueError(f"{ep.value} is named {cls.name!r}, its entry point {ep.name!r}")
            if cls.name in taken or cls.group in taken:
                raise ValueError(f"{ep.value} takes the name of a built-in collector or group")
            collector = cls(source, config)
        except Exception as exc:  # a plugin's import or constructor: reported, disabled, never fatal
            reason = f"plugin {ep.name} ({ep.value}) could not be loaded: {exc}"
            log.error("%s", reason)
            out.append(Broken(source, config, ep.name, reason))
            continue
        collector.blocking = True
        out.append(collector)
    return out
