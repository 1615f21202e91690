"""No agent outlives its test, even one that failed before stopping it."""

from __future__ import annotations

import pytest

from tests.faults import process


@pytest.fixture(autouse=True)
def _no_agent_left():
    yield
    for proc in process.started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    process.started.clear()
