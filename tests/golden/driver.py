"""A deterministic driver for golden outputs: the exact bytes the agent sends.

Each scenario builds a /proc tree from the captures in tests/fixtures (and,
for some, a small /sys tree), runs the agent for three cycles one interval
apart with an injected monotonic clock, and returns every byte it would send.
Between cycles the counters of the captures grow by a fixed rule, so rates
are neither zero nor arbitrary; dmsetup is a stand-in runner replaying the
captured writeboost status lines; the health lines come from a sender whose
state is fixed per cycle and from fixed process CPU and memory figures.

``python -m tests.golden.driver`` rewrites tests/golden/*.txt. It is run only
when a change of output is meant; tests/test_golden.py checks the bytes.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from carbon_client.agent import Agent
from carbon_client.config import build
from carbon_client.source import CommandResult, Source

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures"
T0 = 1_700_000_000  # a multiple of 10
INTERVAL = 10
CYCLES = 3


# -- how the counters of each capture grow between cycles ----------------------------------

def _grow_words(words: list[str], k: int, skip: Callable[[int], bool]) -> list[str]:
    return [str(int(w) + k * (i + 1)) if w.isdigit() and not skip(i) else w for i, w in enumerate(words)]


def grow_stat(text: str, k: int) -> str:
    out = []
    for line in text.splitlines():
        if line.startswith(("procs_", "btime")):
            out.append(line)
        else:
            out.append(" ".join(_grow_words(line.split(" "), k, lambda i: False)))
    return "\n".join(out) + "\n"


def grow_diskstats(text: str, k: int) -> str:
    out = []
    for line in text.splitlines():
        words = line.split()
        out.append(" ".join(words[:3] + _grow_words(words[3:], k, lambda i: False)))
    return "\n".join(out) + "\n"


def grow_net_dev(text: str, k: int) -> str:
    out = []
    for line in text.splitlines():
        head, sep, rest = line.rpartition(":")
        if not sep:
            out.append(line)
            continue
        out.append(head + sep + " ".join(_grow_words(rest.split(" "), k, lambda i: False)))
    return "\n".join(out) + "\n"


def grow_rpc(text: str, k: int) -> str:
    """net/rpc/nfs(d): every count grows but a proc line's op count, th and ra lines."""
    out = []
    for line in text.splitlines():
        words = line.split(" ")
        if words[0] in ("th", "ra"):
            out.append(line)
        elif words[0].startswith("proc"):
            out.append(" ".join(words[:2] + _grow_words(words[2:], k, lambda i: False)))
        else:
            out.append(" ".join(words[:1] + _grow_words(words[1:], k, lambda i: False)))
    return "\n".join(out) + "\n"


# writeboost status tokens that grow: the ids, cursor and dirty count, the 16 stats and
# nr_partial_flushes; not the sector range, the sizes, the tunables.
_WB_GROWS = frozenset([3, 6, 7, 8, 9, *range(10, 27)])


def grow_writeboost(line: str, k: int) -> str:
    name, sep, rest = line.rpartition(": ")
    words = rest.split(" ")
    words = [str(int(w) + k * (i + 1)) if i in _WB_GROWS else w for i, w in enumerate(words)]
    return name + sep + " ".join(words)


GROW = {"stat": grow_stat, "diskstats": grow_diskstats, "net/dev": grow_net_dev,
        "net/rpc/nfs": grow_rpc, "net/rpc/nfsd": grow_rpc}


# -- /sys --------------------------------------------------------------------------------

def make_sys(root: Path) -> None:
    """dm names, partitions, a stacked dm device and one physical NIC, for procfs/diskstats."""
    disks = ["sda", "sdb", "sdc", "vda", "mmcblk0", "nvme0n1", "fd0", "sr0"]
    parts = ["sda1", "sda2", "sda3", "sda4", "sdb1", "sdb2", "sdc1", "sdc2", "vda1", "vda2",
             "mmcblk0p1", "mmcblk0p2", "nvme0n1p1", "nvme0n1p2"]
    for d in disks + parts + [f"dm-{i}" for i in range(6)]:
        (root / "class/block" / d).mkdir(parents=True)
        (root / "block" / d / "slaves").mkdir(parents=True)
    for p in parts:
        (root / "class/block" / p / "partition").write_text("1\n")
    names = ["vg0-root", "vg0-swap", "vg0-home", "data.cache", "data wb", "vg0-root"]
    for i, n in enumerate(names):
        (root / "block" / f"dm-{i}" / "dm").mkdir()
        (root / "block" / f"dm-{i}" / "dm" / "name").write_text(n + "\n")
        (root / "block" / f"dm-{i}" / "slaves" / "sda2").write_text("")
    for nic in ("vethf345468", "lo", "docker0", "eth0"):
        (root / "class/net" / nic).mkdir(parents=True)
    (root / "class/net/eth0/device").mkdir()


# -- the stand-ins ---------------------------------------------------------------------------

class Clock:
    """The agent's monotonic clock: one value per cycle, so durations are 0."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FixedSender:
    """A sender whose health is fixed per cycle (``cycle`` set by the driver)."""

    def __init__(self) -> None:
        self.cycle = 0
        self.data: list[bytes] = []

    def health(self) -> tuple:
        k = self.cycle
        return (1000 + 130 * k, 7 * k, 3 * k, k, 40 + k, 500 - 10 * k, 1, 1)

    def stats(self) -> dict:
        keys = ("sent", "dropped", "resent", "reconnects", "buffered", "spooled", "connected", "destination")
        return dict(zip(keys, self.health()))

    def put(self, data: bytes, lines: Optional[int] = None) -> None:
        self.data.append(data)


class Dmsetup:
    """``dmsetup status [--target writeboost | NAME]`` from captured lines, grown per cycle."""

    def __init__(self, devices: dict[str, str]) -> None:
        self.devices = devices
        self.k = 0

    def __call__(self, argv, timeout) -> CommandResult:
        argv = tuple(argv)
        if argv == ("dmsetup", "status", "--target", "writeboost"):
            out = "".join(f"{grow_writeboost(f'{n}: {line}', self.k)}\n" for n, line in self.devices.items())
            return CommandResult(argv, 0, out, "")
        if len(argv) == 3 and argv[:2] == ("dmsetup", "status") and argv[2] in self.devices:
            return CommandResult(argv, 0, grow_writeboost(self.devices[argv[2]], self.k) + "\n", "")
        return CommandResult(argv, 1, "", "Device does not exist.\nCommand failed.\n")


def wb_lines() -> dict[str, str]:
    wb = FIXTURES / "writeboost"
    sample = (wb / "dmsetup_status.sample.226.txt").read_text().strip()
    mylv = (wb / "dmsetup_status.issue141.real.txt").read_text().splitlines()[1].split(": ", 1)[1]
    return {"mylv": mylv, "wb.sample": sample}


# -- scenarios -------------------------------------------------------------------------------

@dataclass
class Scenario:
    name: str
    proc: dict[str, str]  # relative path in the proc tree -> capture (relative to tests/fixtures)
    options: dict = field(default_factory=dict)
    sys: bool = False
    dmsetup: bool = False
    health: bool = True
    # cycle -> file -> function(text) applied after growing: counters going backwards
    tamper: dict = field(default_factory=dict)


PROCFS = {name: f"procfs/{name}" for name in
          ("loadavg", "meminfo", "stat", "diskstats", "net/dev", "net/rpc/nfs", "net/rpc/nfsd")}


def _back(line_head: str, column: int, to: Callable[[int], int]) -> Callable[[str, str], str]:
    """Set column ``column`` (of ``split()``) of the line naming ``line_head`` to ``to(v)``,
    ``v`` being that column in the original capture."""
    def match(words: list[str]) -> bool:
        return bool(words) and (words[0] in (line_head, line_head + ":")
                                or (len(words) > 2 and words[2] == line_head))

    def tamper(text: str, original: str) -> str:
        v = next(int(w[column]) for w in map(str.split, original.splitlines()) if match(w))
        out = []
        for line in text.splitlines():
            words = line.split()
            if match(words):
                words[column] = str(to(v))
                line = " ".join(words)
            out.append(line)
        return "\n".join(out) + "\n"
    return tamper


def _chain(*fns):
    def run(text, original):
        for f in fns:
            text = f(text, original)
        return text
    return run


def scenarios() -> list[Scenario]:
    out = []
    for counters in ("rate", "raw", "both"):
        out.append(Scenario(f"procfs-default-{counters}", PROCFS, {"counters": counters}))
        out.append(Scenario(f"procfs-legacy-{counters}", PROCFS, {"counters": counters, "layout": "legacy"},
                            health=False))
    out.append(Scenario("procfs-sys-all-devices", PROCFS,
                        {"disks": "*", "nics": "*", "cpu_per_core": True, "counters": "both",
                         "prefix": "dc1.rack 2"}, sys=True))
    out.append(Scenario("procfs-sys-default", PROCFS, {}, sys=True))
    out.append(Scenario("procfs-legacy-named", PROCFS,
                        {"layout": "legacy", "disks": "sda,vda,total", "nics": "eth0,docker0",
                         "writeboost": "mylv"}, dmsetup=True, health=False))
    out.append(Scenario("pid26231", {"net/dev": "procfs/26231/net/dev"}, {"nics": "*"}))
    for case in sorted(p.name for p in (FIXTURES / "procfs-nfs-cases").iterdir()):
        rel = "net/rpc/nfsd" if case.startswith("nfsd") else "net/rpc/nfs"
        out.append(Scenario(f"nfs-{case}", {rel: f"procfs-nfs-cases/{case}"},
                            {"counters": "both"}, health=False))
    out.append(Scenario("writeboost-discover", {}, {"collectors": "writeboost", "counters": "both"},
                        dmsetup=True))
    out.append(Scenario("writeboost-named-legacy", {}, {"collectors": "writeboost", "layout": "legacy",
                                                        "writeboost": "mylv"}, dmsetup=True, health=False))
    # Counters going backwards in the second cycle: iowait by one tick (proc(5) says it can),
    # a disk re-added (sdb's counters restart near 0), a NIC's rx_bytes reset.
    out.append(Scenario("procfs-resets", PROCFS, {"cpu_per_core": True}, sys=True, tamper={1: {
        "stat": _chain(_back("cpu", 5, lambda v: v - 1), _back("cpu3", 5, lambda v: v - 1)),
        "diskstats": _chain(*(_back("sdb", c, lambda v, c=c: c) for c in range(3, 14))),
        "net/dev": _back("eth0", 1, lambda v: 100),
    }}))
    return out


def run(sc: Scenario, tmp: Path) -> bytes:
    """Three cycles of the scenario in ``tmp``; every byte sent, with a header per cycle."""
    proc = tmp / "proc"
    sysroot = tmp / "sys"
    proc.mkdir()
    sysroot.mkdir()
    if sc.sys:
        make_sys(sysroot)
    originals = {}
    for rel, src in sc.proc.items():
        (proc / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / src, proc / rel)
        originals[rel] = (proc / rel).read_text()
    clock = Clock()
    sender = FixedSender()
    dmsetup = Dmsetup(wb_lines()) if sc.dmsetup else None
    options = {"proc_root": str(proc), "sys_root": str(sysroot), "hostname": "host1",
               "interval": INTERVAL, **sc.options}
    config = build(None, options)
    source = Source(config.proc_root, config.sys_root, command_timeout=5.0,
                    **({"runner": dmsetup} if dmsetup else {}))
    agent = make_agent(config, source, sender, clock, sc.health)
    out = []
    for k in range(CYCLES):
        for rel, text in originals.items():
            grown = GROW[rel](text, k) if rel in GROW else text
            fix = sc.tamper.get(k, {}).get(rel)
            with open(proc / rel, "w") as f:  # in place: the agent may keep files open
                f.write(fix(grown, text) if fix else grown)
        if dmsetup is not None:
            dmsetup.k = k
        sender.cycle = k
        clock.now = 1000.0 + INTERVAL * k
        result = agent.cycle(T0 + INTERVAL * k)
        out.append(f"# cycle {k} ts {T0 + INTERVAL * k}\n".encode() + result.data)
    agent.source.close()
    return b"".join(out)


def make_agent(config, source, sender, clock, health: bool) -> Agent:
    """The agent, with its own CPU and memory figures fixed per cycle."""
    return Agent(config, source=source, sender=sender, monotonic=clock, health=health, workers=0,
                 process=lambda: (1.5 + 0.01 * sender.cycle, 20_000_000 + 4096 * sender.cycle))


def main(argv: list[str]) -> int:
    import tempfile

    wanted = set(argv)
    for sc in scenarios():
        if wanted and sc.name not in wanted:
            continue
        with tempfile.TemporaryDirectory() as d:
            data = run(sc, Path(d))
        (HERE / f"{sc.name}.txt").write_bytes(data)
        print(sc.name, data.count(b"\n"), "lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
