"""dstat's number formatting (cprint, dchg, fchg, CSV values), by hand and against dstat itself.

Expected strings below are worked out from dstat 0.7.4's cprint by hand:
with scale 1000 or 1024 and width >= 4 a unit character takes the last
column (``B``/``k``/``M``/``G`` for 1024, `` ``/``k``/``M`` for 1000), the
number is divided by the base until it fits; ``b``/``d``/``p`` print whole
numbers (Python 3 rounding: halves to even), ``f`` as many decimals as fit;
a value that rounds to 0 gets a space instead of a unit.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from carbon_client.top.format import Style, Theme, cprint, csv_value, dchg, fchg
from tests.conftest import require_command

PLAIN = Theme(False)
COLOR = Theme(True)
YELLOW, RED, WHITE, DARKGRAY = "\033[1;33m", "\033[1;31m", "\033[1;37m", "\033[1;30m"


@pytest.mark.parametrize(
    "var, ctype, width, scale, expected",
    [
        # bytes (disk, net): width 5 = 4 digits + unit, base 1024
        (0, "b", 5, 1024, "   0 "),
        (0.4, "b", 5, 1024, "   0 "),
        (0.6, "b", 5, 1024, "   1B"),
        (2.5, "b", 5, 1024, "   2B"),
        (512, "b", 5, 1024, " 512B"),
        (1023, "b", 5, 1024, "1023B"),
        (1536, "b", 5, 1024, "1536B"),
        (9999, "b", 5, 1024, "9999B"),
        (10000, "b", 5, 1024, "  10k"),
        (15360, "b", 5, 1024, "  15k"),
        (1048576, "b", 5, 1024, "1024k"),
        (10485760, "b", 5, 1024, "  10M"),
        (5 * 2**30, "b", 5, 1024, "5120M"),
        (50 * 2**30, "b", 5, 1024, "  50G"),
        (-5, "b", 5, 1024, "   - "),
        (None, "b", 5, 1024, "   - "),
        # floats (memory): decimals when they fit
        (1536, "f", 5, 1024, "1536B"),
        (15360, "f", 5, 1024, "15.0k"),
        (0.5, "f", 5, 1024, "0.50 "),
        (12007640 * 1024, "f", 5, 1024, "11.5G"),
        (4468736, "f", 5, 1024, "4364k"),
        # counts (system, nfs): base 1000, a space for units
        (0, "d", 5, 1000, "   0 "),
        (1500, "d", 5, 1000, "1500 "),
        (12345, "d", 5, 1000, "  12k"),
        (2_500_000, "d", 5, 1000, "2500k"),
        (25_000_000, "d", 5, 1000, "  25M"),
        # percent (cpu): width 3, no unit
        (10, "p", 3, 34, " 10"),
        (4.5, "p", 3, 34, "  4"),
        (99.6, "p", 3, 34, "100"),
        (0.4, "p", 3, 34, "  0"),
        # load: width 4, no unit
        (0.02, "f", 4, 0.5, "0.02"),
        (1.5, "f", 4, 0.5, "1.50"),
        (12.3, "f", 4, 0.5, "12.3"),
        (123.4, "f", 4, 0.5, " 123"),
        # strings
        ("up", "s", 5, 0, "up   "),
    ],
)
def test_cprint_plain(var, ctype, width, scale, expected):
    assert cprint(var, ctype, width, scale, PLAIN) == expected


def test_dchg_fchg_report_the_unit_step():
    assert dchg(1048576, 4, 1024) == ("1024", 1)
    assert dchg(10485760, 4, 1024) == ("10", 2)
    assert fchg(15360, 4, 1024) == ("15.0", 1)
    assert fchg(0, 4, 1024) == ("0", 0)


def test_cprint_colours_by_magnitude():
    # the colour is the unit step: k (step 1) is the second colour, yellow; the unit is dark gray
    assert cprint(1048576, "b", 5, 1024, COLOR) == YELLOW + "1024" + DARKGRAY + "k"
    # zero in the unit colour, and no unit
    assert cprint(0, "b", 5, 1024, COLOR) == DARKGRAY + "   0" + " "
    # a full 100% is "done" (white)
    assert cprint(100, "p", 3, 34, COLOR) == WHITE + "100"
    # other scales colour by int(var / scale): load 0.02 / 0.5 -> first colour, red
    assert cprint(0.02, "f", 4, 0.5, COLOR) == RED + "0.02"


def test_cprint_bits_integer_float():
    bits = Style(bits=True)
    assert cprint(1000, "b", 5, 1024, PLAIN, bits) == "8000b"
    assert cprint(1048576, "b", 5, 1024, PLAIN, bits) == "8389k"
    assert cprint(1000, "d", 5, 1000, PLAIN, bits) == "1000 "  # counts are not bytes
    assert cprint(15360, "f", 5, 1024, PLAIN, Style(integer=True)) == "  15k"
    assert cprint(15360, "b", 5, 1024, PLAIN, Style(float=True)) == "15.0k"


@pytest.mark.parametrize(
    "var, expected",
    [(10, "10"), (10.0, "10"), (10.5, "10.500"), (1 / 3, "0.333"), (None, ""), ("up", "up"),
     (0.1 * 3 * 100 / 30 * 10, "10")],  # float noise does not turn 10 into 10.000
)
def test_csv_value(var, expected):
    assert csv_value(var) == expected


def _cases() -> list[list]:
    rng = random.Random(5)
    fixed = [0, 0.2, 0.5, 0.6, 1, 2.5, 9.5, 10.5, 99.5, 100, 999, 1000, 1023, 1024, 1536,
             9999, 10000, 10239, 10240, 15360, 99999, 123456, 1048576, 1e9, 1.5e12, -1]
    layouts = [("b", 5, 1024), ("d", 5, 1000), ("d", 5, 1024), ("p", 3, 34), ("f", 4, 0.5),
               ("f", 5, 1024), ("b", 4, 1024), ("f", 6, 1000), ("d", 3, 1000), ("p", 5, 34)]
    cases = []
    for ctype, width, scale in layouts:
        values = fixed + [rng.expovariate(1) * 10 ** rng.randint(0, 12) for _ in range(50)]
        cases += [[v, ctype, width, scale] for v in values]
    return cases


@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
@pytest.mark.parametrize("style", [{}, {"bits": True}, {"integer": True}, {"float": True}],
                         ids=["default", "bits", "integer", "float"])
def test_cprint_is_dstats_cprint(color, style):
    """The same strings as dstat 0.7.4's own cprint, loaded from the installed dstat."""
    dstat = require_command("dstat", "dstat")
    with open(dstat, encoding="utf-8") as f:
        shebang = f.readline()
    python = shebang[2:].split()[0] if shebang.startswith("#!") else shutil.which("python3")
    cases = _cases()
    proc = subprocess.run(
        [python, str(Path(__file__).with_name("dstat_cprint.py")), dstat],
        input=json.dumps({"cases": cases, "color": color, **style}),
        capture_output=True, text=True, timeout=30, check=True,
    )
    theirs = json.loads(proc.stdout)
    theme = COLOR if color else PLAIN
    ours = [cprint(v, t, w, s, theme, Style(**style)) for v, t, w, s in cases]
    mismatches = [(c, o, t) for c, o, t in zip(cases, ours, theirs) if o != t]
    assert not mismatches, mismatches[:10]
    assert len(ours) == len(theirs) == len(cases)
