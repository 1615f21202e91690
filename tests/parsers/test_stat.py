"""/proc/stat (Documentation/filesystems/proc.rst "1.8 Miscellaneous kernel statistics").

`cpu  user nice system idle iowait irq softirq steal guest guest_nice` in
USER_HZ ticks (two spaces after the aggregate "cpu"), one `cpuN` line per CPU;
`intr <total> <per irq>...`, `ctxt`, `btime`, `processes` (forks),
`procs_running`, `procs_blocked`, `softirq <total> <per softirq>...`.
"""

from __future__ import annotations

import pytest

from carbon_client.parsers import ParseError
from carbon_client.parsers.stat import CpuTimes, Stat, parse_stat
from tests.parsers.util import HUGE, proc, raises_naming

# The capture's lines, read field by field.
FIXTURE = Stat(
    # "cpu  301854 612 111922 8979004 3552 2 3944 0 0 0"
    cpu=CpuTimes(
        user=301854, nice=612, system=111922, idle=8979004, iowait=3552,
        irq=2, softirq=3944, steal=0, guest=0, guest_nice=0,
    ),
    cpus={
        # "cpu0 44490 19 21045 1087069 220 1 3410 0 0 0"
        "cpu0": CpuTimes(44490, 19, 21045, 1087069, 220, 1, 3410, 0, 0, 0),
        "cpu1": CpuTimes(47869, 23, 16474, 1110787, 591, 0, 46, 0, 0, 0),
        "cpu2": CpuTimes(46504, 36, 15916, 1112321, 441, 0, 326, 0, 0, 0),
        "cpu3": CpuTimes(47054, 102, 15683, 1113230, 533, 0, 60, 0, 0, 0),
        "cpu4": CpuTimes(28413, 25, 10776, 1140321, 217, 0, 8, 0, 0, 0),
        "cpu5": CpuTimes(29271, 101, 11586, 1136270, 672, 0, 30, 0, 0, 0),
        "cpu6": CpuTimes(29152, 36, 10276, 1139721, 319, 0, 29, 0, 0, 0),
        "cpu7": CpuTimes(29098, 268, 10164, 1139282, 555, 0, 31, 0, 0, 0),
    },
    intr=73777505,  # "intr 73777505 41 9 0 ...": the first number is the total
    ctxt=38014093,
    btime=1418183276,
    processes=26442,
    procs_running=2,
    procs_blocked=1,
    softirq=5057579,  # "softirq 5057579 250191 1481983 ...": the total
)


@pytest.fixture(scope="module")
def fixture_stat() -> Stat:
    return parse_stat(proc("stat"))


def test_fixture_whole_record(fixture_stat):
    assert fixture_stat == FIXTURE


def test_fixture_cpu_line_by_field_name(fixture_stat):
    cpu = fixture_stat.cpu
    assert (cpu.user, cpu.nice, cpu.system, cpu.idle) == (301854, 612, 111922, 8979004)
    assert (cpu.iowait, cpu.irq, cpu.softirq, cpu.steal) == (3552, 2, 3944, 0)
    assert (cpu.guest, cpu.guest_nice) == (0, 0)


def test_fixture_cpu0(fixture_stat):
    assert fixture_stat.cpus["cpu0"] == CpuTimes(
        user=44490, nice=19, system=21045, idle=1087069, iowait=220, irq=1, softirq=3410
    )


def test_fixture_cpus_in_order(fixture_stat):
    assert list(fixture_stat.cpus) == [f"cpu{i}" for i in range(8)]


@pytest.mark.parametrize(
    "field, value",
    [
        ("intr", 73777505),
        ("ctxt", 38014093),
        ("btime", 1418183276),
        ("processes", 26442),
        ("procs_running", 2),
        ("procs_blocked", 1),
        ("softirq", 5057579),
    ],
    ids=lambda v: str(v),
)
def test_fixture_scalars(fixture_stat, field, value):
    assert getattr(fixture_stat, field) == value


TAIL = "ctxt 100\nbtime 1418183276\nprocesses 50\n"


def stat(cpu: CpuTimes, **scalars: int) -> Stat:
    """The record of `cpu_line + TAIL`, with ``scalars`` overriding."""
    values = dict(intr=0, ctxt=100, btime=1418183276, processes=50, procs_running=0,
                  procs_blocked=0, softirq=0)
    values.update(scalars)
    return Stat(cpu=cpu, cpus={}, **values)


# Older kernels print fewer cpu columns (proc.rst; procfs reads any count).
KERNELS = [
    ("2.4: user nice system idle", "cpu  1 2 3 4\n", CpuTimes(1, 2, 3, 4)),
    ("2.5.41+: iowait", "cpu  1 2 3 4 5\n", CpuTimes(1, 2, 3, 4, 5)),
    ("2.6.0+: irq softirq", "cpu  1 2 3 4 5 6 7\n", CpuTimes(1, 2, 3, 4, 5, 6, 7)),
    ("2.6.11+: steal", "cpu  1 2 3 4 5 6 7 8\n", CpuTimes(1, 2, 3, 4, 5, 6, 7, 8)),
    ("2.6.24+: guest", "cpu  1 2 3 4 5 6 7 8 9\n", CpuTimes(1, 2, 3, 4, 5, 6, 7, 8, 9)),
    ("2.6.33+: guest_nice", "cpu  1 2 3 4 5 6 7 8 9 10\n", CpuTimes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)),
]


@pytest.mark.parametrize("cpu_line, expected", [k[1:] for k in KERNELS], ids=[k[0] for k in KERNELS])
def test_older_kernels_fewer_cpu_columns(cpu_line, expected):
    assert parse_stat(cpu_line + TAIL) == stat(expected)


def test_older_kernel_whole_file():
    # proc.rst's example as a 2.6.0 - 2.6.10 kernel prints it: 7 cpu columns,
    # no softirq line (2.6.31+).
    text = (
        "cpu  2255 34 2290 22625563 6290 127 456\n"
        "cpu0 1132 34 1441 11311718 3675 127 438\n"
        "cpu1 1123 0 849 11313845 2614 0 18\n"
        "intr 114930548 113199788 3 0 5 263 0 4\n"
        "ctxt 1990473\n"
        "btime 1062191376\n"
        "processes 2915\n"
        "procs_running 1\n"
        "procs_blocked 0\n"
    )
    assert parse_stat(text) == Stat(
        cpu=CpuTimes(2255, 34, 2290, 22625563, 6290, 127, 456),
        cpus={
            "cpu0": CpuTimes(1132, 34, 1441, 11311718, 3675, 127, 438),
            "cpu1": CpuTimes(1123, 0, 849, 11313845, 2614, 0, 18),
        },
        intr=114930548, ctxt=1990473, btime=1062191376, processes=2915,
        procs_running=1, procs_blocked=0, softirq=0,
    )


def test_optional_lines_absent_are_zero():
    assert parse_stat("cpu  1 2 3 4\nctxt 7\nprocesses 9\n") == Stat(
        cpu=CpuTimes(1, 2, 3, 4), cpus={}, intr=0, ctxt=7, btime=0, processes=9,
        procs_running=0, procs_blocked=0, softirq=0,
    )


def test_unknown_lines_are_ignored():
    text = "cpu  1 2 3 4\npage 5741 1808\nswap 1 0\nctxt 7\nprocesses 9\nfuture_line 1 2 3\n"
    assert parse_stat(text) == stat(CpuTimes(1, 2, 3, 4), ctxt=7, btime=0, processes=9)


def test_many_cpus():
    lines = "".join(f"cpu{i} {i} 0 0 {i * 10}\n" for i in range(256))
    st = parse_stat("cpu  1 2 3 4\n" + lines + TAIL)
    assert len(st.cpus) == 256
    assert st.cpus["cpu255"] == CpuTimes(255, 0, 0, 2550)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no aggregate 'cpu' line"),
        ("\n\n", "no aggregate 'cpu' line"),
        ("cpu0 1 2 3 4\n" + TAIL, "no aggregate 'cpu' line"),
        ("cpu  1 2 3 4\nprocesses 50\n", "missing ctxt"),
        ("cpu  1 2 3 4\nctxt 100\n", "missing processes"),
        ("cpu  1 2 3 4\n", "missing ctxt, processes"),
    ],
    ids=["empty", "blank", "per-cpu only", "no ctxt", "no processes", "neither"],
)
def test_missing_lines(text, message):
    with pytest.raises(ParseError, match=message):
        parse_stat(text)


BAD_LINES = [
    ("cpu: 3 columns", "cpu  1 2 3"),
    ("cpu: 11 columns", "cpu  1 2 3 4 5 6 7 8 9 10 11"),
    ("cpu: no columns", "cpu"),
    ("cpuN: 3 columns", "cpu3 1 2 3"),
    ("unknown cpu tag", "cpufreq 1 2 3 4"),
    ("cpu tag with non-ASCII digit", "cpu\u0661 1 2 3 4"),
    ("cpu tag with superscript", "cpu\u00b2 1 2 3 4"),
    ("cpu: garbage", "cpu  a b c d"),
    ("cpu: negative", "cpu  1 -2 3 4"),
    ("cpu: non-ASCII digits", "cpu  \u0661\u0662\u0663 2 3 4"),
    ("cpu: underscore", "cpu  1_000 2 3 4"),
    ("cpu: plus sign", "cpu  +5 2 3 4"),
    ("cpu: beyond int()'s digit limit", f"cpu  {HUGE} 2 3 4"),
    ("ctxt: no value", "ctxt"),
    ("ctxt: garbage", "ctxt lots"),
    ("ctxt: non-ASCII digits", "ctxt \u0661\u0662\u0663"),
    ("ctxt: underscore", "ctxt 1_000"),
    ("ctxt: plus sign", "ctxt +5"),
    ("ctxt: beyond int()'s digit limit", f"ctxt {HUGE}"),
    ("intr: total not a number", "intr x 1 2 3"),
    ("softirq: negative total", "softirq -1 0 0"),
    ("procs_running: float", "procs_running 1.5"),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_bad_line_names_it(line):
    with raises_naming(line):
        parse_stat(f"cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 3 4 5 6 7 8 9 10\n{line}\n{TAIL}")


def test_bad_line_in_the_real_capture():
    lines = proc("stat").splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("cpu3 "))
    lines[at] = lines[at].replace("15683", "15,683")
    with raises_naming(lines[at]):
        parse_stat("\n".join(lines))
