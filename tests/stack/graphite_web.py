"""A real graphite-web (Debian package ``graphite-web``, or PyPI ``graphite-web``)
on a free loopback port, reading the Whisper files of test carbon-caches.

graphite-web is a Django project whose ``graphite.settings`` imports the
module named by ``GRAPHITE_SETTINGS_MODULE`` (default ``local_settings``) and
derives everything else from it. Each instance writes its own settings module
into a temporary directory (STORAGE_DIR, WHISPER_DIR or STANDARD_DIRS,
CARBONLINK_HOSTS for points still in a cache's memory, a sqlite file) and runs
Django's development server on it:

    GRAPHITE_SETTINGS_MODULE=stack_settings PYTHONPATH=<tmp> DJANGO_SETTINGS_MODULE=graphite.settings \\
        python3 -m django runserver --noreload 127.0.0.1:<port>

The find view looks up the (anonymous) user's profile, so the sqlite
database is migrated first (``python3 -m django migrate``, about 2 s).
The interpreter is the one graphite-web is installed for: Debian's
``graphite-manage`` names it in its first line (python3.11 on bookworm);
a graphite-web installed in this virtualenv works too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

from tests.carbon_server import free_port
from tests.reap import stop_process

SETTINGS = """\
SECRET_KEY = 'carbon-client-tests'
ALLOWED_HOSTS = ['127.0.0.1']
STORAGE_DIR = {storage!r}
LOG_DIR = {log!r}
INDEX_FILE = {index!r}
STANDARD_DIRS = {dirs!r}
WHISPER_DIR = {dirs[0]!r}
CARBONLINK_HOSTS = {carbonlink!r}
CARBONLINK_TIMEOUT = 2.0
CLUSTER_SERVERS = []
DEFAULT_CACHE_DURATION = 0
TAGDB_CACHE_DURATION = 0
LOG_ROTATION = False
DATABASES = {{'default': {{'NAME': {db!r}, 'ENGINE': 'django.db.backends.sqlite3'}}}}
SILENCED_SYSTEM_CHECKS = ['models.W042', 'admin.W411']
"""


def graphite_python() -> Optional[str]:
    """An interpreter that can import graphite-web, or None."""
    here = subprocess.run(
        [sys.executable, "-c", "import graphite.settings"], capture_output=True, check=False,
        env=dict(os.environ, GRAPHITE_SETTINGS_MODULE="nonexistent_settings"),
    )
    if here.returncode == 0:
        return sys.executable
    manage = shutil.which("graphite-manage")
    if manage is None:
        return None
    with open(manage, "rb") as f:
        first = f.readline().decode(errors="replace").strip()
    if not first.startswith("#!"):
        return None
    interp = first[2:].strip().split()[0]
    return interp if os.access(interp, os.X_OK) else None


class GraphiteWeb:
    def __init__(self, root: Path, whisper_dirs: Sequence[Path], carbonlink: Sequence[str] = ()) -> None:
        self.root = Path(root)
        self.whisper_dirs = [str(Path(d)) + "/" for d in whisper_dirs]
        self.carbonlink = list(carbonlink)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 30.0) -> "GraphiteWeb":
        python = graphite_python()
        if python is None:
            raise RuntimeError("graphite-web not installed (Debian graphite-web or PyPI graphite-web)")
        storage = self.root / "storage"
        (storage / "log").mkdir(parents=True, exist_ok=True)
        (self.root / "stack_settings.py").write_text(SETTINGS.format(
            storage=str(storage), log=str(storage / "log"), index=str(storage / "index"),
            dirs=self.whisper_dirs, carbonlink=self.carbonlink, db=str(storage / "graphite.db"),
        ))
        env = dict(
            os.environ,
            PYTHONPATH=str(self.root),
            GRAPHITE_SETTINGS_MODULE="stack_settings",
            DJANGO_SETTINGS_MODULE="graphite.settings",
        )
        env.pop("VIRTUAL_ENV", None)
        self.log = open(self.root / "graphite-web.out", "wb")
        subprocess.run(
            [python, "-m", "django", "migrate", "--noinput", "-v0"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, check=True, timeout=120,
        )
        self.proc = subprocess.Popen(
            [python, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"graphite-web exited: {self.output()}")
            try:
                self.get("/version")
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"graphite-web did not answer on {self.port}: {self.output()}")

    def output(self) -> str:
        try:
            return (self.root / "graphite-web.out").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            stop_process(self.proc)
        self.proc = None
        self.log.close()

    # -- the HTTP API Grafana uses ----------------------------------------------------

    def get(self, path: str, **params) -> bytes:
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.read()

    def render(self, target: str, since: str = "-10min") -> list[dict]:
        """/render?format=json: [{"target": name, "datapoints": [[value, ts], ...]}, ...]."""
        try:
            return json.loads(self.get("/render", target=target, format="json", **{"from": since}))
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"render {target!r}: HTTP {exc.code}: {exc.read()[-2000:]!r}") from None

    def find(self, query: str) -> list[str]:
        """/metrics/find: the names (last level) matching a glob, as Grafana's default query lists them."""
        return [m["text"] for m in json.loads(self.get("/metrics/find", query=query))]

    def tag_values(self, tag: str, exprs: list[str]) -> list[str]:
        """/tags/autoComplete/values: the values of ``tag`` among the series matching ``exprs``
        (Grafana's ``tag_values(tag, expr, ...)`` query)."""
        return json.loads(self.get("/tags/autoComplete/values", tag=tag, expr=exprs))

    def expand(self, query: str) -> list[str]:
        """/metrics/expand: the full paths matching a glob (Grafana's ``expand(...)`` query)."""
        return json.loads(self.get("/metrics/expand", query=query))["results"]
