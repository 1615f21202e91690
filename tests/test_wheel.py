"""The wheel carries the example config: `carbon-client config` works from an installed package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from tests.conftest import EXAMPLE_CONFIG, ROOT

# What the wheel is built from (the same set as deploy/docker/Dockerfile copies).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "carbon_client", "parsers")


def test_the_wheel_ships_the_example_config(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"))
        else:
            shutil.copy(path, src / name)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                        "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (tmp_path / "dist").glob("carbon_client-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert z.read("carbon_client/config/carbon-client.yaml") == EXAMPLE_CONFIG.read_bytes()
        names = z.namelist()
        # The parsers live in the project's namespace: no generic top-level package in site-packages.
        assert "carbon_client/parsers/stat.py" in names
        assert not [n for n in names if n.startswith("parsers/")]
        # pyproject.toml lists the packages: every one in the tree is in the wheel.
        packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "carbon_client").rglob("__init__.py")}
        assert {p for p in packages if f"{p}/__init__.py" not in names} == set()
        assert wheel.name.endswith("-py3-none-any.whl")  # pure Python, one build for every machine
        z.extractall(tmp_path / "installed")
    # run from the unpacked wheel, not from the checkout
    r = subprocess.run([sys.executable, "-m", "carbon_client", "config"], cwd=tmp_path / "installed",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == EXAMPLE_CONFIG.read_text()
    r = subprocess.run([sys.executable, "-c", "import carbon_client; print(carbon_client.__file__)"],
                       cwd=tmp_path / "installed", capture_output=True, text=True, timeout=60)
    assert r.stdout.startswith(str(tmp_path / "installed")), r.stdout
