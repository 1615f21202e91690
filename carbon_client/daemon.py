"""`carbon-client run`: the agent, its sender and its signals, until SIGTERM.

SIGTERM/SIGINT: stop collecting, flush for ``flush_timeout`` seconds, spool
what is left, exit 0. SIGHUP: read the config file again; a bad one is refused
with a log line and the running configuration stays; a good one is applied at
the next tick without dropping buffered lines (a new sender takes over the old
one's buffer and spool).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import zlib
from typing import Callable, Optional

from carbon_client import __version__
from carbon_client.agent import Agent, make_sender
from carbon_client.config import Config, ConfigError
from carbon_client.scheduler import Scheduler, StopFlag
from carbon_client.systemd import Notifier

log = logging.getLogger("carbon_client")

# Keys whose change needs a new sender / a new agent (collectors, names).
SENDER_KEYS = (
    "carbon", "protocol", "mode", "buffer_lines", "backoff_min", "backoff_max",
    "connect_timeout", "write_timeout", "spool_dir", "spool_max_bytes", "resend_window",
)
# ...a new agent (new collectors: rates start afresh)...
AGENT_KEYS = (
    "proc_root", "sys_root", "collectors", "disks", "nics", "writeboost", "cpu_per_core",
    "command_timeout",
)
# ...or only new names for the same samples.
NAMING_KEYS = ("hostname", "prefix", "layout", "counters")


def send_offset(config: Config) -> float:
    """Seconds after each boundary this host samples and sends: ``send_jitter``, or by
    default a fraction of the interval (at most a fifth, and 10 s) fixed by the host name,
    so a fleet's hosts spread their writes over the interval and each keeps its own phase."""
    if config.send_jitter is not None:
        return config.send_jitter
    span = min(config.interval / 5, 10.0)
    return round(zlib.crc32(config.hostname.encode()) % 10_000 / 10_000 * span, 3)


class Daemon:
    def __init__(self, config: Config, reload_config: Optional[Callable[[], Config]] = None,
                 notifier: Optional[Notifier] = None) -> None:
        self.config = config
        self.reload_config = reload_config
        self.notifier = notifier or Notifier.from_env()
        self.stop = StopFlag()
        self._reload = threading.Event()
        self.sender = make_sender(config).start()
        self.agent = Agent(config, sender=self.sender)
        self.view = self._make_view(config)
        self.scheduler = Scheduler(
            config.interval, self.tick, offset=send_offset(config),
            heartbeat=self.notifier.watchdog, heartbeat_every=self.notifier.watchdog_every,
        )

    def _make_view(self, config: Config):
        show = config.show if config.show is not None else sys.stdout.isatty()
        if not show:
            return None
        from carbon_client.top.live import LiveView  # only when rows are wanted: keeps run light

        return LiveView(self.agent, sys.stdout)

    # -- signals ------------------------------------------------------------------

    def install_signals(self) -> None:
        def on_stop(signum, frame):
            log.info("%s received: flushing and stopping", signal.Signals(signum).name)
            self.stop.set()

        def on_hup(signum, frame):
            log.info("SIGHUP received: reading the configuration again at the next tick")
            self._reload.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_hup)

    # -- the loop -------------------------------------------------------------------

    def describe(self) -> str:
        c = self.config
        return (f"{c.protocol} every {c.interval}s to {', '.join(str(d) for d in c.carbon)} "
                f"as {self.agent.layout.base}")

    def tick(self, ts: int) -> None:
        if self._reload.is_set():
            self._reload.clear()
            self.reload()
        self.agent.skipped, self.agent.repeated = self.scheduler.skipped, self.scheduler.repeated
        result = self.agent.cycle(ts)
        if self.view is not None:
            self.view.show(result, self.sender.stats())
        if self.notifier.enabled:
            s = self.sender.stats()
            self.notifier.status(
                f"{'connected' if s['connected'] else 'NOT connected'}; "
                f"{s['buffered']} buffered, {s.get('spooled', 0)} spooled, {s['dropped']} dropped"
            )

    def run(self) -> int:
        self.install_signals()
        log.info("carbon-client %s: %s (collectors: %s)", __version__, self.describe(),
                 ", ".join(self.agent.enabled))
        self.notifier.ready(self.describe())
        self.scheduler.run(self.stop)
        self.notifier.stopping()
        self.agent.flush()
        rest = self.sender.close(self.config.flush_timeout)
        if rest:
            lost = sum(d.count(b"\n") for d in rest)
            log.warning("stopped with %d lines unsent and no spool to keep them "
                        "(Carbon unreachable for %gs)", lost, self.config.flush_timeout)
        elif self.sender.stats().get("spooled"):
            log.info("stopped; unsent lines are in the spool for the next start")
        else:
            log.info("stopped; every line sent")
        self.agent.source.close()
        return 0

    # -- reload -------------------------------------------------------------------------

    def reload(self) -> None:
        if self.reload_config is None:
            return
        self.notifier.reloading()
        try:
            new = self.reload_config()
        except ConfigError as exc:
            log.error("reload refused, keeping the running configuration: %s", exc)
            self.notifier.send("READY=1", f"STATUS=reload refused: {exc}")
            return
        except Exception:  # reading the new config must never stop a running agent
            log.exception("reload failed, keeping the running configuration")
            self.notifier.send("READY=1", "STATUS=reload failed (see the log)")
            return
        old = self.config
        changed = sorted(k for k in new.__dataclass_fields__ if getattr(new, k) != getattr(old, k))
        if not changed:
            log.info("reload: configuration unchanged")
            self.notifier.ready(self.describe())
            return
        if any(k in SENDER_KEYS for k in changed):
            carried = self.sender.detach()
            self.sender = make_sender(new)
            for data, n in carried:
                self.sender.put(data, n)
            self.sender.start()
            log.info("reload: new sender, %d buffered lines carried over", sum(n for _, n in carried))
        if any(k in AGENT_KEYS for k in changed):
            self.agent.source.close()
            self.agent = Agent(new, sender=self.sender)
        else:
            self.agent.sender = self.sender
            self.agent.rename(new)
        if new.log_level != old.log_level:
            logging.getLogger().setLevel(new.log_level)
        if new.show != old.show or any(k in AGENT_KEYS for k in changed):
            self.view = self._make_view(new)
        self.scheduler.interval, self.scheduler.offset = new.interval, send_offset(new)
        self.config = new
        log.info("reload: applied %s; now %s", ", ".join(changed), self.describe())
        self.notifier.ready(self.describe())
