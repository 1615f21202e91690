"""The Debian tree the deploy tests boot and build images from, made once and cached.

``debootstrap --variant=minbase`` of the host's Debian release, from the
mirror the host's apt uses (read from /etc/apt at run time), with systemd,
python3 (and python3-venv, for the agent's image) and graphite-carbon (for the
carbon-cache image) installed once. The tree is kept in the cache directory
(``CARBON_CLIENT_TEST_CACHE``, default /var/cache/carbon-client-tests),
outside the clone, so later runs and fresh clones reuse it; it is rebuilt when
``PACKAGES`` or ``LAYOUT`` change. Nothing ever writes into it afterwards:
systemd-nspawn boots it read-only under a tmpfs overlay, and ``docker
import`` copies it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

CACHE = Path(os.environ.get("CARBON_CLIENT_TEST_CACHE") or "/var/cache/carbon-client-tests")
# debootstrap resolves no virtual packages: python3-cffi-backend provides the
# python3-cffi-backend-api-* that graphite-carbon's dependencies ask for.
PACKAGES = ("systemd", "dbus", "python3", "python3-venv", "graphite-carbon", "python3-cffi-backend")
# Raise when the preparation below changes: cached trees are rebuilt.
LAYOUT = 1
# Units of the packages above that must not start when the tree boots (they would
# listen on the host's ports: the container shares the host's network).
MASKED = ("carbon-cache.service",)
SOURCES = Path("/etc/apt")


def codename(os_release: Path = Path("/etc/os-release")) -> Optional[str]:
    for line in os_release.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME":
            return value.strip().strip('"') or None
    return None


def _deb822(text: str) -> Iterator[dict[str, str]]:
    """The stanzas of a deb822 .sources file (continuation lines joined, comments dropped)."""
    stanza: dict[str, str] = {}
    key = ""
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, ""
        elif line[0] in " \t" and key:
            stanza[key] += " " + line.strip()
        else:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            stanza[key] = value.strip()


def mirror(suite: str, sources: Path = SOURCES) -> Optional[str]:
    """The first Debian archive the host's apt reads ``suite`` from (the files apt reads, in its order)."""
    files = [sources / "sources.list"] + sorted((sources / "sources.list.d").glob("*.list"))
    files += sorted((sources / "sources.list.d").glob("*.sources"))
    for f in files:
        if not f.is_file():
            continue
        if f.suffix == ".sources":
            for s in _deb822(f.read_text()):
                if ("deb" in s.get("types", "").split() and suite in s.get("suites", "").split()
                        and s.get("enabled", "yes") != "no" and "main" in s.get("components", "").split()):
                    return s.get("uris", "").split()[0]
            continue
        for line in f.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if words[:1] != ["deb"]:
                continue
            words = words[1:]
            if words and words[0].startswith("["):
                while words and not words[0].endswith("]"):
                    words.pop(0)
                words = words[1:]
            if len(words) >= 3 and words[1] == suite and "main" in words[2:]:
                return words[0]
    return None


@contextmanager
def locked(path: Path, timeout: float = 1800) -> Iterator[None]:
    """An exclusive lock file: concurrent test runs wait for each other's preparation."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} stayed locked for {timeout}s")
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def key(suite: str) -> dict:
    return {"suite": suite, "packages": list(PACKAGES), "layout": LAYOUT}


def prepare(suite: str, source: str, cache: Path = CACHE, log: Optional[Path] = None) -> Path:
    """The cached tree for ``suite``, made with debootstrap from ``source`` when missing or stale."""
    tree = cache / f"rootfs-{suite}"
    stamp = cache / f"rootfs-{suite}.json"
    with locked(cache / "rootfs.lock"):
        if tree.is_dir() and stamp.is_file() and json.loads(stamp.read_text()) == key(suite):
            return tree
        stamp.unlink(missing_ok=True)
        shutil.rmtree(tree, ignore_errors=True)
        work = cache / f"rootfs-{suite}.tmp"
        shutil.rmtree(work, ignore_errors=True)
        out = open(log, "wb") if log else subprocess.DEVNULL
        try:
            res = subprocess.run(
                ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(work), source],
                stdout=out, stderr=subprocess.STDOUT, timeout=1500,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                     "DEBIAN_FRONTEND": "noninteractive"},
            )
        finally:
            if log:
                out.close()
        if res.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"debootstrap {suite} from {source} exited {res.returncode}\n{tail}")
        for unit in MASKED:
            link = work / "etc/systemd/system" / unit
            link.parent.mkdir(parents=True, exist_ok=True)
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")
        # The container is named by systemd-nspawn -M, not after the host that built the tree.
        (work / "etc/hostname").unlink(missing_ok=True)
        shutil.rmtree(work / "var/cache/apt/archives", ignore_errors=True)
        (work / "var/cache/apt/archives/partial").mkdir(parents=True)
        work.rename(tree)
        stamp.write_text(json.dumps(key(suite)))
    return tree
