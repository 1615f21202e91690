"""Shared fixtures: real captures, fake /proc trees, real servers on loopback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.carbon_server import CarbonCache, carbon_cache_command

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent
# The example config: the one copy, shipped in the package.
EXAMPLE_CONFIG = ROOT / "carbon_client" / "config" / "carbon-client.yaml"

# Agents started by the tests read no config file unless a test names one:
# never the host's /etc/carbon-client/carbon-client.yaml (an empty value means no file).
os.environ["CARBON_CLIENT_CONFIG"] = ""

# CI sets this: a test that would skip for a missing tool fails instead.
REQUIRE_ALL = os.environ.get("CARBON_CLIENT_REQUIRE_ALL") == "1"


def require(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when something a test drives is missing."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"CI requires it: {reason}")
    pytest.skip(reason)


def require_command(name: str, package: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} not installed (Debian package {package}; `make test` installs it as root)")
    return path  # type: ignore[return-value]


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def carbon_cache(tmp_path_factory):
    """A running carbon-cache with 1-second retention; stopped afterwards."""
    require(carbon_cache_command() is not None, "carbon-cache.py not installed (pip install carbon)")
    cache = CarbonCache(tmp_path_factory.mktemp("carbon")).start()
    yield cache
    cache.stop()


# The deployment tests' session fixtures (a cached Debian tree, a Docker engine, the
# .deb), shared with tests/stack: tests/deploy/fixtures.py.
from tests.deploy.fixtures import deb, deploy_rootfs, docker_engine  # noqa: E402,F401
