"""A real carbon-cache (PyPI ``carbon``) on loopback, for integration tests.

Each instance gets its own GRAPHITE_ROOT in a temporary directory, its own
free ports and its own storage-schemas, and is stopped with SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from tests.reap import stop_process

CARBON_CONF = """\
[cache]
LOCAL_DATA_DIR = {root}/storage/whisper
STORAGE_DIR = {root}/storage
LOG_DIR = {root}/storage/log
PID_DIR = {root}/storage
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {line_port}
ENABLE_UDP_LISTENER = {udp}
UDP_RECEIVER_INTERFACE = 127.0.0.1
UDP_RECEIVER_PORT = {udp_port}
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {pickle_port}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {query_port}
LOG_LISTENER_CONNECTIONS = True
LOG_UPDATES = False
LOG_CREATES = False
CACHE_WRITE_STRATEGY = sorted
WHISPER_AUTOFLUSH = False
ENABLE_TAGS = {tags}
GRAPHITE_URL = {graphite_url}
"""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def carbon_cache_command() -> Optional[list[str]]:
    """How to start carbon-cache from this interpreter's environment, or None."""
    script = Path(sys.executable).with_name("carbon-cache.py")
    if script.exists():
        return [sys.executable, str(script)]
    found = shutil.which("carbon-cache.py")
    return [sys.executable, found] if found else None


class CarbonCache:
    """``retentions`` for every series, unless ``schemas`` names a storage-schemas.conf to
    use (and ``aggregation`` a storage-aggregation.conf); ``graphite_url``: a graphite-web
    whose tag database indexes the tagged series (``name;tag=value``), tags off without."""

    def __init__(self, root: Path, retentions: str = "1s:1h", udp: bool = False,
                 schemas: Optional[Path] = None, aggregation: Optional[Path] = None,
                 graphite_url: Optional[str] = None) -> None:
        self.root = Path(root)
        self.retentions = retentions
        self.schemas = schemas
        self.aggregation = aggregation
        self.graphite_url = graphite_url
        self.port = free_port()
        self.pickle_port = free_port()
        self.query_port = free_port()
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.udp = udp
        self.proc: Optional[subprocess.Popen] = None
        self.whisper_dir = self.root / "storage" / "whisper"

    def start(self, timeout: float = 30.0) -> "CarbonCache":
        cmd = carbon_cache_command()
        if cmd is None:
            raise RuntimeError("carbon-cache.py not found (pip install carbon)")
        conf = self.root / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (self.root / "storage" / "log").mkdir(parents=True, exist_ok=True)
        self.whisper_dir.mkdir(parents=True, exist_ok=True)
        (conf / "carbon.conf").write_text(CARBON_CONF.format(
            root=self.root, line_port=self.port, pickle_port=self.pickle_port,
            query_port=self.query_port, udp_port=self.udp_port, udp=self.udp,
            tags=self.graphite_url is not None, graphite_url=self.graphite_url or "http://127.0.0.1:1",
        ))
        (conf / "storage-schemas.conf").write_text(
            self.schemas.read_text() if self.schemas else f"[default]\npattern = .*\nretentions = {self.retentions}\n"
        )
        if self.aggregation:
            (conf / "storage-aggregation.conf").write_text(self.aggregation.read_text())
        env = dict(os.environ, GRAPHITE_ROOT=str(self.root), GRAPHITE_CONF_DIR=str(conf))
        self.log = open(self.root / "carbon-cache.out", "wb")
        self.proc = subprocess.Popen(
            cmd + [f"--config={conf / 'carbon.conf'}", "--nodaemon", "start"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.wait_listening(timeout)
        return self

    def wait_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"carbon-cache exited: {self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"carbon-cache did not listen on {self.port}: {self.output()}")

    def output(self) -> str:
        try:
            return (self.root / "carbon-cache.out").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            stop_process(self.proc, sig, grace=15)
        self.proc = None
        self.log.close()
        # twistd refuses to start again while its pid file names a live pid.
        for pid in (self.root / "storage").glob("*.pid"):
            pid.unlink()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def wsp(self, path: str) -> Path:
        return self.whisper_dir.joinpath(*path.split(".")).with_suffix(".wsp")

    def metrics(self) -> list[str]:
        return sorted(
            ".".join(p.relative_to(self.whisper_dir).with_suffix("").parts)
            for p in self.whisper_dir.rglob("*.wsp")
        )

    def points(self, path: str, since: float = 0) -> dict[int, float]:
        """timestamp -> value for every stored point of ``path``."""
        import whisper

        f = self.wsp(path)
        if not f.exists():
            return {}
        try:
            (start, _end, step), values = whisper.fetch(str(f), since or time.time() - 3500)
        except whisper.CorruptWhisperFile:  # carbon-cache is creating it: no header yet
            return {}
        return {start + i * step: v for i, v in enumerate(values) if v is not None}

    def wait_points(self, path: str, n: int, timeout: float = 20.0) -> dict[int, float]:
        deadline = time.monotonic() + timeout
        pts: dict[int, float] = {}
        while time.monotonic() < deadline:
            pts = self.points(path)
            if len(pts) >= n:
                return pts
            time.sleep(0.2)
        return pts
