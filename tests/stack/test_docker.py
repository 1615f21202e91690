"""The compose file's Graphite service, played by a carbon-cache container (testcontainers).

No image registry is reachable here, so the container is carbon-cache from
Debian's graphite-carbon, built on the session's Docker engine
(tests/deploy/carbon-cache.Dockerfile) and laid out like the compose file's
image: the service's Carbon configuration is mounted where it mounts it (the
receivers moved to free loopback ports: the engine has no bridge, containers
use the host's network). The agent streams this host into it at its default
interval, and the points are read back from the Whisper files. Skipped, saying
why, where no engine can be started (not root); CI runs it.
"""

from __future__ import annotations

import configparser
import time

import pytest
import yaml

from tests.carbon_server import free_port
from tests.conftest import ROOT
from tests.stack.conftest import AgentProcess

pytestmark = [pytest.mark.docker, pytest.mark.integration]

SERVICE = yaml.safe_load((ROOT / "docker-compose.grafana.yml").read_text())["services"]["graphite"]
STORAGE = "/opt/graphite/storage"


def carbon_conf(path, ports: dict[str, int]) -> None:
    """The mounted carbon.conf with its receivers on loopback at ``ports``; everything else as shipped."""
    cp = configparser.ConfigParser()
    cp.optionxform = str
    cp.read_string((ROOT / "deploy/graphite/carbon.conf").read_text())
    for key, port in ports.items():
        cp["cache"][f"{key}_INTERFACE"] = "127.0.0.1"
        cp["cache"][f"{key}_PORT"] = str(port)
    with open(path, "w") as f:
        cp.write(f)


def test_graphite_container_stores_what_the_agent_sends(docker_engine, tmp_path):
    import whisper
    from testcontainers.core.container import DockerContainer

    image = docker_engine.carbon_cache_image(docker_engine.base_image)
    ports = {"LINE_RECEIVER": free_port(), "PICKLE_RECEIVER": free_port(), "CACHE_QUERY": free_port()}
    carbon_conf(tmp_path / "carbon.conf", ports)
    storage = tmp_path / "storage"
    storage.mkdir()
    container = DockerContainer(image).with_kwargs(network_mode="host")
    for volume in SERVICE["volumes"]:
        src, dst, *mode = volume.split(":")
        if dst.endswith("/carbon.conf"):
            src = str(tmp_path / "carbon.conf")
        elif dst == STORAGE:
            src = str(storage)  # a named volume in the compose file: a directory the test reads here
        else:
            src = str(ROOT / src)
        container = container.with_volume_mapping(src, dst, mode[0] if mode else "rw")
    with container:
        agent = AgentProcess([f"--carbon=127.0.0.1:{ports['LINE_RECEIVER']}", "--hostname=containerhost"],
                             tmp_path / "agent.log").start()
        wsp = storage / "whisper/containerhost/load/1m.wsp"
        try:
            deadline = time.monotonic() + 120
            while True:
                points = []
                if wsp.exists():
                    (start, end, step), values = whisper.fetch(str(wsp), int(time.time()) - 600)
                    points = [(start + i * step, v) for i, v in enumerate(values) if v is not None]
                if len(points) >= 2:
                    break
                logs = container.get_wrapped_container().logs().decode(errors="replace")[-2000:]
                assert time.monotonic() < deadline, f"no points stored; agent:\n{agent.output()}\ncarbon:\n{logs}"
                time.sleep(1)
        finally:
            agent.stop()
    # The mounted storage-schemas.conf is in force: 10 s points, the agent's default interval.
    assert whisper.info(str(wsp))["archives"][0]["secondsPerPoint"] == 10
    assert {b[0] - a[0] for a, b in zip(points, points[1:])} == {10}, points
