"""Pure parsers for the kernel's text interfaces: text in, record out.

No I/O, no clock, no logging. Malformed input raises :class:`ParseError`
(a ``ValueError``) naming the offending line. Parsers of files with one line
per device accept ``on_error``: when given, a malformed line is reported to it
and skipped, so one bad line costs that line only.

Installed as ``carbon_client.parsers`` (pyproject.toml maps this folder there),
so no generic top-level ``parsers`` package lands in site-packages.
"""

from ._common import ParseError

__all__ = ["ParseError"]
