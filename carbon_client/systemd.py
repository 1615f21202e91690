"""sd_notify(3) without libsystemd: datagrams to $NOTIFY_SOCKET.

READY=1 once streaming, WATCHDOG=1 at least every half WatchdogSec while the
main loop is alive, RELOADING=1 / STOPPING=1 around a reload and a stop, and a
one-line STATUS=.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Mapping, Optional

log = logging.getLogger("carbon_client")


class Notifier:
    def __init__(self, address: Optional[str], watchdog_usec: int = 0) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._sock: Optional[socket.socket] = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Notifier":
        address = env.get("NOTIFY_SOCKET") or None
        usec = 0
        pid = env.get("WATCHDOG_PID")
        if env.get("WATCHDOG_USEC", "").isdigit() and (not pid or pid == str(os.getpid())):
            usec = int(env["WATCHDOG_USEC"])
        return cls(address, usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_every(self) -> Optional[float]:
        """Seconds between WATCHDOG=1 pings (half the timeout), or None."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec and self.enabled else None

    def send(self, *lines: str) -> bool:
        if self.address is None:
            return False
        addr = self.address
        if addr.startswith("@"):
            addr = "\0" + addr[1:]  # abstract namespace
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(lines).encode(), addr)
            return True
        except OSError as exc:
            log.debug("sd_notify to %s failed: %s", self.address, exc)
            return False

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def watchdog(self) -> None:
        if self.watchdog_usec:
            self.send("WATCHDOG=1")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def reloading(self) -> None:
        # systemd 253+ wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload).
        usec = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> None:
        self.send("STOPPING=1")
