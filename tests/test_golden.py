"""The exact bytes the agent sends for every capture, frozen in tests/golden/*.txt.

The driver (tests/golden/driver.py) runs three cycles one interval apart on
each scenario with an injected clock, stand-in dmsetup and a sender of fixed
state. A change of output must be meant: rewrite the files with
``python -m tests.golden.driver`` and say why in the commit.
"""

from __future__ import annotations

import pytest

from tests.golden import driver


@pytest.mark.parametrize("scenario", driver.scenarios(), ids=lambda s: s.name)
def test_golden(scenario, tmp_path):
    expected = (driver.HERE / f"{scenario.name}.txt").read_bytes()
    got = driver.run(scenario, tmp_path)
    if got != expected:
        want, have = expected.decode().splitlines(), got.decode().splitlines()
        diff = [f"-{a}\n+{b}" for a, b in zip(want, have) if a != b][:10]
        pytest.fail(f"{scenario.name}: {len(have)} lines, {len(want)} expected; first differences:\n"
                    + "\n".join(diff))


def test_every_golden_file_has_a_scenario():
    names = {s.name for s in driver.scenarios()}
    files = {p.stem for p in driver.HERE.glob("*.txt")}
    assert files == names
