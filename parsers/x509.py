"""The end of a certificate's validity, from its DER bytes (RFC 5280 section 4.1).

    Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
        serialNumber INTEGER, signature SEQUENCE, issuer SEQUENCE,
        validity SEQUENCE { notBefore Time, notAfter Time }, ... }, ... }
    Time ::= UTCTime (tag 23, YYMMDDHHMMSSZ; YY >= 50 is 19YY) | GeneralizedTime (tag 24, YYYYMMDDHHMMSSZ)

Only the walk to notAfter is done: no signature, no extension is read.
"""

from __future__ import annotations

import calendar

from ._common import ParseError

_SEQUENCE, _INTEGER, _UTC, _GENERALIZED, _VERSION = 0x30, 0x02, 0x17, 0x18, 0xA0


def _tlv(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the element at ``at``."""
    if at + 2 > len(der):
        raise ParseError("x509: truncated")
    tag, n = der[at], der[at + 1]
    at += 2
    if n & 0x80:
        size = n & 0x7F
        if not 1 <= size <= 4 or at + size > len(der):
            raise ParseError("x509: bad length")
        n = int.from_bytes(der[at:at + size], "big")
        at += size
    if at + n > len(der):
        raise ParseError("x509: truncated")
    return tag, at, at + n


def _expect(der: bytes, at: int, tag: int, what: str) -> tuple[int, int]:
    t, start, end = _tlv(der, at)
    if t != tag:
        raise ParseError(f"x509: expected {what}, got tag {t:#x}")
    return start, end


def not_after(der: bytes) -> int:
    """The certificate's notAfter as seconds since the epoch (UTC)."""
    cert, _ = _expect(der, 0, _SEQUENCE, "a certificate")
    at, _ = _expect(der, cert, _SEQUENCE, "tbsCertificate")
    if _tlv(der, at)[0] == _VERSION:
        at = _tlv(der, at)[2]
    at = _expect(der, at, _INTEGER, "serialNumber")[1]
    at = _expect(der, at, _SEQUENCE, "signature")[1]
    at = _expect(der, at, _SEQUENCE, "issuer")[1]
    validity, _ = _expect(der, at, _SEQUENCE, "validity")
    at = _tlv(der, validity)[2]  # notBefore
    tag, start, end = _tlv(der, at)
    text = der[start:end].decode("ascii", "replace")
    if tag == _UTC and len(text) == 13 and text.endswith("Z") and text[:12].isdigit():
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif not (tag == _GENERALIZED and len(text) == 15 and text.endswith("Z") and text[:14].isdigit()):
        raise ParseError(f"x509: notAfter {text!r} is not a UTCTime or GeneralizedTime in UTC")
    y, mo, d, h, mi, s = (int(text[i:j]) for i, j in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14)))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 61):
        raise ParseError(f"x509: notAfter {text!r} is not a date")
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
