"""Graphite paths: the only place they are built and sanitized.

Default layout: ``[prefix.]host.group[.instance].key``. Every component keeps
``[A-Za-z0-9_-]``; any other character becomes ``_``, so ``flannel.1`` is
``flannel_1`` and a dot in a device name can never add a level.
"""

from __future__ import annotations

import re
from typing import Optional

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def sanitize(component: str) -> str:
    """One path component: every character outside [A-Za-z0-9_-] becomes '_'."""
    return _UNSAFE.sub("_", component) or "_"


def sanitize_dotted(path: str) -> str:
    """A dotted prefix: each level sanitized, empty levels dropped."""
    return ".".join(sanitize(p) for p in path.split(".") if p)


def mount_component(mountpoint: str) -> str:
    """``/`` -> ``root``, ``/var/lib`` -> ``var_lib``."""
    stripped = mountpoint.strip("/")
    return sanitize(stripped.replace("/", "_")) if stripped else "root"


class Layout:
    """Maps (group, instance, key) to a path and a scale for the value, or None (not sent)."""

    name = "abstract"

    def __init__(self, host: str, prefix: str = "") -> None:
        self.host = sanitize(host)
        self.prefix = sanitize_dotted(prefix) if prefix else ""
        self.base = f"{self.prefix}.{self.host}" if self.prefix else self.host

    def path(self, group: str, instance: Optional[str], key: str) -> Optional[tuple[str, float]]:
        raise NotImplementedError


class DefaultLayout(Layout):
    name = "default"

    def path(self, group: str, instance: Optional[str], key: str) -> Optional[tuple[str, float]]:
        if instance is None:
            return f"{self.base}.{sanitize(group)}.{sanitize(key)}", 1.0
        return f"{self.base}.{sanitize(group)}.{sanitize(instance)}.{sanitize(key)}", 1.0


LAYOUTS: dict[str, type[Layout]] = {"default": DefaultLayout}


def make_layout(name: str, host: str, prefix: str = "", **options) -> Layout:
    return LAYOUTS[name](host, prefix, **options)
