"""Shared by the parser tests: the real /proc captures and error assertions."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers._common import excerpt
from tests.conftest import FIXTURES

PROC = FIXTURES / "procfs"

# int() refuses more digits than this (sys.int_info.default_max_str_digits, 3.11+).
HUGE = "9" * 5000


def proc(rel: str) -> str:
    return (PROC / rel).read_text(encoding="utf-8")


def wave2(rel: str) -> str:
    """A capture under tests/fixtures/wave2 (``procfs-live-vm618/proc/uptime``)."""
    return (FIXTURES / "wave2" / rel).read_text(encoding="utf-8")


@contextmanager
def raises_naming(line: str) -> Iterator[None]:
    """The block raises ParseError whose message quotes ``line`` as the parsers do."""
    with pytest.raises(ParseError) as exc:
        yield
    assert excerpt(line) in str(exc.value), f"{excerpt(line)} not named in {exc.value}"
    assert len(str(exc.value)) < 400, "a huge line is quoted in part, not whole"
