"""A Docker engine of the test session's own, and the images the tests build on it.

``dockerd`` (Debian's docker.io) runs as root on a private socket, with its
images in the cache directory (so a second run reuses the base image and the
build cache) and no bridge, NAT or iptables rules: every container uses the
host's network, as the compose file's agent does. No registry is reachable,
so the base image is the cached Debian tree (``docker import``), with this
machine's CA bundle (pip inside a build trusts what the host trusts).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Optional

from tests.deploy.rootfs import key
from tests.reap import stop_process

HERE = Path(__file__).resolve().parent
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CARBON_CACHE_DOCKERFILE = HERE / "carbon-cache.Dockerfile"


class Engine:
    def __init__(self, data_root: Path, log: Path) -> None:
        self.data_root = data_root
        self.log_path = log
        self.run_dir = Path(tempfile.mkdtemp(prefix="cc-dockerd-"))  # short: unix socket paths
        self.socket = self.run_dir / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.proc: Optional[subprocess.Popen] = None
        self.client = None
        self.base_image: Optional[str] = None  # see base()

    def start(self, timeout: float = 120) -> "Engine":
        import docker

        self.data_root.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["dockerd", "--host", self.url, "--data-root", str(self.data_root),
             "--exec-root", str(self.run_dir / "exec"), "--pidfile", str(self.run_dir / "dockerd.pid"),
             "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited {self.proc.returncode}:\n{self.output()}")
            try:
                self.client = docker.DockerClient(base_url=self.url, timeout=600)
                self.client.ping()
                return self
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dockerd did not answer within {timeout}s:\n{self.output()}")
                time.sleep(0.5)

    def stop(self) -> None:
        if self.client is not None:
            for c in self.client.containers.list(all=True):
                c.remove(force=True)
            # Images replaced by this run's builds: the cache keeps only what is tagged.
            self.client.images.prune(filters={"dangling": True})
            self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc, grace=60, group=False)
        self.proc = None
        self.log.close()
        subprocess.run(["rm", "-rf", str(self.run_dir)], check=False)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    # -- images ------------------------------------------------------------------------

    def base(self, tree: Path, suite: str) -> str:
        """The cached Debian tree as an image (imported once per tree), plus the host's CA bundle."""
        if self.base_image:
            return self.base_image
        tree_id = hashlib.sha256(json.dumps(key(suite)).encode()).hexdigest()[:12]
        imported = f"carbon-client-test-rootfs:{suite}-{tree_id}"
        tag = f"carbon-client-test-base:{suite}-{tree_id}"
        if not self._has(imported):
            tar = subprocess.Popen(["tar", "-C", str(tree), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
            repo, name = imported.split(":")
            self.client.api.import_image(src=iter(lambda: tar.stdout.read(1 << 20), b""), repository=repo, tag=name,
                                         stream_src=True)
            assert tar.wait() == 0
        if not self._has(tag):
            files = {"Dockerfile": (f"FROM {imported}\nCOPY ca-certificates.crt /etc/ssl/certs/\n"
                                    "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n").encode()}
            if CA_BUNDLE.exists():
                files["ca-certificates.crt"] = CA_BUNDLE.read_bytes()
            else:
                files["Dockerfile"] = f"FROM {imported}\n".encode()
            self.build_context(files, tag)
        self.base_image = tag
        return tag

    def _has(self, tag: str) -> bool:
        import docker

        try:
            self.client.images.get(tag)
            return True
        except docker.errors.ImageNotFound:
            return False

    def build(self, path: Path, dockerfile: str, tag: str, **buildargs: str):
        """``docker build`` of a directory with the host's network (no bridge here)."""
        return self._build(tag, path=str(path), dockerfile=dockerfile, buildargs=buildargs)

    def build_context(self, files: dict[str, bytes], tag: str, **buildargs: str):
        """``docker build`` of a context made of ``files`` (name -> content)."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        buf.seek(0)
        return self._build(tag, fileobj=buf, custom_context=True, buildargs=buildargs)

    def _build(self, tag: str, **kw):
        import docker

        try:
            image, _ = self.client.images.build(tag=tag, network_mode="host", pull=False, rm=True, forcerm=True, **kw)
        except docker.errors.BuildError as exc:
            log = "".join(c.get("stream", "") or c.get("error", "") for c in exc.build_log)
            raise AssertionError(f"docker build of {tag} failed: {exc}\n{log[-4000:]}") from None
        return image

    def carbon_cache_image(self, base: str) -> str:
        """carbon-cache from Debian's graphite-carbon, laid out like the compose file's Graphite image."""
        tag = "carbon-client-test-carbon-cache:latest"
        self.build_context({"Dockerfile": CARBON_CACHE_DOCKERFILE.read_bytes()}, tag, BASE=base)
        return tag
