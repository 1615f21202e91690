"""/proc/pressure/* (kernel/sched/psi.c psi_show; ../shared/formats/wave2.md section 2):
``some|full avg10=%lu.%02lu avg60=... avg300=... total=%llu`` (total in microseconds)."""

from __future__ import annotations

import pytest

from carbon_client.parsers.pressure import Pressure, PressureLine, parse_pressure
from tests.parsers.util import HUGE, raises_naming, wave2

ZERO = PressureLine(0.0, 0.0, 0.0, 0)

CAPTURES = [
    # 6.18: cpu prints a full line of zeros at the system level
    ("live 6.18 cpu", "procfs-live-vm618/proc/pressure/cpu",
     Pressure(PressureLine(0.03, 0.12, 0.38, 30545142), ZERO)),
    ("live 6.18 io", "procfs-live-vm618/proc/pressure/io",
     Pressure(PressureLine(0.00, 0.06, 0.31, 10285177), PressureLine(0.00, 0.04, 0.20, 8555143))),
    ("live 6.18 memory, never stalled", "procfs-live-vm618/proc/pressure/memory", Pressure(ZERO, ZERO)),
    # 4.20-5.12: cpu has no full line
    ("cpu some only (4.20-5.12)", "procfs-pcp-psi-cpusome/proc/pressure/cpu",
     Pressure(PressureLine(2.04, 0.75, 0.42, 157656722), None)),
    ("memory under pressure", "procfs-pcp-psi-cpusome/proc/pressure/memory",
     Pressure(PressureLine(70.24, 68.52, 69.91, 3559632828), PressureLine(57.59, 58.06, 60.38, 3300487258))),
    ("sysstat cpu some only", "procfs-sysstat-root1/proc/pressure/cpu",
     Pressure(PressureLine(0.0, 0.0, 0.0, 1473177), None)),
    # 5.13 .. the zeroing fix: a real cpu full line at the system level
    ("cpu full with values", "procfs-pcp-psi-cpufull-irq/proc/pressure/cpu",
     Pressure(PressureLine(0.0, 0.0, 0.0, 424932863), PressureLine(0.0, 0.0, 0.0, 387245317))),
    # 6.1+: irq has only a full line
    ("irq full only (6.1+)", "procfs-pcp-psi-cpufull-irq/proc/pressure/irq",
     Pressure(None, PressureLine(0.0, 0.0, 0.0, 100648410))),
]


@pytest.mark.parametrize("rel, expected", [c[1:] for c in CAPTURES], ids=[c[0] for c in CAPTURES])
def test_captures(rel, expected):
    assert parse_pressure(wave2(rel)) == expected


VALID = [
    ("no final newline", "some avg10=1.50 avg60=2.00 avg300=0.25 total=7",
     Pressure(PressureLine(1.5, 2.0, 0.25, 7), None)),
    ("keys in another order", "full total=9 avg300=0.01 avg60=0.02 avg10=0.03\n",
     Pressure(None, PressureLine(0.03, 0.02, 0.01, 9))),
    ("a key a later kernel adds is ignored", "some avg10=0.00 avg60=0.00 avg300=0.00 avg1=5.00 total=1\n",
     Pressure(PressureLine(0.0, 0.0, 0.0, 1), None)),
    ("full stall", "some avg10=100.00 avg60=100.00 avg300=100.00 total=18446744073709551615\n",
     Pressure(PressureLine(100.0, 100.0, 100.0, 2**64 - 1), None)),
    ("blank lines and tabs", "\n some\tavg10=0.10 avg60=0.20 avg300=0.30 total=4 \n\n",
     Pressure(PressureLine(0.1, 0.2, 0.3, 4), None)),
]


@pytest.mark.parametrize("text, expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid(text, expected):
    assert parse_pressure(text) == expected


LINE = "some avg10=0.03 avg60=0.12 avg300=0.38 total=30545142"
BAD = [
    ("empty", "", ""),
    ("blank", " \n", " \n"),
    ("too few fields", "some avg10=0.03 avg60=0.12 total=30545142", None),
    ("no kind", "avg10=0.03 avg60=0.12 avg300=0.38 total=30545142", None),
    ("unknown kind", LINE.replace("some", "most"), None),
    ("some twice", f"{LINE}\n{LINE}\n", LINE),
    ("a key twice", "some avg10=0.03 avg10=0.12 avg300=0.38 total=30545142", None),
    ("garbage", "hello world", None),
    ("no '='", "some avg10 0.03 avg60=0.12 avg300=0.38 total=30545142", None),
    ("negative average", LINE.replace("0.03", "-0.03"), None),
    ("two dots", LINE.replace("0.03", "0.0.3"), None),
    ("exponent", LINE.replace("0.03", "3e-2"), None),
    ("nan", LINE.replace("0.03", "nan"), None),
    ("non-ASCII digits", LINE.replace("0.03", "\u0660.\u0660\u0663"), None),
    ("average beyond a float", LINE.replace("0.03", HUGE + ".00"), None),
    ("fractional total", LINE.replace("30545142", "30545142.5"), None),
    ("negative total", LINE.replace("30545142", "-1"), None),
    ("total beyond int()'s digit limit", LINE.replace("30545142", HUGE), None),
]


@pytest.mark.parametrize("text, line", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(text, line):
    with raises_naming(text.strip() if line is None else line):
        parse_pressure(text)
