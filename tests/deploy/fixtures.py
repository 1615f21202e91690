"""Session fixtures of the deployment tests (imported by tests/conftest.py, so tests/stack uses them too).

- ``deploy_rootfs``: the cached Debian tree (tests/deploy/rootfs.py), made on first use;
- ``docker_engine``: a dockerd of the session's own, stopped at the end of the session;
- ``deb``: the package ``make deb`` builds from this checkout.

Each needs root and Debian tools that ``make test`` installs; without them the
tests skip, saying what is missing (and fail in CI, which must run them).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, require, require_command
from tests.deploy import rootfs


@dataclass
class Rootfs:
    path: Path
    suite: str


def require_root(what: str) -> None:
    require(os.geteuid() == 0, f"{what} needs root (`make test` as root runs it)")


@pytest.fixture(scope="session")
def deploy_rootfs(tmp_path_factory) -> Rootfs:
    require_root("a Debian tree made with debootstrap")
    require_command("debootstrap", "debootstrap")
    suite = rootfs.codename() if Path("/etc/os-release").exists() else None
    require(suite is not None, "not a Debian host: no VERSION_CODENAME in /etc/os-release")
    source = rootfs.mirror(suite)
    require(source is not None, f"no Debian archive for {suite} in /etc/apt/sources.list{{,.d}}")
    log = tmp_path_factory.mktemp("rootfs") / "debootstrap.log"
    return Rootfs(rootfs.prepare(suite, source, log=log), suite)


@pytest.fixture(scope="session")
def docker_engine(deploy_rootfs, tmp_path_factory):
    from tests.deploy.engine import Engine

    require_command("dockerd", "docker.io")
    pytest.importorskip("docker")
    engine = Engine(rootfs.CACHE / "docker", tmp_path_factory.mktemp("dockerd") / "dockerd.log")
    saved = {k: os.environ.get(k) for k in ("DOCKER_HOST", "TESTCONTAINERS_RYUK_DISABLED")}
    with rootfs.locked(rootfs.CACHE / "docker.lock"):
        try:
            engine.start()
            # testcontainers talks to this engine, without its reaper container (no registry here).
            os.environ.update(DOCKER_HOST=engine.url, TESTCONTAINERS_RYUK_DISABLED="true")
            engine.base(deploy_rootfs.path, deploy_rootfs.suite)
            yield engine
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            engine.stop()


@pytest.fixture(scope="session")
def deb(tmp_path_factory) -> Path:
    """`make deb` into a temporary directory: the .deb it prints."""
    make = require_command("make", "make")
    require_command("dpkg-deb", "dpkg")
    require(Path("/usr/bin/python3").exists(), "no /usr/bin/python3 (Debian package python3) to build the .deb for")
    out = tmp_path_factory.mktemp("deb")
    res = subprocess.run([make, "-s", "deb", f"DEB_DIR={out}"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    (path,) = out.glob("carbon-client_*.deb")
    assert res.stdout.strip().endswith(str(path)), res.stdout
    return path
