"""The screen through `carbon-client top`: header repetition, trimming to the terminal, colours."""

from __future__ import annotations

from tests.top.snapshots import top


def test_header_repeats_every_screenful_on_a_terminal(snaps):
    # 6 lines: a header (2 lines) and 4 rows per screen
    rc, out, _, _ = top(snaps, "-y", "1", "9", tty=True, termsize=lambda: (6, 80))
    assert rc == 0
    lines = out.splitlines()
    assert [i for i, line in enumerate(lines) if line == "---system--"] == [0, 6, 12]
    assert len(lines) == 3 * 2 + 9


def test_noheaders_prints_the_header_once(snaps):
    rc, out, _, _ = top(snaps, "-y", "--noheaders", "1", "9", tty=True, termsize=lambda: (6, 80))
    assert rc == 0
    assert out.splitlines().count("---system--") == 1
    assert len(out.splitlines()) == 2 + 9


def test_not_a_terminal_never_repeats_the_header(snaps):
    rc, out, _, _ = top(snaps, "-y", "1", "9", tty=False, termsize=lambda: (6, 80))
    assert rc == 0
    assert out.splitlines().count("---system--") == 1


def test_narrow_terminal_trims_blocks(snaps):
    rc, out, err, _ = top(snaps, "1", "1", tty=True, termsize=lambda: (25, 40))
    assert rc == 0
    assert out.splitlines() == [
        "--total-cpu-usage-- -dsk/total->",
        "usr sys idl wai stl| read  writ>",
        " 10   4  80   5   1|1025k 2048B>",
    ]
    assert err == "Terminal width too small, trimming output.\n"


def test_colour(snaps):
    rc, out, _, _ = top(snaps, "-d", "--color", "1", "1")
    assert rc == 0
    row = out.splitlines()[2]
    # 1025k: unit step 1 -> yellow number, dark gray unit; 2048B: step 0 -> red; then a reset
    assert row == "\033[1;33m1025\033[1;30mk \033[1;31m2048\033[1;30mB\033[0;0m"
    assert "\033[0;34m" in out.splitlines()[0]  # titles in dark blue


def test_nocolor_without_terminal_is_plain(snaps):
    rc, out, _, _ = top(snaps, "-d", "1", "1")
    assert rc == 0
    assert "\033" not in out
