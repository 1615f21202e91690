"""Packaging: an SPDX license, builds that print no deprecation, and an sdist a packager can work from.

The sdist is built from this checkout, unpacked, and must hold what a
packager needs beside the code (the deployment files, the docs, the tests and
their captures, the examples, the benchmarks, the Makefile, LICENSE, README);
a wheel is then built from the unpacked sdist the way ``pip install .`` does
(an isolated build with the setuptools the index offers) and must print no
deprecation warning.
"""

from __future__ import annotations

import email.parser
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_CONFIG, ROOT

# Directories and files of the checkout the sdist carries whole.
TREES = ("deploy", "docs", "tests", "examples", "bench")
FILES = ("LICENSE", "README.md", "Makefile", "pyproject.toml", "docker-compose.grafana.yml", ".env.example",
         ".dockerignore", ".ci/run")
JUNK = re.compile(r"(^|/)(__pycache__|\.pytest_cache|\.hypothesis)(/|$)|\.py[cod]$|^bench/results(/|$)")


def metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(z.read(name).decode()), z.namelist()


def checkout_files() -> set[str]:
    found = set(FILES)
    for top in TREES:
        for dirpath, _, names in os.walk(ROOT / top):
            for n in names:
                rel = str((Path(dirpath) / n).relative_to(ROOT))
                if not JUNK.search(rel):
                    found.add(rel)
    return found


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> tuple[Path, str]:
    """(the unpacked sdist, what building it printed)."""
    out = tmp_path_factory.mktemp("sdist")
    res = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out), str(ROOT)],
                         # cwd: a build/ left in the checkout would shadow the module
                         capture_output=True, text=True, timeout=300, cwd=out)
    assert res.returncode == 0, res.stdout + res.stderr
    (archive,) = out.glob("carbon_client-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(out / "unpacked", filter="data")
    (top,) = (out / "unpacked").iterdir()
    return top, res.stdout + res.stderr


def test_the_license_is_an_spdx_expression_with_its_file():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^license = "MIT"$', text, re.M)
    assert not re.search(r"License :: ", text), "no license classifiers beside the SPDX expression"
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "Copyright (c) the carbon-client authors" in license_text


def test_the_sdist_holds_what_a_packager_needs(sdist):
    top, _ = sdist
    shipped = {str(p.relative_to(top)) for p in top.rglob("*") if p.is_file()}
    missing = sorted(checkout_files() - shipped)
    assert not missing, f"not in the sdist: {missing[:20]}"
    assert not [p for p in shipped if JUNK.search(p)], "no byte-code or caches"
    # The example config is package data, the one copy: in the sdist once, under the package.
    assert [p for p in shipped if p.endswith("carbon-client.yaml") and "config" in p] == \
           ["carbon_client/config/carbon-client.yaml"]
    assert (top / "carbon_client/config/carbon-client.yaml").read_bytes() == EXAMPLE_CONFIG.read_bytes()


def test_a_wheel_builds_from_the_sdist_without_deprecation_warnings(sdist, tmp_path):
    top, sdist_log = sdist
    # What `pip install .` does: an isolated build with the setuptools the index offers.
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--disable-pip-version-check",
                          "-w", str(tmp_path), str(top)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    for log in (sdist_log, res.stdout + res.stderr):
        warned = [line for line in log.splitlines() if re.search(r"deprecat", line, re.I)]
        assert not warned, "\n".join(warned)
    (wheel,) = tmp_path.glob("carbon_client-*-py3-none-any.whl")
    meta, names = metadata(wheel)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert "carbon_client-0.1.0.dist-info/licenses/LICENSE".replace("0.1.0", meta["Version"]) in names
    assert "carbon_client/config/carbon-client.yaml" in names
    assert not [n for n in names if n.startswith(("tests/", "deploy/", "docs/", "parsers/"))], \
        "the wheel is the agent alone"
