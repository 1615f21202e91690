"""Log a problem once while it lasts, and once when it is over.

collectd's ``c_complain`` / ``c_release``: a collector that fails every
interval, a malformed line that recurs, a device that stays gone, a Carbon
that stays down each make one log line when they start (or change) and one
when they end, not one per interval.
"""

from __future__ import annotations

import logging
from typing import Hashable, Iterable

from carbon_client.parsers import ParseError


class LogOnce:
    """What is being complained about, by key, with the message last logged."""

    def __init__(self, logger: logging.Logger) -> None:
        self.log = logger
        self.active: dict[Hashable, str] = {}

    def complain(self, key: Hashable, message: str, level: int = logging.WARNING,
                 exc_info: bool = False) -> bool:
        """Log ``message`` unless it is what ``key`` last complained of; True when logged."""
        if self.active.get(key) == message:
            return False
        self.active[key] = message
        self.log.log(level, "%s", message, exc_info=exc_info)
        return True

    def release(self, key: Hashable, message: str = "", level: int = logging.INFO) -> bool:
        """``key`` is fine again: log ``message`` (when given) if it had been complained of."""
        if self.active.pop(key, None) is None:
            return False
        if message:
            self.log.log(level, "%s", message)
        return True

    def keep_only(self, keys: Iterable[Hashable]) -> None:
        """Forget, silently, every complaint whose key is not in ``keys``."""
        keep = set(keys)
        self.active = {k: v for k, v in self.active.items() if k in keep}

    def __contains__(self, key: Hashable) -> bool:
        return key in self.active


class BadLines:
    """A parser's ``on_error`` for one file: each malformed line is logged once while
    it recurs, cycle after cycle, and counted in ``owner.bad_lines`` (a collector's
    health); call :meth:`end` after each parse."""

    def __init__(self, logger: logging.Logger, what: str, owner=None) -> None:
        self.what = what
        self.owner = owner
        self.once = LogOnce(logger)
        self.seen: list[str] = []

    def __call__(self, err: ParseError) -> None:
        msg = str(err)
        self.seen.append(msg)
        if self.owner is not None:
            self.owner.bad_lines += 1
        self.once.complain(msg, f"{self.what}: skipping malformed line: {msg}")

    def end(self) -> None:
        if self.seen or self.once.active:
            self.once.keep_only(self.seen)
            self.seen = []
