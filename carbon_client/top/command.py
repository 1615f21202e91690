"""``carbon-client top [flags] [DELAY [COUNT]]``: dstat's flags, its rows on the terminal, its CSV file.

One agent (no sender, no health groups) samples the chosen collectors once
at the start, for the header and the first rates, then on every DELAY
boundary of the wall clock through the :class:`~carbon_client.scheduler.Scheduler`
that times ``run``; each tick prints one row (and one CSV line with
``--output``), and COUNT rows stop it.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, Optional, Sequence

from carbon_client.scheduler import Scheduler, StopFlag
from carbon_client.top.blocks import (
    Block, Frame, cpu_block, disk_block, load_block, mem_block, net_block, nfs_block, page_block,
    swap_block, sys_block, writeboost_block,
)
from carbon_client.top.format import Style
from carbon_client.top.screen import Screen, term_colors

USAGE = "carbon-client top [-acdfglmnsy] [-D DISKS] [-N NICS] [options] [DELAY [COUNT]]"

# flag -> collector it needs
COLLECTOR = {
    "cpu": "cpu", "disk": "disk", "net": "net", "load": "load", "mem": "memory", "page": "paging",
    "swap": "swap", "sys": "system", "nfs": "nfs", "nfsd": "nfsd", "writeboost": "writeboost",
}
DEFAULT_GROUPS = ("cpu", "disk", "net", "page", "sys")


def make_parser():
    import argparse

    p = argparse.ArgumentParser(
        prog="carbon-client top", usage=USAGE,
        description="dstat-style rows from carbon-client's collectors (what goes to Graphite).",
        epilog="DELAY is the delay in seconds between rows (default: 1); COUNT the number of "
               "rows before exiting (default: unlimited). Rows come on multiples of DELAY on the "
               "clock; the first covers the time since the start, the others DELAY seconds each "
               "(dstat's first row is an average since boot).",
    )
    g = p.add_argument_group("groups (in the order given; default -cdngy)")
    for short, long, group, text in (
        ("-c", "--cpu", "cpu", "cpu usage (usr includes nice, irq and softirq)"),
        ("-d", "--disk", "disk", "disk bytes read and written"),
        ("-n", "--net", "net", "network bytes received and sent"),
        ("-g", "--page", "page", "paging (swap traffic)"),
        ("-y", "--sys", "sys", "interrupts and context switches"),
        ("-l", "--load", "load", "load averages"),
        ("-m", "--mem", "mem", "memory usage"),
        ("-s", "--swap", "swap", "swap usage"),
    ):
        g.add_argument(short, long, dest="groups", action="append_const", const=group, help=text)
    for long, group, text in (
        ("--nfs", "nfs", "NFS client calls (dstat's nfs3 columns, every version)"),
        ("--nfsd", "nfsd", "NFS server calls (dstat's nfsd3 columns, every version)"),
        ("--writeboost", "writeboost", "dm-writeboost hits, misses, dirty blocks per target"),
    ):
        g.add_argument(long, dest="groups", action="append_const", const=group, help=text)
    g.add_argument("-a", "--all", dest="groups", action="append_const", const="all",
                   help="equals -cdngy")
    g.add_argument("-D", metavar="total,sda", dest="disks",
                   help="disks to show; total = every disk but partitions and dm/md")
    g.add_argument("-N", metavar="total,eth0", dest="nics",
                   help="interfaces to show; total = physical interfaces (with a device in /sys)")
    g.add_argument("-f", "--full", action="store_true", help="expand -D and -N to every device")
    o = p.add_argument_group("output")
    o.add_argument("--nocolor", dest="color", action="store_false", default=None, help="no colours")
    o.add_argument("--color", dest="color", action="store_true", help="colours even when not a terminal")
    o.add_argument("--bw", "--black-on-white", dest="bw", action="store_true",
                   help="colours for a white background")
    o.add_argument("--noheaders", dest="headers", action="store_false", default=True,
                   help="do not repeat the header every screenful")
    o.add_argument("-o", "--output", metavar="FILE", help="also write CSV rows to FILE (appended)")
    o.add_argument("--bits", action="store_true", help="bits instead of bytes (disk and network)")
    o.add_argument("--float", action="store_true", help="force float values")
    o.add_argument("--integer", action="store_true", help="force integer values")
    s = p.add_argument_group("sources")
    s.add_argument("--config", metavar="FILE", help="carbon-client YAML config (proc_root, sys_root...)")
    s.add_argument("--proc-root", metavar="DIR", help="where /proc is (default /proc)")
    s.add_argument("--sys-root", metavar="DIR", help="where /sys is (default /sys)")
    p.add_argument("delay", metavar="DELAY", nargs="?", type=int, default=1)
    p.add_argument("count", metavar="COUNT", nargs="?", type=int, default=-1)
    return p


def _groups(requested: Optional[list[str]]) -> list[str]:
    out: list[str] = []
    for g in requested or ["all"]:
        for name in (DEFAULT_GROUPS if g == "all" else (g,)):
            if name not in out:
                out.append(name)
    return out


def _devices(spec: Optional[str]) -> Optional[list[str]]:
    if spec is None:
        return None
    names = [n.strip() for n in spec.split(",") if n.strip()]
    return [n[5:] if n.startswith("/dev/") else n for n in names] or None


class Top:
    """The state of one ``carbon-client top`` run.

    ``monotonic`` is the agent's clock (what rates are measured on);
    ``wall`` and ``wait`` are the scheduler's (when rows are due, and how to
    wait for them: by default on the flag that COUNT rows set).
    """

    def __init__(self, args, out, err, *, monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 wait: Optional[Callable[[float], bool]] = None, tty: Optional[bool] = None,
                 termsize=None, argv: Sequence[str] = ()) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.monotonic = monotonic
        self.wall = wall
        self.wait = wait
        self.tty = tty
        self.termsize = termsize
        self.argv = list(argv)

    def _config(self, names: list[str]):
        from carbon_client.config import build, load_file

        a = self.args
        file_values = load_file(a.config) if a.config else {}
        flags = {
            "proc_root": a.proc_root, "sys_root": a.sys_root, "interval": a.delay,
            "collectors": names or None, "disks": ["*"], "nics": ["*"], "counters": "both",
        }
        return build(file_values, flags)

    def _blocks(self, groups: list[str], agent, frame: Frame) -> list[Block]:
        unavailable = agent.unavailable()
        known = set(agent.enabled) | set(unavailable)
        blocks = []
        for g in groups:
            cname = COLLECTOR[g]
            flag = "--" + g
            if cname not in known:
                self.err.write(f"carbon-client top: {flag}: no {cname} collector in this carbon-client\n")
                continue
            if cname in unavailable:
                self.err.write(f"carbon-client top: {flag}: not available: {unavailable[cname]}\n")
                continue
            if cname not in frame.collectors:
                self.err.write(f"carbon-client top: {flag}: the {cname} collector failed to read\n")
                continue
            if g == "cpu":
                blocks.append(cpu_block())
            elif g == "disk":
                disk = agent.collector(cname)
                disks, names = self._disks(frame, disk), disk.instance_names
                blocks.append(disk_block(disks, [names.get(d, d) for d in disks]))
            elif g == "net":
                blocks.append(net_block(self._nics(frame)))
            elif g == "page":
                blocks.append(page_block())
            elif g == "sys":
                blocks.append(sys_block())
            elif g == "load":
                blocks.append(load_block())
            elif g == "mem":
                blocks.append(mem_block())
            elif g == "swap":
                (total,) = frame.get("swap", None, "total")
                blocks.append(swap_block(bool(total)))
            elif g in ("nfs", "nfsd"):
                blocks.append(nfs_block(cname))
            elif g == "writeboost":
                b = writeboost_block(frame)
                if b is None:
                    self.err.write(f"carbon-client top: {flag}: no writeboost target with "
                                   "hit, miss, dirty or lag metrics\n")
                else:
                    blocks.append(b)
        return blocks

    def _disks(self, frame: Frame, disk) -> list[str]:
        wanted = _devices(self.args.disks)
        if wanted is not None:
            return wanted
        if not self.args.full:
            return ["total"]
        # dstat -f: every whole device that did I/O since boot
        return sorted(i for i in frame.instances("disk")
                      if i != "total" and disk.in_aggregate(i) and any(frame.totals("disk", i).values()))

    def _nics(self, frame: Frame) -> list[str]:
        wanted = _devices(self.args.nics)
        if wanted is not None:
            return wanted
        if not self.args.full:
            return ["total"]
        # dstat -f: every interface with packets, but lo
        return sorted(i for i in frame.instances("net") if i not in ("total", "lo")
                      and any(frame.totals("net", i).get(k) for k in ("rx_packets", "tx_packets")))

    def run(self) -> int:
        from carbon_client.agent import Agent
        from carbon_client.collectors import REGISTRY

        a = self.args
        if a.delay < 1:
            self.err.write("carbon-client top: DELAY must be an integer greater than zero\n")
            return 2
        groups = _groups(a.groups)
        names = []
        for g in groups:
            cname = COLLECTOR[g]
            if cname in REGISTRY and cname not in names:
                names.append(cname)
        if not names:
            for g in groups:
                self.err.write(
                    f"carbon-client top: --{g}: no {COLLECTOR[g]} collector in this carbon-client\n")
            return 8
        agent = Agent(self._config(names), monotonic=self.monotonic, health=False)
        try:
            return self._loop(agent, groups)
        finally:
            agent.source.close()

    def _loop(self, agent, groups: list[str]) -> int:
        a = self.args
        blocks = self._blocks(groups, agent, Frame(agent.sample()))
        if not blocks:
            self.err.write("carbon-client top: none of the stats you selected are available\n")
            return 8
        color = a.color if a.color is not None else term_colors(self.out)
        screen = Screen(blocks, self.out, color=color, headers=a.headers, tty=self.tty,
                        termsize=self.termsize, style=Style(a.bits, a.integer, a.float),
                        black_on_white=a.bw, err=self.err)
        csv = self._open_csv(blocks, agent.source.proc_root) if a.output else None
        stop = StopFlag()
        rows = 0

        def tick(ts: int) -> None:
            nonlocal rows
            frame = Frame(agent.sample())
            screen.write(screen.render(frame))
            if csv is not None:
                csv.write(",".join(b.csvrow(b.compute(frame)) for b in blocks) + "\n")
                csv.flush()
            rows += 1
            if rows == a.count:
                stop.set()

        try:
            screen.write(screen.start())
            if a.count != 0:
                Scheduler(a.delay, tick, wall=self.wall, wait=self.wait).run(stop)
        finally:
            if csv is not None:
                csv.close()
        return 0

    def _open_csv(self, blocks: list[Block], source: str):
        """dstat's CSV file: four preamble lines, the titles, the nicks; appended to when it exists."""
        import getpass

        from carbon_client import __version__

        path = self.args.output
        exists = os.path.exists(path)
        f = open(path, "a", encoding="utf-8")
        host = os.uname().nodename
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        if not exists:
            f.write(f'"carbon-client {__version__} CSV output"\n')
            f.write(",".join(('"Source:"', f'"{source}"', "", "", "",
                              '"Delay:"', f'"{self.args.delay}"')) + "\n")
        else:
            f.write("\n\n")
        f.write(",".join(('"Host:"', f'"{host}"', "", "", "", '"User:"', f'"{user}"')) + "\n")
        cmd = " ".join(["carbon-client top"] + self.argv).replace('"', "'")
        date = time.strftime("%d %b %Y %H:%M:%S %Z", time.localtime())
        f.write(",".join(('"Cmdline:"', f'"{cmd}"', "", "", "", '"Date:"', f'"{date}"')) + "\n")
        f.write(",".join(b.csvtitle() for b in blocks) + "\n")
        f.write(",".join(b.csvsubtitle() for b in blocks) + "\n")
        f.flush()
        return f


def main(argv: Sequence[str], out=None, err=None, **kw) -> int:
    """``carbon-client top ARGS``; returns the exit status."""
    import logging

    from carbon_client.config import ConfigError

    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    args = make_parser().parse_args(list(argv))
    # Unavailable groups are reported in the view, once; collector errors still show.
    logger = logging.getLogger("carbon_client")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return Top(args, out, err, argv=argv, **kw).run()
    except ConfigError as exc:
        err.write(f"carbon-client top: config error: {exc}\n")
        return 2
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            # `carbon-client top | head`: stop quietly
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, out.fileno())
            except (OSError, ValueError, AttributeError):
                pass
            return 0
        err.write(f"carbon-client top: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        logger.setLevel(level)
