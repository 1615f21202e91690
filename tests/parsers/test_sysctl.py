"""Number files under /proc/sys (../shared/formats/wave2.md 3.4 and 4): one decimal
(nf_conntrack_count, entropy_avail), and fs/file-nr's ``allocated\\tfree\\tmax``."""

from __future__ import annotations

import pytest

from carbon_client.parsers.sysctl import FileNr, parse_file_nr, parse_sysctl_int
from tests.parsers.util import HUGE, raises_naming, wave2

INTS = [
    ("nf_conntrack_count 6.18", "procfs-live-vm618/proc/sys/net/netfilter/nf_conntrack_count", 0),
    ("nf_conntrack_max 6.18", "procfs-live-vm618/proc/sys/net/netfilter/nf_conntrack_max", 262144),
    ("ip_conntrack_count (old path)", "procfs-diamond-oldpath/proc/sys/net/ipv4/netfilter/ip_conntrack_count", 33),
    ("ip_conntrack_max (old path)", "procfs-diamond-oldpath/proc/sys/net/ipv4/netfilter/ip_conntrack_max", 36),
    ("entropy_avail 5.18+", "procfs-live-vm618/proc/sys/kernel/random/entropy_avail", 256),
    ("entropy_avail before 5.18", "procfs-pcp-procsys/proc/sys/kernel/random/entropy_avail", 3944),
]


@pytest.mark.parametrize("rel, expected", [c[1:] for c in INTS], ids=[c[0] for c in INTS])
def test_single_values(rel, expected):
    assert parse_sysctl_int(wave2(rel)) == expected


FILE_NR = [
    ("6.18", "procfs-live-vm618/proc/sys/fs/file-nr", FileNr(464, 0, 2466177)),
    ("pcp", "procfs-pcp-procsys/proc/sys/fs/file-nr", FileNr(10784, 0, 1598938)),
    ("sysstat", "procfs-sysstat-root1/proc/sys/fs/file-nr", FileNr(16704, 0, 809467)),
]


@pytest.mark.parametrize("rel, expected", [c[1:] for c in FILE_NR], ids=[c[0] for c in FILE_NR])
def test_file_nr(rel, expected):
    assert parse_file_nr(wave2(rel)) == expected


def test_file_nr_with_the_64_bit_limit():
    # fs.file-max defaults to LONG_MAX on some hosts
    assert parse_file_nr("1024\t0\t9223372036854775807\n") == FileNr(1024, 0, 2**63 - 1)


BAD_INTS = ["", "\n", "1 2\n", "-1\n", "1.5\n", "x\n", "\u0661\n", f"{HUGE}\n", "0x10\n"]


@pytest.mark.parametrize("text", BAD_INTS, ids=["empty", "blank", "two values", "negative", "fraction", "garbage",
                                               "non-ASCII digit", "beyond int()'s digit limit", "hex"])
def test_bad_single_values(text):
    with raises_naming(text):
        parse_sysctl_int(text)


BAD_FILE_NR = ["", "464\t0\n", "464\t0\t2466177\t1\n", "464\tx\t2466177\n", "hello world\n"]


@pytest.mark.parametrize("text", BAD_FILE_NR, ids=["empty", "too few fields", "too many fields", "garbage value",
                                                  "garbage"])
def test_bad_file_nr(text):
    with raises_naming(text):
        parse_file_nr(text)
