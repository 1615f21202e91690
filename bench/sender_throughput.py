#!/usr/bin/env python3
"""Lines per second over loopback: carbon-client's sender against graphyte.

The receiver is a separate process (its own GIL): a selectors loop on
127.0.0.1 that accepts any number of connections, reads with 1 MiB recv()s
and counts newlines; it reports the CLOCK_MONOTONIC time at which it has
counted all the lines expected. Lines are realistic: the paths and values of
this host's real agent cycles (``Agent.sample`` on /proc, default layout,
rendered for 20 hosts of a fleet), about 60 bytes each, in batches shaped like
cycles.

Runs, each a fresh receiver:
  drain       the sender: every batch queued before ``start()`` (a backlog, as
              after Carbon was down); timed from ``start()`` to the last line
              counted by the receiver.
  end-to-end  the sender running; the Renderer renders each cycle's groups
              (the agent's hot path) and ``put``s the batch; timed from the
              first render to the last line counted.
  graphyte    graphyte.Sender(host, port).send(path, value, ts) per line: its
              synchronous mode, one TCP connection per line (fewer lines: each
              leaves a TIME_WAIT port behind).
  graphyte    graphyte.Sender(host, port, interval=..., queue_size=N).send() per
  interval    line: its background-thread mode, batch_size lines per connection;
              timed from the first send() to the last line counted.
  graphyte    for reference, not graphyte's API: its thread's transport alone
  transport   (send_socket of pre-built batches of batch_size messages).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import selectors
import socket
import sys
import time
from pathlib import Path

from benchlib import print_machine, table, verdict

import graphyte

from carbon_client.agent import Agent
from carbon_client.config import Destination, build
from carbon_client.lines import Renderer
from carbon_client.naming import make_layout
from carbon_client.sender import Sender
from carbon_client.sender.buffer import Buffer
from carbon_client.sender.transport import TcpTransport

MONO = time.CLOCK_MONOTONIC


def now() -> float:
    """System-wide monotonic clock: comparable between the two processes."""
    return time.clock_gettime(MONO)


# -- the receiver (its own process) -------------------------------------------

def _receive(listener: socket.socket, expect: int, conn, timeout: float) -> None:
    sel = selectors.DefaultSelector()
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ)
    lines = nbytes = conns = 0
    first = None
    deadline = time.monotonic() + timeout
    conn.send("ready")
    while lines < expect and time.monotonic() < deadline:
        for key, _ in sel.select(0.5):
            s = key.fileobj
            if s is listener:
                while True:
                    try:
                        c, _ = listener.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                    sel.register(c, selectors.EVENT_READ)
                    conns += 1
                continue
            try:
                data = s.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(s)
                s.close()
                continue
            if first is None:
                first = now()
            nbytes += len(data)
            lines += data.count(b"\n")
    conn.send({"lines": lines, "bytes": nbytes, "conns": conns, "first": first, "done": now()})


class Receiver:
    def __init__(self, expect: int, timeout: float = 600.0) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4096)
        self.port = self.listener.getsockname()[1]
        self.expect = expect
        self._parent, child = mp.Pipe()
        self.proc = mp.get_context("fork").Process(
            target=_receive, args=(self.listener, expect, child, timeout), daemon=True
        )
        self.proc.start()
        self.listener.close()
        if self._parent.recv() != "ready":
            raise RuntimeError("receiver did not start")

    def result(self) -> dict:
        r = self._parent.recv()
        self.proc.join(10)
        if r["lines"] != self.expect:
            raise RuntimeError(f"receiver counted {r['lines']} lines, expected {self.expect}")
        return r


# -- realistic cycles ------------------------------------------------------------

def sample_groups(hosts: int = 20):
    """Real sampled groups from this host's /proc, and one formatter per fleet host."""
    logging.disable(logging.WARNING)
    agent = Agent(build(None, {"interval": 1, "hostname": "storage-node-000"}), health=False)
    agent.sample()
    time.sleep(0.2)
    groups = agent.sample()
    logging.disable(logging.NOTSET)
    formatters = [Renderer(make_layout("default", f"storage-node-{h:03d}", "servers"), "rate")
                  for h in range(hosts)]
    return groups, formatters


def render_cycle(groups, formatter: Renderer, ts: int) -> tuple[bytes, int]:
    out: list[str] = []
    n = 0
    for sample in groups:
        n += formatter.render(sample, ts, out)
    return "".join(out).encode("ascii"), n


def make_batches(groups, formatters, total: int) -> list[tuple[bytes, int]]:
    batches, lines, ts = [], 0, 1_700_000_000
    while lines < total:
        f = formatters[len(batches) % len(formatters)]
        data, n = render_cycle(groups, f, ts + len(batches) // len(formatters))
        batches.append((data, n))
        lines += n
    return batches


# -- runs ------------------------------------------------------------------------

def _sender(port: int, lines: int) -> Sender:
    return Sender(TcpTransport([Destination("127.0.0.1", port)]), Buffer(max(lines, 200_000) * 2))


def run_drain(batches) -> dict:
    lines = sum(n for _, n in batches)
    rx = Receiver(lines)
    s = _sender(rx.port, lines)
    for data, n in batches:
        s.put(data, n)
    t0 = now()
    s.start()
    r = rx.result()
    s.close()
    return {"lines": lines, "bytes": r["bytes"], "seconds": r["done"] - t0, "conns": r["conns"]}


def run_end_to_end(groups, formatters, cycles: int) -> dict:
    ts = 1_700_000_000
    # Every host renders the same groups: as many lines per cycle (the receiver must know the total).
    lines = render_cycle(groups, formatters[0], ts)[1] * cycles
    rx = Receiver(lines)
    s = _sender(rx.port, lines).start()
    t0 = now()
    nf = len(formatters)
    for i in range(cycles):
        data, n = render_cycle(groups, formatters[i % nf], ts + i // nf)
        s.put(data, n)
    r = rx.result()
    s.close()
    return {"lines": lines, "bytes": r["bytes"], "seconds": r["done"] - t0, "conns": r["conns"]}


def graphyte_messages(batches, limit: int) -> list[tuple[str, float, int]]:
    """(metric, value, timestamp) of the first ``limit`` lines, for graphyte's send()."""
    out = []
    for data, _ in batches:
        for line in data.decode("ascii").splitlines():
            path, value, ts = line.split(" ")
            out.append((path, float(value) if "." in value or "e" in value else int(value), int(ts)))
            if len(out) == limit:
                return out
    return out


def run_graphyte_sync(messages) -> dict:
    rx = Receiver(len(messages))
    g = graphyte.Sender("127.0.0.1", rx.port, raise_send_errors=True)
    send = g.send
    t0 = now()
    for path, value, ts in messages:
        send(path, value, ts)
    r = rx.result()
    return {"lines": len(messages), "bytes": r["bytes"], "seconds": r["done"] - t0, "conns": r["conns"]}


def run_graphyte_interval(messages, interval: float, batch_size: int) -> dict:
    rx = Receiver(len(messages))
    g = graphyte.Sender("127.0.0.1", rx.port, interval=interval, queue_size=len(messages) + 1,
                        batch_size=batch_size)
    send = g.send
    t0 = now()
    for path, value, ts in messages:
        send(path, value, ts)
    r = rx.result()
    g.stop()
    return {"lines": len(messages), "bytes": r["bytes"], "seconds": r["done"] - t0, "conns": r["conns"]}


def run_graphyte_transport(messages, batch_size: int) -> dict:
    g = graphyte.Sender("127.0.0.1", 1, raise_send_errors=True)
    built = [g.build_message(p, v, t) for p, v, t in messages]
    rx = Receiver(len(built))
    g.port = rx.port
    t0 = now()
    for i in range(0, len(built), batch_size):
        g.send_socket(b"".join(built[i:i + batch_size]))
    r = rx.result()
    return {"lines": len(built), "bytes": r["bytes"], "seconds": r["done"] - t0, "conns": r["conns"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=2_000_000, help="backlog size (default 2,000,000)")
    ap.add_argument("--graphyte-lines", type=int, default=500_000,
                    help="lines through graphyte's interval mode (default 500,000)")
    ap.add_argument("--graphyte-sync-lines", type=int, default=3_000,
                    help="lines through graphyte's synchronous mode, one connection each (default 3,000)")
    ap.add_argument("--batch-size", type=int, default=1000, help="graphyte batch_size (its default 1000)")
    ap.add_argument("--interval", type=float, default=0.1, help="graphyte interval in seconds (default 0.1)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each kind; the median is kept (default 3)")
    ap.add_argument("--json", metavar="FILE", help="write the results here")
    args = ap.parse_args(argv)

    print_machine()
    groups, formatters = sample_groups()
    batches = make_batches(groups, formatters, args.lines)
    lines = sum(n for _, n in batches)
    size = sum(len(d) for d, _ in batches)
    sample = batches[0][0].decode("ascii").splitlines()[0]
    print(f"{lines:,} lines in {len(batches):,} cycle-shaped batches of {lines / len(batches):.0f} lines, "
          f"{size / lines:.1f} bytes per line on average; sample: {sample!r}")

    runs = []

    def record(name: str, what: str, run) -> dict:
        """Run ``args.repeat`` times; keep the median run, show the spread."""
        tries = sorted((run() for _ in range(args.repeat)), key=lambda r: r["lines"] / r["seconds"])
        r = tries[len(tries) // 2]
        r["rate"] = r["lines"] / r["seconds"]
        r["spread"] = [t["lines"] / t["seconds"] for t in tries]
        r["name"], r["what"] = name, what
        runs.append(r)
        print(f"  {name:<28} {r['rate']:>12,.0f} lines/s  ({r['lines']:,} lines in {r['seconds']:.3f} s; "
              f"{len(tries)} runs {r['spread'][0]:,.0f} .. {r['spread'][-1]:,.0f})", flush=True)
        return r

    gmsg = graphyte_messages(batches, max(args.graphyte_lines, args.graphyte_sync_lines))
    drain = record("sender drain", "backlog queued, then start()", lambda: run_drain(batches))
    e2e = record("sender end-to-end", "render + put + send",
                 lambda: run_end_to_end(groups, formatters, len(batches)))
    gsync = record("graphyte sync", "send() per line, a connection each",
                   lambda: run_graphyte_sync(gmsg[:args.graphyte_sync_lines]))
    gint = record("graphyte interval", f"send() per line, thread, batch_size {args.batch_size}",
                  lambda: run_graphyte_interval(gmsg[:args.graphyte_lines], args.interval, args.batch_size))
    gtr = record("graphyte transport only", f"pre-built batches of {args.batch_size}, send_socket",
                 lambda: run_graphyte_transport(gmsg[:args.graphyte_lines], args.batch_size))

    print()
    print(table(
        ("run", "what", "lines", "MB", "seconds", "connections", "lines/s"),
        [(r["name"], r["what"], f"{r['lines']:,}", f"{r['bytes'] / 1e6:.1f}", f"{r['seconds']:.3f}",
          r["conns"], f"{r['rate']:,.0f}") for r in runs],
        title=f"Loopback throughput (receiver in its own process; median of {args.repeat} runs each)",
    ))
    best_g = max(gsync, gint, key=lambda r: r["rate"])
    targets = [
        ("sender draining a backlog", f"{drain['rate']:,.0f} lines/s", "> 1,000,000", drain["rate"] > 1e6),
        (f"drain / graphyte's fastest mode ({best_g['name']})", f"{drain['rate'] / best_g['rate']:.1f}x",
         ">= 5x", drain["rate"] >= 5 * best_g["rate"]),
    ]
    print()
    print(f"end-to-end (rendering included) / {best_g['name']} (send() included): "
          f"{e2e['rate'] / best_g['rate']:.1f}x; drain / graphyte transport only: "
          f"{drain['rate'] / gtr['rate']:.1f}x")
    print()
    print(table(("target", "measured", "goal", ""), [(n, m, g, verdict(ok)) for n, m, g, ok in targets]))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "benchmark": "sender_throughput", "runs": runs,
            "targets": [{"name": n, "measured": m, "goal": g, "ok": ok} for n, m, g, ok in targets],
        }, indent=2))
    return 0 if all(t[3] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
