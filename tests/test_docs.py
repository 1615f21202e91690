"""Documentation that is generated or promised stays true."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_reference_is_current():
    fresh = subprocess.run([sys.executable, "-m", "carbon_client.docs"], capture_output=True,
                           text=True, check=True, cwd=ROOT).stdout
    assert (ROOT / "docs" / "METRICS.md").read_text() == fresh, "run `make docs`"


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```", 2)[1]
    assert "make run" in block and "make test" in block
    assert text.index("make run") < 400


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
