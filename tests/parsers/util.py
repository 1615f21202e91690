"""Shared by the parser tests: the real /proc captures and error assertions."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest

from parsers import ParseError
from tests.conftest import FIXTURES

PROC = FIXTURES / "procfs"

# int() refuses more digits than this (sys.int_info.default_max_str_digits, 3.11+).
HUGE = "9" * 5000


def proc(rel: str) -> str:
    return (PROC / rel).read_text(encoding="utf-8")


@contextmanager
def raises_naming(line: str) -> Iterator[None]:
    """The block raises ParseError whose message quotes ``line`` as the parsers do."""
    with pytest.raises(ParseError) as exc:
        yield
    assert repr(line) in str(exc.value), f"{line!r} not named in {exc.value}"
