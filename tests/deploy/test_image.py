"""The agent's image (deploy/docker/Dockerfile), built and run the way the compose file runs it.

Built on the session's Docker engine from the local base image (the cached
Debian tree: no registry here) through the Dockerfile's BASE argument, then run
with the compose service's mounts, network, read-only root, dropped
capabilities and command; its lines must reach a receiver on the host, and a
process group must find a process of the host, which only the host's /proc
(mounted at /host/proc) lists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT
from tests.line_server import LineServer

pytestmark = [pytest.mark.docker]

DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
SERVICE = yaml.safe_load((ROOT / "docker-compose.grafana.yml").read_text())["services"]["agent"]
HOST = "imagehost"
CONFIG = "/etc/carbon-client/carbon-client.yaml"


def env_default(text: str) -> str:
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


def test_the_dockerfile_builds_from_a_registry_image_unless_told_otherwise():
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG BASE=python:3\.11-slim$", text, re.M)
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert froms and set(froms) == {"${BASE}"}, froms


@pytest.fixture(scope="module")
def agent_image(docker_engine):
    image = docker_engine.build(ROOT, str(DOCKERFILE.relative_to(ROOT)), "carbon-client:test",
                                BASE=docker_engine.base_image)
    return image


def test_the_image_streams_the_host_as_compose_runs_it(docker_engine, agent_image, tmp_path):
    assert agent_image.attrs["Config"]["User"] == "65534:65534"
    assert agent_image.attrs["Config"]["Entrypoint"] == ["carbon-client"]
    server = LineServer().start()
    marker = f"image-test-marker-{os.getpid()}"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker])
    config = tmp_path / "carbon-client.yaml"
    config.write_text(yaml.safe_dump({"process_groups": [{"name": "marker", "cmdline": marker}]}))
    config.chmod(0o644)
    volumes = {src: {"bind": dst, "mode": mode} for src, dst, mode in (v.split(":") for v in SERVICE["volumes"])}
    volumes[str(config)] = {"bind": CONFIG, "mode": "ro"}
    command = [env_default(c) for c in SERVICE["command"] if not c.startswith(("--carbon=", "--interval="))]
    command += [f"--carbon=127.0.0.1:{server.port}", "--interval=1", f"--hostname={HOST}", f"--config={CONFIG}"]
    container = docker_engine.client.containers.run(
        agent_image.id, command, detach=True, volumes=volumes, network_mode=SERVICE["network_mode"],
        read_only=SERVICE["read_only"], cap_drop=SERVICE["cap_drop"], security_opt=SERVICE["security_opt"],
    )
    try:
        wanted = (f"{HOST}.load.1m", f"{HOST}.process.marker.count")
        got = server.wait_for(lambda ls: all(any(line.startswith(w + " ") for line in ls) for w in wanted),
                              timeout=90)
        counts = {float(line.split()[1]) for line in got if line.startswith(f"{HOST}.process.marker.count ")}
        assert counts == {1.0}, (counts, container.logs().decode(errors="replace")[-3000:])
        assert any(line.startswith(f"{HOST}.load.1m ") for line in got)
        container.stop(timeout=30)
        assert container.wait(timeout=60)["StatusCode"] == 0, "SIGTERM: flush, then exit 0"
        logs = container.logs().decode(errors="replace")
        assert "stopped; every line sent" in logs, logs[-3000:]
        assert "Traceback" not in logs, logs[-3000:]
    finally:
        sleeper.kill()
        sleeper.wait()
        container.remove(force=True)
        server.stop()
