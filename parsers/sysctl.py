"""Files under /proc/sys (sysctls) that hold numbers: kernel/sysctl.c proc_dointvec and friends.

Most hold one decimal and a newline (``net/netfilter/nf_conntrack_count``,
``kernel/random/entropy_avail``); ``fs/file-nr`` holds three, tab-separated.
"""

from __future__ import annotations

from typing import NamedTuple

from ._common import ParseError, excerpt, uints


def parse_sysctl_int(text: str, what: str = "sysctl") -> int:
    """The one unsigned decimal of a single-value sysctl file."""
    words = text.split()
    if len(words) != 1:
        raise ParseError(f"{what}: {excerpt(text)}: expected one number")
    return uints(what, text, words)[0]


class FileNr(NamedTuple):
    """fs/file-nr: file handles allocated, allocated but free (0 since 2.6), and the limit (fs.file-max)."""

    allocated: int
    free: int
    max: int


def parse_file_nr(text: str) -> FileNr:
    words = text.split()
    if len(words) != 3:
        raise ParseError(f"file-nr: {excerpt(text)}: expected 'allocated free max'")
    return FileNr(*uints("file-nr", text, words))
