"""Plugins: collectors installed as ordinary packages, found through entry points.

One test builds a real venv, installs the agent and the example plugin
(examples/carbon-client-thermal) into it with pip, and runs `carbon-client
once` from it on a /sys tree with two thermal zones: the plugin's lines are
there, its counter made a rate. The others install small plugins into a
directory on PYTHONPATH (a real pip install, found the same way): one that
raises on import, one that raises on read, one that is not a collector.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

EXAMPLE = ROOT / "examples" / "carbon-client-thermal"


def thermal_sys(tmp_path: Path) -> Path:
    sys_root = tmp_path / "sys"
    for i, (kind, temp) in enumerate((("x86_pkg_temp", 45000), ("acpitz", 27800))):
        zone = sys_root / "class" / "thermal" / f"thermal_zone{i}"
        zone.mkdir(parents=True)
        (zone / "type").write_text(kind + "\n")
        (zone / "temp").write_text(f"{temp}\n")
    return sys_root


def pip(python: str, *args: str) -> None:
    r = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_example_plugin_installed_in_a_venv_sends_its_lines(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    pip(python, str(ROOT))
    pip(python, "--no-deps", str(EXAMPLE))
    env = dict(os.environ, CARBON_CLIENT_CONFIG="")
    listing = subprocess.run([str(venv / "bin" / "carbon-client"), "collectors", "--sys-root",
                              str(thermal_sys(tmp_path))], capture_output=True, text=True, env=env, timeout=60)
    assert listing.returncode == 0, listing.stderr
    row = next(line.split() for line in listing.stdout.splitlines() if line.startswith("thermal "))
    assert row[:5] == ["thermal", "plugin", "thermal", "10s", "off"] and row[-1] == "available"
    r = subprocess.run([str(venv / "bin" / "carbon-client"), "once", "--collectors", "thermal", "--interval", "1",
                        "--hostname", "h", "--sys-root", str(thermal_sys(tmp_path / "b"))],
                       capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line.split()[1] for line in r.stdout.splitlines()}
    assert lines["h.thermal.x86_pkg_temp.temp_c"] == "45.0"
    assert lines["h.thermal.acpitz.temp_c"] == "27.8"
    assert 0.9 < float(lines["h.thermal.acpitz.polls"]) < 1.1  # one read a second: the agent's rate


def make_plugin(tmp_path: Path, name: str, body: str) -> Path:
    src = tmp_path / f"src-{name}"
    (src / f"plug_{name}").mkdir(parents=True)
    (src / f"plug_{name}" / "__init__.py").write_text(textwrap.dedent(body))
    (src / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "plug-{name}"
        version = "1"
        [project.entry-points."carbon_client.collectors"]
        {name} = "plug_{name}:Plugin"
        """))
    return src


BROKEN = {
    "boom": "raise RuntimeError('this plugin cannot start')\n",
    "notacollector": "class Plugin:\n    pass\n",
    "readfails": """
        from carbon_client.metrics import Collector, gauge

        class Plugin(Collector):
            name = group = "readfails"
            fields = ("v",)
            metrics = (gauge("v", "", "v"),)

            def probe(self):
                return None

            def read(self):
                raise RuntimeError("cannot read today")
        """,
}


def test_broken_plugins_are_reported_and_disabled_never_fatal(tmp_path):
    target = tmp_path / "site"
    for name, body in BROKEN.items():
        pip(sys.executable, "--no-deps", "--no-build-isolation", "--target", str(target),
            str(make_plugin(tmp_path, name, body)))
    env = dict(os.environ, PYTHONPATH=f"{target}{os.pathsep}{ROOT}", CARBON_CLIENT_CONFIG="")
    common = ["--proc-root", str(FIXTURES / "procfs"), "--sys-root", str(tmp_path), "--hostname", "h"]
    listing = subprocess.run([sys.executable, "-m", "carbon_client", "collectors", *common],
                             capture_output=True, text=True, env=env, timeout=60)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()}
    assert "could not be loaded: this plugin cannot start" in rows["boom"]
    assert "is not a carbon_client.metrics.Collector subclass" in rows["notacollector"]
    assert rows["readfails"].split()[1] == "plugin" and rows["readfails"].endswith("available")
    r = subprocess.run([sys.executable, "-m", "carbon_client", "once", "--interval", "1", *common,
                        "--collectors", "load,boom,readfails"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "h.load.1m 0.02 " in r.stdout
    assert "h.carbon_client.readfails.success 0 " in r.stdout
    assert "collector readfails failed: cannot read today" in r.stderr
    assert "plugin boom (plug_boom:Plugin) could not be loaded" in r.stderr


@pytest.mark.parametrize("name,body", [
    ("load", "from carbon_client.collectors.basic import Load as Plugin\n"),
    # the health group's collector name: `intervals: {agent: ...}` is its interval
    ("agent", "from carbon_client.collectors.basic import Load\nclass Plugin(Load):\n    name = group = 'agent'\n"),
])
def test_a_plugin_may_not_take_a_built_in_name(tmp_path, name, body):
    target = tmp_path / "site"
    pip(sys.executable, "--no-deps", "--no-build-isolation", "--target", str(target), str(make_plugin(
        tmp_path, name, body)))
    env = dict(os.environ, PYTHONPATH=f"{target}{os.pathsep}{ROOT}", CARBON_CLIENT_CONFIG="")
    r = subprocess.run([sys.executable, "-m", "carbon_client", "collectors"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0
    assert "takes the name of a built-in collector or group" in r.stdout
