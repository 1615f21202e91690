"""docker-compose.grafana.yml and the files it mounts, checked without a Docker engine."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from carbon_client.config import Config
from tests.conftest import EXAMPLE_CONFIG, ROOT, require_command

COMPOSE_FILE = ROOT / "docker-compose.grafana.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES = COMPOSE["services"]
GRAPHITE = ROOT / "deploy" / "graphite"
DOCS = ROOT / "docs" / "STACK.md"

# service -> (image repository, profiles)
EXPECTED = {
    "graphite": ("graphiteapp/graphite-statsd", []),
    "grafana": ("grafana/grafana", []),
    "agent": ("carbon-client", ["agent"]),
    "relay": ("carbon-c-relay", ["cluster"]),
    "graphite-a": ("graphiteapp/graphite-statsd", ["cluster"]),
    "graphite-b": ("graphiteapp/graphite-statsd", ["cluster"]),
    "graphite-front": ("graphiteapp/graphite-statsd", ["cluster"]),
}


def env_default(text: str) -> str:
    """``${VAR:-default}`` -> default (compose's interpolation, for the tests' purposes)."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


def ports(service: str) -> dict[int, str]:
    """container port -> host binding, defaults filled in."""
    out = {}
    for p in SERVICES[service].get("ports", []):
        *host, container = env_default(p).split(":")
        out[int(container.split("/")[0])] = ":".join(host)
    return out


def mounts(service: str) -> dict[str, str]:
    """container path -> host path (bind mounts) or volume name."""
    out = {}
    for v in SERVICES[service].get("volumes", []):
        src, dst, *_ = v.split(":")
        out[dst] = src
    return out


def compose_config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """``docker-compose config``: the Compose implementation's own validation, no engine needed."""
    tool = require_command("docker-compose", "docker-compose")
    env_file = tmp_path / "empty.env"  # not the checkout's .env, if someone made one
    env_file.write_text("")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "GRAPHITE_"))}
    return subprocess.run(
        [tool, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "--profile", "agent",
         "--profile", "cluster", "config", "-q"],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60,
    )


def test_compose_validates(tmp_path):
    res = compose_config(tmp_path, GRAFANA_ADMIN_PASSWORD="s3cret")
    assert res.returncode == 0, res.stdout + res.stderr


def test_compose_refuses_to_start_without_an_admin_password(tmp_path):
    res = compose_config(tmp_path)
    assert res.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in res.stderr


def test_services_images_and_profiles():
    assert set(SERVICES) == set(EXPECTED)
    for name, (image, profiles) in EXPECTED.items():
        svc = SERVICES[name]
        repo, _, tag = svc["image"].partition(":")
        assert repo == image, name
        assert svc.get("profiles", []) == profiles, name
        if "build" not in svc:
            assert tag and tag != "latest", f"{name}: pin the image version"


def test_graphite_ports_and_config():
    p = ports("graphite")
    assert set(p) == {2003, 80}, "Carbon's plaintext receiver and graphite-web; the pickle port stays inside"
    assert p[2003].endswith(":2003")
    assert p[80].startswith("127.0.0.1:"), "graphite-web has no authentication: loopback by default"


def test_carbon_ports():
    """Plaintext Carbon (no authentication) binds where CARBON_BIND says; no service publishes
    the pickle receiver (2004), which unpickles what any client sends."""
    for name in SERVICES:
        for spec in SERVICES[name].get("ports", []):
            host_ip, host_port, container = re.fullmatch(r"(\$\{[^}]*\}|[^:]*):(\$\{[^}]*\}|[^:]*):(.+)", spec).groups()
            assert "2004" not in (env_default(host_port), container.split("/")[0]), f"{name}: {spec}"
            if container == "2003":
                assert host_ip == "${CARBON_BIND:-0.0.0.0}", f"{name}: {spec}"
    m = mounts("graphite")
    for f in ("storage-schemas.conf", "storage-aggregation.conf", "carbon.conf"):
        assert m[f"/opt/graphite/conf/{f}"] == f"./deploy/graphite/{f}"
    assert not m["/opt/graphite/storage"].startswith("."), "a named volume keeps the data"


def test_grafana_provisioning_and_login():
    assert ports("grafana")[3000].endswith(":3000")
    m = mounts("grafana")
    assert m["/etc/grafana/provisioning/datasources"] == "./deploy/grafana/provisioning/datasources"
    assert m["/etc/grafana/provisioning/dashboards"] == "./deploy/grafana/provisioning/dashboards"
    # The rule files are read from here, the prefix written in, into Grafana's provisioning directory.
    env = SERVICES["grafana"]["environment"]
    assert m[env["CARBON_CLIENT_RULES"]] == "./deploy/grafana/provisioning/alerting"
    assert not env["CARBON_CLIENT_RULES"].startswith("/etc/grafana/provisioning/")
    assert env_default(env["CARBON_CLIENT_PREFIX"]) == "" and env_default(env["CARBON_CLIENT_FORMAT"]) == "plain"
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/carbon-client.yaml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert m[path] == "./deploy/grafana/dashboards", "the provider reads where the dashboards are mounted"
    # No admin/admin: the password must come from the environment, and compose refuses to run without it.
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", env["GF_SECURITY_ADMIN_PASSWORD"])
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env_default(env["GRAPHITE_URL"]) == "http://graphite:80"
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(path + "/") and (ROOT / "deploy/grafana/dashboards" / Path(home).name).exists()


def test_grafana_starts_after_writing_the_rules():
    """The entrypoint ends by running the command, the image's own entrypoint (grafana/grafana: /run.sh)."""
    svc = SERVICES["grafana"]
    entry = svc["entrypoint"]
    assert entry[:2] == ["/bin/sh", "-c"] and entry[2].rstrip().endswith('exec "$$@"')
    assert svc["command"] == ["/run.sh"]


def test_agent_service_reads_the_host():
    svc = SERVICES["agent"]
    assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).exists()
    assert svc["network_mode"] == "host", "/proc/net/dev is per network namespace"
    assert mounts("agent") == {"/host/proc": "/proc", "/host/sys": "/sys"}
    assert all(v.endswith(":ro") for v in svc["volumes"])
    cmd = [env_default(c) for c in svc["command"]]
    assert cmd[0] == "run"
    assert "--proc-root=/host/proc" in cmd and "--sys-root=/host/sys" in cmd
    assert f"--interval={Config().interval}" in cmd
    assert "--prefix=${CARBON_CLIENT_PREFIX:-}" in svc["command"], "the prefix the alert rules expect"
    assert svc["cap_drop"] == ["ALL"] and svc["read_only"] is True


def test_cluster_profile():
    relay = SERVICES["relay"]
    assert (ROOT / relay["build"]["context"] / relay["build"]["dockerfile"]).exists()
    assert mounts("relay")["/etc/carbon-c-relay.conf"] == "./deploy/graphite/carbon-c-relay.conf"
    assert 2003 in ports("relay")
    text = re.sub(r"#.*", "", (GRAPHITE / "carbon-c-relay.conf").read_text())
    nodes = re.findall(r"^\s+([\w-]+):2003\s*$", text, re.M)
    assert nodes == ["graphite-a", "graphite-b"] and all(n in SERVICES for n in nodes)
    for n in nodes:
        assert mounts(n) == {**mounts("graphite"), "/opt/graphite/storage": f"{n}-storage"}
    front = SERVICES["graphite-front"]["environment"]
    assert front["GRAPHITE_CLUSTER_SERVERS"].split(",") == [f"{n}:8080" for n in nodes]
    assert front["CARBON_DISABLED"] == "1", "graphite-front stores nothing"


def test_every_mounted_host_path_exists():
    named = set(COMPOSE.get("volumes", {}))
    for name in SERVICES:
        for src in mounts(name).values():
            if src.startswith("./"):
                assert (ROOT / src).exists(), f"{name}: {src} does not exist"
            elif src.startswith("/"):
                assert src in ("/proc", "/sys"), f"{name}: unexpected host path {src}"
            else:
                assert src in named, f"{name}: volume {src} is not declared"


def test_env_example_documents_every_variable():
    # ${VAR} is compose's; $${VAR} is an escaped $ for the container's shell.
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE_FILE.read_text()))
    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key] = value
    assert used <= set(example), f"undocumented: {sorted(used - set(example))}"
    assert example["GRAFANA_ADMIN_PASSWORD"] == "", "no password is shipped"
    assert example["CARBON_CLIENT_PREFIX"] == "" and example["CARBON_CLIENT_FORMAT"] == "plain"
    assert example["GRAPHITE_URL"] == env_default(SERVICES["grafana"]["environment"]["GRAPHITE_URL"])


# -- Carbon's configuration ---------------------------------------------------------


def schemas() -> list[tuple[str, str, str]]:
    """(section, pattern, retentions) in file order: carbon uses the first match."""
    cp = configparser.ConfigParser()
    cp.read_string((GRAPHITE / "storage-schemas.conf").read_text())
    return [(s, cp[s]["pattern"], cp[s]["retentions"]) for s in cp.sections()]


def schema_for(path: str) -> str:
    for _, pattern, retentions in schemas():
        if re.search(pattern, path):
            return retentions
    pytest.fail(f"no storage schema matches {path}")


def test_finest_retention_matches_the_agent_interval():
    whisper = pytest.importorskip("whisper")
    agent_file = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    interval = Config().interval
    assert agent_file["interval"] == interval
    for _, _, retentions in schemas():
        archives = [whisper.parseRetentionDef(r) for r in retentions.split(",")]
        whisper.validateArchiveList(archives)
    for path in ("web01.cpu.total.user", "servers.dc1.web01.disk.sda.read_bytes", "h.carbon_client.sent"):
        first = whisper.parseRetentionDef(schema_for(path).split(",")[0])
        assert first[0] == interval, f"{path}: finest archive {first[0]} s, agent sends every {interval} s"


def test_storage_aggregation():
    whisper = pytest.importorskip("whisper")
    cp = configparser.ConfigParser()
    cp.read_string((GRAPHITE / "storage-aggregation.conf").read_text())
    rules = [(cp[s]["pattern"], cp[s]["aggregationMethod"], float(cp[s]["xFilesFactor"])) for s in cp.sections()]
    for _, method, xff in rules:
        assert method in whisper.aggregationMethods and 0 <= xff <= 1

    def method(path: str) -> str:
        return next(m for p, m, _ in rules if re.search(p, path))

    assert method("h.disk.sda.read_bytes") == "average", "the mean of a rate is the rate"
    assert method("h.disk.sda.read_bytes_total") == "last", "a cumulative counter keeps its last value"
    assert method("h.carbon_client.connected") == "min"
    assert method("h.carbon_client.disk.success") == "min"
    assert method("h.fs.mnt_data.responsive") == "min"
    assert method("h.memory.used") == "average"


def test_carbon_conf():
    cp = configparser.ConfigParser()
    cp.read_string((GRAPHITE / "carbon.conf").read_text())
    cache = cp["cache"]
    creates = float(cache["MAX_CREATES_PER_MINUTE"])
    assert creates > 50, "carbon's default of 50 drops a new host's points for minutes"
    assert creates <= 1000, "bounded: each create allocates ~1.1 MiB; a sender making up names fills the disk"
    assert cache["LINE_RECEIVER_PORT"] == "2003" and cache["PICKLE_RECEIVER_PORT"] == "2004"
    # format: tags needs the tag index; plain paths stay out of it.
    assert cache["ENABLE_TAGS"] == "True" and cache["SKIP_TAGS_FOR_NONTAGGED"] == "True"
    assert cache["GRAPHITE_URL"] == "http://127.0.0.1:8080", "graphite-web's port inside the graphite-statsd image"


# -- images -----------------------------------------------------------------------------


def test_agent_dockerfile():
    text = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["carbon-client"\]', text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("0", "root")), "runs unprivileged"
    for src in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        assert (ROOT / src).exists(), src
    ignore = (ROOT / ".dockerignore").read_text().split()
    for needed in ("!pyproject.toml", "!carbon_client/", "!parsers/"):
        assert needed in ignore


# -- the docs promise what the file does ------------------------------------------------------


def test_docs_describe_the_stack():
    text = DOCS.read_text()
    assert "docker compose -f docker-compose.grafana.yml up -d" in text
    for name in SERVICES:
        assert f"`{name}`" in text, f"docs/STACK.md does not mention the {name} service"
    for profile in ("agent", "cluster"):
        assert f"--profile {profile}" in text
    for port in ("2003", "3000", "8080"):
        assert port in text
    assert "GRAFANA_ADMIN_PASSWORD" in text
