"""Build the carbon-client .deb with pip and dpkg-deb (`make deb`).

The package installs:

- /opt/carbon-client/lib: the agent's wheel and its dependencies (psutil,
  PyYAML, tenacity), for Debian's own python3;
- /opt/carbon-client/bin/carbon-client: the unit's ExecStart, which runs
  ``/usr/bin/python3 -I`` with that directory first on sys.path;
- /opt/carbon-client/share/systemd/carbon-client.service.d: the opt-in
  drop-ins (writeboost, processes), to copy to /etc/systemd/system/...;
- /lib/systemd/system/carbon-client.service: the hardened unit, as shipped;
- /etc/carbon-client/carbon-client.yaml: the example config
  (carbon_client/config/carbon-client.yaml), a conffile;
- /usr/share/doc/carbon-client/copyright.

Why Debian's python3 with a private library directory rather than a venv: a
venv records its interpreter's path and its own location (pyvenv.cfg, the
scripts' shebangs), so it cannot be assembled in a staging directory and moved
into place; this layout can, needs no python3-venv, and gets Debian's Python
security updates. ``-I`` keeps PYTHON* variables and the user's site-packages
out, and the private directory comes before Debian's dist-packages, so an
older python3-yaml or python3-tenacity on the host is never used.

Dependencies are resolved for the target interpreter (the build host's
/usr/bin/python3, the Debian release the package is for), its glibc and its
architecture, with binary wheels only; pure-Python ones published only as
sdists are built into wheels first. Needs network access to the
package index, as ``pip install .`` does.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PREFIX = "opt/carbon-client"
LIB = f"/{PREFIX}/lib"
UNIT = "lib/systemd/system/carbon-client.service"
CONFIG = "etc/carbon-client/carbon-client.yaml"
DOC = "usr/share/doc/carbon-client"
DROPINS = f"{PREFIX}/share/systemd/carbon-client.service.d"
MAINTAINER_SCRIPTS = ("postinst", "prerm", "postrm")
# dpkg architecture -> the machine in manylinux wheel tags.
MACHINES = {"amd64": "x86_64", "arm64": "aarch64", "i386": "i686", "ppc64el": "ppc64le", "s390x": "s390x"}

LAUNCHER = f'''\
#!/usr/bin/python3 -I
"""carbon-client on Debian's python3, with its own copies of its dependencies in {LIB}."""
import sys

sys.dont_write_bytecode = True  # never leave files dpkg does not know of in {LIB}
sys.path.insert(0, "{LIB}")
from carbon_client.cli import main  # noqa: E402

sys.exit(main())
'''

DESCRIPTION = """\
Graphite push agent for Linux
 carbon-client reads /proc (and dmsetup for dm-writeboost caches), turns
 counters into per-second rates and streams Carbon plaintext lines to
 Graphite over one persistent TCP connection, with reconnect backoff, a
 resend window and a disk spool. Runs as a hardened systemd service
 (Type=notify, watchdog, DynamicUser, no capabilities).
"""

COPYRIGHT_HEADER = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: carbon-client

Files: *
Copyright: the carbon-client authors
License: MIT
"""


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, **kw)


def target(python: str) -> tuple[str, str]:
    """(X.Y, glibc X.Y) of the interpreter the package runs on."""
    out = run([python, "-c", "import os, sys; print('%d.%d' % sys.version_info[:2]); "
                             "print(os.confstr('CS_GNU_LIBC_VERSION').split()[1])"],
              capture_output=True, text=True).stdout.split()
    return out[0], out[1]


def build_wheels(wheels: Path) -> Path:
    """The project's wheel and its dependencies' (for this interpreter; pure ones serve any)."""
    run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "-w", str(wheels), str(ROOT)])
    (wheel,) = wheels.glob("carbon_client-*.whl")
    return wheel


def install_lib(wheel: Path, wheels: Path, lib: Path, pyver: str, glibc: str, machine: str) -> None:
    abi = "cp" + pyver.replace(".", "")
    # pip takes the platforms as given: every manylinux_2_N this glibc runs (PEP 600).
    major, minor = (int(x) for x in glibc.split(".")[:2])
    platforms = [a for n in range(minor, 4, -1) for a in ("--platform", f"manylinux_{major}_{n}_{machine}")]
    run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile",
         "--target", str(lib), "--find-links", str(wheels), "--only-binary=:all:",
         "--implementation", "cp", "--python-version", pyver, "--abi", abi, "--abi", "abi3", "--abi", "none",
         *platforms, "--platform", "any", str(wheel)])
    # Console scripts carry the build interpreter's path: the launcher replaces them. The
    # record of where pip found the wheel names the build's temporary directory.
    shutil.rmtree(lib / "bin", ignore_errors=True)
    for path in lib.glob("*.dist-info/direct_url.json"):
        path.unlink()


def version_of(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(z.read(name).decode())["Version"]


def normalize(stage: Path) -> None:
    """root-owned (dpkg-deb --root-owner-group), 0755 directories and 0644 files but the executables."""
    for path in [stage, *stage.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if os.access(path, os.X_OK) and path.suffix != ".so" else 0o644)


def control(version: str, arch: str, pyver: str, stage: Path) -> str:
    size = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file() and not p.is_symlink())
    major, minor = pyver.split(".")
    return (
        f"Package: carbon-client\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: the carbon-client authors <carbon-client@localhost>\n"
        f"Installed-Size: {(size + 1023) // 1024}\n"
        f"Depends: python3 (>= {pyver}), python3 (<< {major}.{int(minor) + 1})\n"
        f"Section: admin\n"
        f"Priority: optional\n"
        f"Description: {DESCRIPTION}"
    )


def md5sums(stage: Path) -> str:
    lines = []
    for path in sorted(p for p in stage.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(stage)
        if rel.parts[0] != "DEBIAN":
            lines.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {rel}\n")
    return "".join(lines)


def build(out: Path, python: str) -> Path:
    pyver, glibc = target(python)
    arch = run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    machine = MACHINES.get(arch)
    if machine is None:
        sys.exit(f"no manylinux platform known for the Debian architecture {arch}")
    with tempfile.TemporaryDirectory(prefix="carbon-client-deb-") as tmp:
        wheels, stage = Path(tmp, "wheels"), Path(tmp, "stage")
        wheel = build_wheels(wheels)
        version = version_of(wheel)
        lib = stage / PREFIX / "lib"
        install_lib(wheel, wheels, lib, pyver, glibc, machine)
        # Byte-code for the target interpreter, valid whatever the files' mtimes.
        run([python, "-m", "compileall", "-q", "-j0", "--invalidation-mode", "unchecked-hash",
             "-s", str(stage), "-p", "/", str(lib)], stdout=subprocess.DEVNULL)
        launcher = stage / PREFIX / "bin" / "carbon-client"
        launcher.parent.mkdir(parents=True)
        launcher.write_text(LAUNCHER)
        launcher.chmod(0o755)
        for src, dst in ((ROOT / "deploy/systemd/carbon-client.service", UNIT),
                         (ROOT / "carbon_client/config/carbon-client.yaml", CONFIG)):
            (stage / dst).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, stage / dst)
        shutil.copytree(ROOT / "deploy/systemd/carbon-client.service.d", stage / DROPINS)
        (stage / DOC).mkdir(parents=True)
        (stage / DOC / "copyright").write_text(COPYRIGHT_HEADER + "".join(
            f" {line}\n" if line.strip() else " .\n" for line in (ROOT / "LICENSE").read_text().splitlines()))
        debian = stage / "DEBIAN"
        debian.mkdir()
        for name in MAINTAINER_SCRIPTS:
            shutil.copyfile(HERE / name, debian / name)
            (debian / name).chmod(0o755)
        (debian / "conffiles").write_text(f"/{CONFIG}\n")
        (debian / "md5sums").write_text(md5sums(stage))
        normalize(stage)
        (debian / "control").write_text(control(version, arch, pyver, stage))
        out.mkdir(parents=True, exist_ok=True)
        deb = out / f"carbon-client_{version}_{arch}.deb"
        run(["dpkg-deb", "--root-owner-group", "--build", str(stage), str(deb)], stdout=subprocess.DEVNULL)
    return deb


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "dist"), help="where the .deb goes (default: dist/)")
    p.add_argument("--python", default="/usr/bin/python3",
                   help="the interpreter the package runs on (default: this Debian's /usr/bin/python3)")
    args = p.parse_args()
    print(build(Path(args.out), args.python))


if __name__ == "__main__":
    main()
