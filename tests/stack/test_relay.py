"""The cluster profile without Docker: agent -> carbon-c-relay -> two carbon-caches.

The relay runs the shipped deploy/graphite/carbon-c-relay.conf with only its
addresses changed (the listener and the two nodes on free loopback ports).
Between the agent and the relay a tee records every line the agent wrote.
Every series must land on exactly one cache, none may be lost, and every
(path, timestamp, value) the agent sent must be in that cache's Whisper file.
Then a graphite-web reading both caches answers for every series, as
graphite-front does for the two nodes of the compose profile.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.carbon_server import CarbonCache, carbon_cache_command, free_port
from tests.conftest import ROOT, require, require_command
from tests.stack.conftest import EVERY_TICK, AgentProcess
from tests.stack.graphite_web import GraphiteWeb, graphite_python

pytestmark = pytest.mark.integration

RELAY_CONF = ROOT / "deploy" / "graphite" / "carbon-c-relay.conf"
HOST = "relayhost"


class Tee:
    """A TCP proxy that records the lines passing through it."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.lines: list[str] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, conn: socket.socket) -> None:
        up = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
        pending = b""
        with conn, up:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                # Recorded before forwarding: whatever the relay got is in self.lines.
                pending += data
                *complete, pending = pending.split(b"\n")
                with self.lock:
                    self.lines.extend(c.decode() for c in complete if c)
                up.sendall(data)

    def snapshot(self) -> list[str]:
        with self.lock:
            return list(self.lines)

    def close(self) -> None:
        self.listener.close()


def relay_config(listen: int, a: int, b: int) -> str:
    text = RELAY_CONF.read_text()
    subs = [
        (r"^(\s+)2003 proto tcp$", rf"\g<1>127.0.0.1:{listen} proto tcp"),
        (r"^(\s+)graphite-a:2003$", rf"\g<1>127.0.0.1:{a}"),
        (r"^(\s+)graphite-b:2003$", rf"\g<1>127.0.0.1:{b}"),
    ]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text, flags=re.M)
        assert n == 1, f"{RELAY_CONF} no longer has a line matching {pattern!r}"
    return text


def test_relay_config_uses_consistent_hashing():
    text = re.sub(r"#.*", "", RELAY_CONF.read_text())
    cluster = re.search(r"cluster\s+(\S+)\s+(\S+)(.*?);", text, re.S)
    assert cluster is not None
    assert cluster.group(2) in ("carbon_ch", "fnv1a_ch", "jump_fnv1a_ch")
    assert cluster.group(3).split() == ["graphite-a:2003", "graphite-b:2003"]
    assert re.search(rf"match\s+\*\s+send to\s+{cluster.group(1)}\s+stop", text)


def start_relay(relay_bin: str, tmp_path: Path, caches: list[CarbonCache]) -> tuple[subprocess.Popen, int]:
    """The relay on a free port; another port when the one picked was taken meanwhile."""
    for attempt in range(3):
        port = free_port()
        conf = tmp_path / "relay.conf"
        conf.write_text(relay_config(port, caches[0].port, caches[1].port))
        check = subprocess.run([relay_bin, "-t", "-f", str(conf)], input="", capture_output=True,
                               text=True, timeout=10)
        assert check.returncode == 0, check.stdout + check.stderr
        out = tmp_path / f"relay-{attempt}.out"
        with open(out, "wb") as log:
            relay = subprocess.Popen([relay_bin, "-f", str(conf), "-w", "2", "-H", "test"],
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while relay.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return relay, port
            except OSError:
                time.sleep(0.05)
        relay.kill()
        relay.wait(5)
    pytest.fail(f"carbon-c-relay did not listen: {out.read_text()}")


@pytest.fixture
def relay_stack(tmp_path):
    relay_bin = require_command("carbon-c-relay", "carbon-c-relay")
    require(carbon_cache_command() is not None, "carbon-cache.py not installed (pip install carbon)")
    caches = [CarbonCache(tmp_path / "a"), CarbonCache(tmp_path / "b")]
    relay = tee = None
    try:
        for c in caches:
            c.start()
        relay, port = start_relay(relay_bin, tmp_path, caches)
        tee = Tee(port)
        yield caches, tee, relay
    finally:
        if tee is not None:
            tee.close()
        if relay is not None:
            relay.terminate()
            relay.wait(10)
        for c in caches:
            c.stop()


def test_every_metric_lands_on_exactly_one_cache(relay_stack, tmp_path):
    caches, tee, relay = relay_stack
    config = tmp_path / "agent.yaml"
    config.write_text(EVERY_TICK)
    agent = AgentProcess(["--interval=1", f"--carbon=127.0.0.1:{tee.port}", f"--hostname={HOST}",
                          f"--config={config}"], tmp_path / "agent.log").start()
    try:
        deadline = time.monotonic() + 20
        while len({line.split()[2] for line in tee.snapshot()}) < 3:  # three cycles' timestamps
            assert time.monotonic() < deadline, agent.output()
            time.sleep(0.1)
    finally:
        assert agent.stop() == 0, agent.output()
    sent: dict[str, dict[int, float]] = {}
    for line in tee.snapshot():
        path, value, ts = line.split()
        sent.setdefault(path, {})[int(ts)] = float(value)
    assert len(sent) > 50 and all(p.startswith(HOST + ".") for p in sent)

    def stored() -> list[set[str]]:
        return [{m for m in c.metrics() if m.startswith(HOST + ".")} for c in caches]

    deadline = time.monotonic() + 20
    while set.union(*stored()) != set(sent) and time.monotonic() < deadline:
        time.sleep(0.2)
    a, b = stored()
    assert not a & b, f"series on both caches: {sorted(a & b)[:10]}"
    assert a | b == set(sent), f"lost: {sorted(set(sent) - (a | b))[:10]}; unexpected: {sorted((a | b) - set(sent))[:10]}"
    assert a and b, "the hash spreads the series over both caches"
    others = {m for c in caches for m in c.metrics() if not m.startswith(HOST + ".")}
    assert all(m.startswith("carbon.") for m in others), f"unexpected series {sorted(others)[:10]}"

    # Every point, in the owner's Whisper file (carbon writes from its cache shortly after).
    owner = {p: caches[0] if p in a else caches[1] for p in sent}
    deadline = time.monotonic() + 20
    while True:
        missing = [
            (p, ts) for p, points in sent.items() for ts, v in points.items()
            if owner[p].points(p).get(ts) is None or abs(owner[p].points(p)[ts] - v) > 1e-6 * max(1.0, abs(v))
        ]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert not missing, f"{len(missing)} points not stored as sent, e.g. {missing[:5]}"

    # One graphite-web over both caches' files answers for every series, as graphite-front does.
    require(graphite_python() is not None, "graphite-web not installed (Debian package graphite-web)")
    web = GraphiteWeb(tmp_path / "web", [c.whisper_dir for c in caches]).start()
    try:
        # host.group.key, host.group.instance.key, host.pressure.<resource>.<some|full>.key
        listed = set().union(*(web.expand(f"{HOST}{'.*' * n}") for n in (2, 3, 4)))
        assert set(sent) <= listed
        series = web.render(f"{HOST}.carbon_client.sent", since="-5min")
        assert [v for v, _ in series[0]["datapoints"] if v is not None]
    finally:
        web.stop()
