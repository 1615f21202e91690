"""The cgroup hierarchies under the sys root, and the services and containers in them.

Layouts (Documentation/admin-guide/cgroup-v2.rst, systemd.special(7)):

- pure v2: one tree at ``fs/cgroup`` (it has ``cgroup.controllers``);
- hybrid: v1 controllers at ``fs/cgroup/<controller>`` (``cpu,cpuacct``
  joined on most systems) and a v2 tree at ``fs/cgroup/unified``, which
  has every cgroup systemd made but only controllers v1 does not hold;
- v1 only: the controllers, and systemd's own named hierarchy at
  ``fs/cgroup/systemd``.

What is reported (paths relative to a hierarchy's root):

- services: ``system.slice/<unit>.service``, and templated instances in
  their slice, ``system.slice/system-getty.slice/getty@tty1.service``;
- containers, by their 64-hex id: Docker with the systemd driver
  (``system.slice/docker-<id>.scope``) or cgroupfs (``docker/<id>``);
  Kubernetes with either driver (``kubepods.slice/.../cri-containerd-<id>.scope``,
  ``crio-<id>.scope``, ``docker-<id>.scope``; ``kubepods/<qos>/pod<uid>/<id>``);
  podman (``machine.slice/libpod-<id>.scope``, also inside a pod's slice);
- podman pods (``machine.slice/machine-libpod_pod_<id>.slice``).

conmon scopes (``libpod-conmon-<id>.scope``, ``crio-conmon-<id>.scope``) are
not containers and are left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from carbon_client.source import Source

ROOT = "fs/cgroup"
UNIFIED = "fs/cgroup/unified"
# v1 hierarchies read (systemd: the named hierarchy that holds every unit).
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "blkio", "pids", "systemd")

SERVICE, CONTAINER, POD = "service", "container", "pod"
_RUNTIMES = frozenset(("docker", "cri-containerd", "crio", "libpod"))
_HEX = "0123456789abcdef"
# kubepods/<qos>/pod<uid>/<id>: containers sit at most this deep.
_KUBE_DEPTH = 3


@dataclass(frozen=True)
class Hierarchies:
    """Where each hierarchy is, relative to the sys root.

    ``v2``: the v2 tree (``fs/cgroup`` when pure, ``fs/cgroup/unified`` on a
    hybrid host) or None; ``v1``: controller -> its directory.
    """

    v2: Optional[str]
    v1: dict[str, str] = field(default_factory=dict)

    @property
    def pure(self) -> bool:
        return self.v2 == ROOT

    def roots(self) -> list[str]:
        """Every hierarchy directory, each once (``cpu`` and ``cpuacct`` may share one)."""
        out = [self.v2] if self.v2 else []
        return out + [d for d in dict.fromkeys(self.v1.values()) if d not in out]


def find_hierarchies(source: Source) -> Optional[Hierarchies]:
    """The hierarchies mounted under the sys root, or None when there is none."""
    if source.sys_exists(f"{ROOT}/cgroup.controllers"):
        return Hierarchies(ROOT)
    v2 = UNIFIED if source.sys_exists(f"{UNIFIED}/cgroup.controllers") else None
    v1: dict[str, str] = {}
    for entry in sorted(source.sys_listdir(ROOT) or ()):
        for ctrl in entry.split(","):
            if ctrl in V1_CONTROLLERS and ctrl not in v1:
                v1[ctrl] = f"{ROOT}/{entry}"
    if v2 is None and not v1:
        return None
    return Hierarchies(v2, v1)


def subdirs(source: Source, rel: str) -> list[str]:
    """The child cgroups of ``rel`` (directories only); none when it is gone."""
    try:
        with os.scandir(source.sys_path(rel)) as it:
            return [e.name for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def is_id(s: str) -> bool:
    """A container id: 64 lowercase hex digits."""
    return len(s) == 64 and not s.strip(_HEX)


def _scope_id(entry: str) -> Optional[str]:
    """The id of ``<runtime>-<id>.scope``, or None (conmon scopes and others)."""
    if not entry.endswith(".scope"):
        return None
    runtime, _, cid = entry[:-6].rpartition("-")
    return cid if runtime in _RUNTIMES and is_id(cid) else None


def _pod_id(entry: str) -> Optional[str]:
    if entry.startswith("machine-libpod_pod_") and entry.endswith(".slice"):
        pid = entry[19:-6]
        return pid if is_id(pid) else None
    return None


def discover(source: Source, root: str) -> dict[str, tuple[str, str]]:
    """Path (relative to ``root``) -> (kind, unit name or id) of every service, container
    and podman pod in the hierarchy at ``root``."""
    found: dict[str, tuple[str, str]] = {}

    def ls(rel: str) -> list[str]:
        return subdirs(source, f"{root}/{rel}" if rel else root)

    for top in ls(""):
        if top == "system.slice":
            for e in ls(top):
                if e.endswith(".service"):
                    found[f"{top}/{e}"] = (SERVICE, e[:-8])
                elif (cid := _scope_id(e)) is not None:
                    found[f"{top}/{e}"] = (CONTAINER, cid)
                elif e.endswith(".slice"):
                    for s in ls(f"{top}/{e}"):
                        if s.endswith(".service"):
                            found[f"{top}/{e}/{s}"] = (SERVICE, s[:-8])
        elif top == "machine.slice":
            for e in ls(top):
                if (cid := _scope_id(e)) is not None:
                    found[f"{top}/{e}"] = (CONTAINER, cid)
                elif (pod := _pod_id(e)) is not None:
                    found[f"{top}/{e}"] = (POD, pod)
                    for s in ls(f"{top}/{e}"):
                        if (cid := _scope_id(s)) is not None:
                            found[f"{top}/{e}/{s}"] = (CONTAINER, cid)
        elif top == "docker":
            for e in ls(top):
                if is_id(e):
                    found[f"{top}/{e}"] = (CONTAINER, e)
        elif top in ("kubepods.slice", "kubepods"):
            _kube(ls, top, _KUBE_DEPTH, found)
    return found


def _kube(ls, rel: str, depth: int, found: dict) -> None:
    for e in ls(rel):
        cid = _scope_id(e) if e.endswith(".scope") else e if is_id(e) else None
        if cid is not None:
            found[f"{rel}/{e}"] = (CONTAINER, cid)
        elif depth > 1:
            _kube(ls, f"{rel}/{e}", depth - 1, found)


def unit_paths(unit: str) -> tuple[str, ...]:
    """Where systemd puts ``unit``: under system.slice, a templated instance in its
    ``system-<template>.slice``, a slice or scope at the top."""
    out = [f"system.slice/{unit}"]
    template, at, _ = unit.partition("@")
    if at:
        out.append(f"system.slice/system-{template}.slice/{unit}")
    out.append(unit)
    return tuple(out)


def unit_dirs(source: Source, h: Hierarchies, unit: str) -> Optional[list[str]]:
    """The unit's cgroup and every cgroup below it (``Delegate=`` units have children),
    in the first hierarchy that knows the unit (v2, then systemd's v1); None when none does."""
    roots = [r for r in (h.v2, h.v1.get("systemd")) if r]
    for root in roots:
        for rel in unit_paths(unit):
            top = f"{root}/{rel}"
            if source.sys_exists(top):
                out, todo = [], [top]
                while todo:
                    d = todo.pop()
                    out.append(d)
                    todo.extend(f"{d}/{s}" for s in subdirs(source, d))
                return out
    return None
