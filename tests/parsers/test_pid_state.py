"""State and num_threads of /proc/<pid>/stat (fs/proc/array.c; ../shared/formats/wave2.md 7):
field 3 and field 20, counted after the LAST ')' since comm may hold spaces and ')'."""

from __future__ import annotations

import pytest

from carbon_client.parsers.pid_state import parse_pid_state
from tests.parsers.util import raises_naming, wave2

CAPTURES = [
    ("bash, 6.18", "procfs-live-vm618/proc/8683/stat", ("S", 1)),
    ("sleep, 6.18", "procfs-live-vm618/proc/8750/stat", ("S", 1)),
    ("kthreadd", "procfs-live-vm618/proc/2/stat", ("S", 1)),
    ("systemd --user, 5.5.7", "procfs-pcp-procpid-5.5.7/proc/1309/stat", ("S", 1)),
    # "214983 (gnome-terminal-) S 1309 ... 20 0 4 0 24929473": 4 threads
    ("gnome-terminal-server, 4 threads", "procfs-pcp-procpid-5.5.7/proc/214983/stat", ("S", 4)),
]


@pytest.mark.parametrize("rel, expected", [c[1:] for c in CAPTURES], ids=[c[0] for c in CAPTURES])
def test_captures(rel, expected):
    assert parse_pid_state(wave2(rel)) == expected


TAIL = "1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 {threads} 0 226540 2990080 454 18446744073709551615 0 0"
VALID = [
    ("comm with spaces and a ')'", "42 (a) b (c) R " + TAIL.format(threads=12), ("R", 12)),
    ("zombie", "7 (defunct) Z " + TAIL.format(threads=1), ("Z", 1)),
    ("idle kernel thread (4.14+)", "9 (kworker/0:0H) I " + TAIL.format(threads=1), ("I", 1)),
    ("tracing stop", "9 (gdb target) t " + TAIL.format(threads=3), ("t", 3)),
    ("a state a later kernel adds", "9 (x) N " + TAIL.format(threads=1), ("N", 1)),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_pid_state(text) == expected


BAD = [
    ("empty", ""),
    ("no comm", "42 R " + TAIL.format(threads=1)),
    ("too few fields", "42 (x) R 1 1 1 0"),
    ("two-letter state", "42 (x) RS " + TAIL.format(threads=1)),
    ("digit for a state", "42 (x) 1 " + TAIL.format(threads=1)),
    ("negative threads", "42 (x) R " + TAIL.format(threads=-1)),
    ("garbage threads", "42 (x) R " + TAIL.format(threads="many")),
    ("garbage", "hello world"),
]


@pytest.mark.parametrize("text", [b[1] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(text):
    with raises_naming(text):
        parse_pid_state(text)
