#!/usr/bin/env python3
"""What put() writing a cycle itself saves, against waking the sending thread for it.

A cycle is one put() of a batch of about 130 real lines, then a sleep; the
receiver is a separate process on 127.0.0.1. The CPU time of this whole
process (every thread: the caller's put, the woken thread's take, write and
accept) is measured around each run of ``--puts`` cycles, and divided by the
cycles. The sleep's own cost is measured too (a run that puts nothing) and
taken off. Variants, alternated run by run, ``--repeat`` times each:

  thread      put() queues and wakes the sending thread, which writes
  put writes  the sender as it is: put() writes the batch itself when the
              connection is idle (one non-blocking write())

Also: the check that Carbon closed the connection, made before every write,
with select() against a poll object kept per socket (what the sender did
before), in microseconds per check.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import select
import socket
import statistics
import sys
import time
import timeit
from pathlib import Path

from benchlib import print_machine, table

from carbon_client.config import Destination
from carbon_client.sender import Sender
from carbon_client.sender.buffer import Buffer
from carbon_client.sender.transport import TcpTransport, _peer_closed


def _drain(listener: socket.socket) -> None:
    conn, _ = listener.accept()
    while conn.recv(1 << 20):
        pass


def receiver() -> tuple[int, mp.Process]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    proc = mp.get_context("fork").Process(target=_drain, args=(listener,), daemon=True)
    proc.start()
    listener.close()
    return port, proc


def cycle_batch(lines: int = 130) -> bytes:
    return b"".join(b"servers.storage-node-001.disk.sda.read_bytes %d 1700000000\n" % i for i in range(lines))


class QueueOnly(Sender):
    """The sender without the trick: every put wakes the thread."""

    def put(self, data: bytes, lines: int) -> None:
        self.buffer.add(data, lines)


def run(sender, data: bytes, n: int, pause: float) -> float:
    """CPU microseconds per cycle of ``n`` cycles of put and sleep."""
    t0 = time.process_time()
    for _ in range(n):
        if sender is not None:
            sender.put(data, 130)
        time.sleep(pause)
    return (time.process_time() - t0) / n * 1e6


def connected(cls, port: int):
    s = cls(TcpTransport([Destination("127.0.0.1", port)]), Buffer(1_000_000)).start()
    s.put(b"warm.up 1 1700000000\n", 1)
    deadline = time.monotonic() + 10
    while (s.stats()["sent"] < 1 or s.stats()["buffered"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    return s


def peer_check_us(port: int) -> dict:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(10)
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    n = 200_000
    cached = min(timeit.repeat(lambda: bool(poll.poll(0)), number=n, repeat=5)) / n * 1e6
    fresh = min(timeit.repeat(lambda: _peer_closed(sock), number=n, repeat=5)) / n * 1e6
    sock.close()
    return {"select": fresh, "cached poll": cached}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--puts", type=int, default=1000, help="cycles per run (default 1000)")
    ap.add_argument("--sleep", type=float, default=0.02, help="seconds between puts (default 0.02)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each variant, alternated (default 3)")
    ap.add_argument("--json", metavar="FILE", help="write the results here")
    args = ap.parse_args(argv)

    print_machine()
    data = cycle_batch()
    print(f"{args.puts} cycles a run of one put() of 130 lines ({len(data)} bytes) and a "
          f"{args.sleep * 1000:g} ms sleep; {args.repeat} runs of each variant, alternated")
    port_a, rx_a = receiver()
    port_b, rx_b = receiver()
    variants = {"thread": connected(QueueOnly, port_a), "put writes": connected(Sender, port_b)}
    results: dict[str, list[float]] = {"sleep only": [], **{k: [] for k in variants}}
    for _ in range(args.repeat):
        results["sleep only"].append(run(None, data, args.puts, args.sleep))
        for name, sender in variants.items():
            results[name].append(run(sender, data, args.puts, args.sleep))
    checks = peer_check_us(port_a)
    for sender in variants.values():
        sender.close(5)
    base = statistics.median(results["sleep only"])
    rows, out = [], {}
    for name, values in results.items():
        med = statistics.median(values)
        out[name] = {"median_us": med, "runs_us": values}
        if name != "sleep only":
            rows.append((name, f"{med - base:.1f}", f"{min(values) - base:.1f} .. {max(values) - base:.1f}"))
    print()
    print(table(("variant", "CPU us per cycle (median)", "runs"), rows,
                title=f"CPU per cycle, the sleep's own {base:.1f} us taken off"))
    saved = out["thread"]["median_us"] - out["put writes"]["median_us"]
    print(f"\nput() writing itself saves {saved:.1f} us of CPU per cycle "
          f"({saved / 1000:.3f} ms/s at a 1 s interval)")
    print(f"peer-closed check before a write: select() {checks['select']:.2f} us, "
          f"a cached poll object {checks['cached poll']:.2f} us")
    rx_a.terminate()
    rx_b.terminate()
    if args.json:
        Path(args.json).write_text(json.dumps({"benchmark": "sender_wakeup", "results": out,
                                               "saved_us": saved, "peer_check_us": checks}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
