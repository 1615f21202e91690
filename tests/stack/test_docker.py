"""The compose file's Graphite container, for real (testcontainers): needs a Docker engine.

The container gets the same image and the same mounted Carbon configuration
as the ``graphite`` service; the agent streams this host into it at its
default interval, and a point is read back through graphite-web's render API.
Skipped, saying why, when no Docker engine answers.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
import yaml

from tests.conftest import ROOT
from tests.stack.conftest import AgentProcess

pytestmark = [pytest.mark.docker, pytest.mark.integration]

SERVICE = yaml.safe_load((ROOT / "docker-compose.grafana.yml").read_text())["services"]["graphite"]


def docker_engine():
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        pytest.skip(f"no Docker engine answers ({type(exc).__name__}: {exc})")
    return client


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def test_graphite_container_stores_what_the_agent_sends(tmp_path):
    docker_engine()
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(SERVICE["image"]).with_exposed_ports(2003, 80)
    for volume in SERVICE["volumes"]:
        src, dst, *mode = volume.split(":")
        if src.startswith("./"):
            container = container.with_volume_mapping(str(ROOT / src), dst, mode[0] if mode else "ro")
    with container:
        host = container.get_container_host_ip()
        carbon = container.get_exposed_port(2003)
        web = f"http://{host}:{container.get_exposed_port(80)}"
        deadline = time.monotonic() + 180
        while True:
            try:
                get_json(f"{web}/metrics/find?query=*")
                break
            except (OSError, ValueError):
                assert time.monotonic() < deadline, "graphite-web in the container never answered"
                time.sleep(1)
        agent = AgentProcess([f"--carbon={host}:{carbon}", "--hostname=containerhost"],
                             tmp_path / "agent.log").start()
        try:
            deadline = time.monotonic() + 90
            while True:
                series = get_json(f"{web}/render?target=containerhost.load.1m&format=json&from=-5min")
                values = [v for s in series for v, _ in s["datapoints"] if v is not None]
                if values:
                    break
                assert time.monotonic() < deadline, f"no point read back; agent said:\n{agent.output()}"
                time.sleep(2)
        finally:
            agent.stop()
        # The mounted storage-schemas.conf is in force: points are 10 s apart.
        (s,) = series
        stamps = [ts for _, ts in s["datapoints"]]
        assert {b - a for a, b in zip(stamps, stamps[1:])} == {10}
