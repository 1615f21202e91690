"""The two /proc snapshots of tests/top/snapshots.py, as a fixture for every test here."""

from __future__ import annotations

import pytest

from tests.top.snapshots import Snapshots


@pytest.fixture
def snaps(tmp_path) -> Snapshots:
    return Snapshots(tmp_path)
