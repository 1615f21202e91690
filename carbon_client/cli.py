"""The command line: the only place that reads argv, the environment and the config file."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Optional, Sequence

from carbon_client import __version__
from carbon_client.config import (
    COUNTERS, DEFAULT_PATH, LAYOUTS, LOG_LEVELS, MODES, PATH_VARIABLE, PROTOCOLS, Config, ConfigError,
    build, example_text, find_config, load_file, shadowed, show,
)
from carbon_client.config.errors import flag_name
from carbon_client.naming import sanitize, sanitize_dotted
from carbon_client.outlet import stdio

log = logging.getLogger("carbon_client")

EXIT_CONFIG = 2


def _agent_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("agent options (each also a key in the YAML config)")
    g.add_argument("--config", metavar="FILE",
                   help=f"YAML config file (default: ${PATH_VARIABLE}, else {DEFAULT_PATH} if it exists)")
    g.add_argument("--carbon", metavar="HOST:PORT", action="append",
                   help="Carbon plaintext receiver; repeat for several (default localhost:2003)")
    g.add_argument("--interval", metavar="DURATION",
                   help="time between samples, whole seconds: 10, 10s, 1m (default 10)")
    g.add_argument("--hostname", metavar="NAME", help="host component of every path (default: short hostname)")
    g.add_argument("--prefix", metavar="P", help="dotted prefix before the host component")
    g.add_argument("--proc-root", metavar="DIR", help="where /proc is (default /proc)")
    g.add_argument("--sys-root", metavar="DIR", help="where /sys is (default /sys)")
    g.add_argument("--collectors", metavar="a,b", help="collectors to run (default: all whose source exists)")
    g.add_argument("--disks", metavar="GLOB,..", help="block devices to report ('*' = all)")
    g.add_argument("--nics", metavar="GLOB,..", help="network interfaces to report ('*' = all)")
    g.add_argument("--writeboost", metavar="NAME,..", help="dm-writeboost devices (default: discover)")
    g.add_argument("--cpu-per-core", action="store_const", const=True, help="also report every core")
    g.add_argument("--counters", choices=COUNTERS, help="send rates, raw totals (<path>_total) or both")
    g.add_argument("--layout", choices=LAYOUTS, help="path layout (legacy: the original script's paths)")
    g.add_argument("--protocol", choices=PROTOCOLS, help="tcp (default) or udp (fire and forget)")
    g.add_argument("--mode", choices=MODES, help="several --carbon: failover (default) or all")
    g.add_argument("--spool-dir", metavar="DIR", help="spill unsent lines to disk here")
    g.add_argument("--log-level", choices=LOG_LEVELS, type=str.upper, help="default INFO")
    g.add_argument("--show", dest="show", action="store_const", const=True,
                   help="print dstat-style rows while streaming (default: when stdout is a terminal)")
    g.add_argument("--no-show", dest="show", action="store_const", const=False,
                   help="never print rows")


_FLAG_KEYS = (
    "carbon", "interval", "hostname", "prefix", "proc_root", "sys_root", "collectors", "disks",
    "nics", "writeboost", "cpu_per_core", "counters", "layout", "protocol", "mode", "spool_dir",
    "log_level", "show",
)


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="carbon-client",
        description="Stream Linux host metrics to Graphite over one persistent Carbon connection.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    run = sub.add_parser("run", help="stream to Carbon until SIGTERM/SIGINT (flush, then exit 0)")
    _agent_options(run)
    once = sub.add_parser("once", help="two samples one interval apart; print the lines and exit")
    _agent_options(once)
    top = sub.add_parser(
        "top", add_help=False,
        help="dstat-style rows in the terminal (carbon-client top --help for its flags)",
    )
    top.add_argument("top_args", nargs=argparse.REMAINDER)
    chk = sub.add_parser("check-config", help="validate a config file: exit 0, or 2 with what is wrong")
    chk.add_argument("file", metavar="FILE", nargs="?",
                     help=f"default: ${PATH_VARIABLE}, else {DEFAULT_PATH}")
    sub.add_parser("config", help="print the commented example config (every key, its default)")
    lst = sub.add_parser("collectors", help="list every collector (built-in, plugin, exec, probe): "
                                            "its group, interval and whether its source is there")
    _agent_options(lst)
    return p


def read_config(args: argparse.Namespace, path: Optional[str]) -> tuple[Config, list[str]]:
    """The configuration from ``path`` (None: no file) and the flags, and what to tell the operator."""
    file_values = load_file(path, os.environ) if path is not None else {}
    flags = {k: getattr(args, k, None) for k in _FLAG_KEYS}
    config = build(file_values, flags, path)
    notes = [
        f"{flag_name(k) if v is not False else '--no-' + k} given on the command line overrides "
        f"{k}: {show(was)} in {path}"
        for k, v, was in shadowed(file_values, flags)
    ]
    return config, notes + sanitized(config)


def sanitized(config: Config) -> list[str]:
    """What the paths will carry instead of hostname and prefix, when that differs."""
    out = []
    if sanitize(config.hostname) != config.hostname:
        out.append(f"hostname {config.hostname!r} is sent as {sanitize(config.hostname)!r} "
                   "(a path component keeps A-Z a-z 0-9 _ -)")
    if config.prefix and sanitize_dotted(config.prefix) != config.prefix:
        out.append(f"prefix {config.prefix!r} is sent as {sanitize_dotted(config.prefix)!r} "
                   "(each level keeps A-Z a-z 0-9 _ -)")
    return out


def setup_logging(level: str) -> None:
    # Under systemd the journal stamps each line itself.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=getattr(logging, level), format=fmt, stream=sys.stderr)


def cmd_check_config(args: argparse.Namespace) -> int:
    path = find_config(args.file, os.environ)
    if path is None:
        raise ConfigError("check-config", f"no FILE given, ${PATH_VARIABLE} unset and no {DEFAULT_PATH}")
    values = load_file(path, os.environ)
    config = build(values, None, path)
    for note in sanitized(config) + filter_notes(config):
        print(f"{path}: note: {note}")
    print(f"{path}: OK ({len(values)} keys)")
    return 0


def filter_notes(config: Config) -> list[str]:
    """Include/exclude globs that can never match a metric this configuration sends."""
    if not (config.include or config.exclude or config.filters):
        return []
    from carbon_client.catalog import unmatched
    from carbon_client.collectors import make_collectors
    from carbon_client.source import Source

    return unmatched(config, make_collectors(Source(config.proc_root, config.sys_root), config))


def cmd_collectors(config: Config) -> int:
    from carbon_client.agent import Agent
    from carbon_client.catalog import describe

    logging.getLogger("carbon_client").setLevel(logging.WARNING)  # the table says why a source is missing
    agent = Agent(config, workers=0)
    for s in agent.slots:
        if not s.probed:
            agent._probe(s)
    rows = [("COLLECTOR", "KIND", "GROUP", "INTERVAL", "RUNS", "SOURCE")] + describe(agent)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    agent.close()
    return 0


def cmd_once(config: Config) -> int:
    from carbon_client.agent import Agent

    agent = Agent(config, workers=0, health_every_tick=True)
    agent.sample()
    time.sleep(config.interval)
    ts = int(time.time()) // config.interval * config.interval
    result = agent.cycle(ts)
    sys.stdout.write(result.data.decode("ascii"))
    sys.stdout.flush()
    return 0


def cmd_run(config: Config, args: argparse.Namespace, path: Optional[str]) -> int:
    from carbon_client.daemon import Daemon

    def reload_config() -> Config:
        # The file chosen at start, again: a file that went missing is an error, not the defaults.
        if path is None:
            log.info("reload: no config file (started without one); flags and defaults stay")
        config, notes = read_config(args, path)
        for note in notes:
            log.info("reload: %s", note)
        return config

    return Daemon(config, reload_config=reload_config).run()


def hold_stdio_descriptors() -> None:
    """/dev/null on descriptors 0, 1 and 2 when the agent was started with one closed: else the
    next file opened takes it (a kept /proc file, the Carbon socket), and whatever writes to
    "stderr" below Python (the interpreter's fatal errors, a library) would write into that."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    hold_stdio_descriptors()
    if argv[:1] == ["top"]:
        from carbon_client.top.command import main as top_main

        return top_main(argv[1:])
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command == "config":
        sys.stdout.write(example_text())
        return 0
    try:
        if args.command == "check-config":
            return cmd_check_config(args)
        path = find_config(args.config, os.environ)
        config, notes = read_config(args, path)
    except ConfigError as exc:
        print(f"carbon-client: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command != "run":
        setup_logging(config.log_level)
        for note in notes:
            log.info("%s", note)
        return cmd_once(config) if args.command == "once" else cmd_collectors(config)
    with stdio():  # a terminal or pipe that stops reading holds up no cycle, no send, no stop
        setup_logging(config.log_level)
        log.info("config: %s", path or "no file (defaults and flags)")
        for note in notes:
            log.info("%s", note)
        for note in filter_notes(config):
            log.warning("%s", note)
        return cmd_run(config, args, path)


if __name__ == "__main__":
    raise SystemExit(main())
