"""`carbon-client run`: the agent, its sender and its signals, until SIGTERM.

SIGTERM/SIGINT: stop collecting, flush for ``flush_timeout`` seconds (20 at
most), spool what is left, exit 0. SIGHUP: read the config file
again; a bad one is refused with a log line and the running configuration
stays; a good one is applied at the next tick without dropping buffered lines
(a new sender takes over the old one's buffer and spool, without waiting on a
stalled socket). A sender thread that died stops the watchdog pings and ends
the agent with exit 1, so that systemd restarts it.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import zlib
from collections import Counter
from typing import Callable, Optional

from carbon_client import __version__
from carbon_client.agent import Agent
from carbon_client.config import Config, ConfigError
from carbon_client.scheduler import Scheduler, StopFlag
from carbon_client.sender import SpoolBusy, make_sender
from carbon_client.sender.buffer import UNSENT
from carbon_client.systemd import Notifier

log = logging.getLogger("carbon_client")

# Keys whose change needs a new sender...
SENDER_KEYS = (
    "carbon", "protocol", "mode", "buffer_lines", "backoff_min", "backoff_max",
    "connect_timeout", "write_timeout", "reconnect_interval", "spool_dir", "spool_max_bytes",
    "resend_window",
)
# ...only new names (or filters) for the same samples: the collectors and their rates stay...
NAMING_KEYS = ("hostname", "hostname_method", "prefix", "postfix", "layout", "format", "counters",
               "include", "exclude", "filters")
# ...nothing but the daemon's own settings. Any other key changes what is collected: a new agent
# (new collectors, their rates start afresh).
DAEMON_KEYS = ("log_level", "show", "send_jitter", "flush_timeout")

EXIT_FAILURE = 1


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
        self.sender = None  # made by run(): a spool held by another agent refuses to start
        self.view = self._make_view(config)
        self.agent = Agent(config, health_every_tick=self.view is not None)  # the view's sender column
        self.scheduler = Scheduler(
            config.interval, self.tick, offset=send_offset(config),
            heartbeat=self.heartbeat, heartbeat_every=self.notifier.watchdog_every,
        )
        self.exit_code = 0
        # What the senders a reload replaced sent and lost.
        self._retired_sent = 0
        self._retired_losses: Counter = Counter()

    def _make_view(self, config: Config):
        out = sys.stdout  # None when the agent was started with its stdout closed
        show = config.show if config.show is not None else out is not None and out.isatty()
        if not show:
            return None
        if out is None:
            log.warning("no rows shown: stdout is closed")
            return None
        from carbon_client.top.live import LiveView  # only when rows are wanted: keeps run light

        return LiveView(out)

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

    def heartbeat(self) -> None:
        """systemd's watchdog: pinged only while the sender is alive."""
        if self.sender is None or self.sender.alive:
            self.notifier.watchdog()

    def tick(self, ts: int) -> None:
        if not self.sender.alive:
            log.critical("the sender thread died (%s); exiting so that the agent is restarted",
                         self.sender.failure or "ended unexpectedly")
            self.exit_code = EXIT_FAILURE
            self.stop.set()
            return
        if self._reload.is_set():
            self._reload.clear()
            self.reload()
        self.agent.skipped, self.agent.repeated = self.scheduler.skipped, self.scheduler.repeated
        result = self.agent.cycle(ts)
        if self.view is not None:
            self.view.show(result)
        if self.notifier.enabled:
            s = self.sender.stats()
            self.notifier.status(
                f"{'connected' if s['connected'] else 'NOT connected'}; "
                f"{s['buffered']} buffered, {s.get('spooled', 0)} spooled, {s['dropped']} dropped"
            )

    def run(self) -> int:
        # Handlers first: the sender replays a spool as soon as it starts, and a SIGTERM
        # meanwhile must stop the agent cleanly (flush, spool, exit 0), not kill it.
        self.install_signals()
        try:
            self.sender = make_sender(self.config).start()
        except SpoolBusy as exc:
            log.error("%s; not starting", exc)
            return EXIT_FAILURE
        self.agent.sender = self.sender
        log.info("carbon-client %s: %s (collectors: %s)", __version__, self.describe(),
                 ", ".join(self.agent.enabled))
        self.notifier.ready(self.describe())
        try:
            self.scheduler.run(self.stop)
        except SpoolBusy as exc:  # a reload found the spool taken and could not go back
            log.critical("%s; exiting", exc)
            self.exit_code = EXIT_FAILURE
        self.notifier.stopping()
        self.agent.flush()
        self.sender.close(self.config.flush_timeout)
        self._log_totals()
        self.agent.close()
        return self.exit_code

    def _log_totals(self) -> None:
        s = self.sender.stats()
        sent = self._retired_sent + s["sent"]
        losses = self.sender.losses() + self._retired_losses
        unsent = losses.pop(UNSENT, 0)
        if not (unsent or losses or s["spooled"]):
            log.info("stopped; every line sent (%d)", sent)
            return
        why = f" ({', '.join(f'{n} {reason}' for reason, n in losses.items())})" if losses else ""
        hint = " (no spool_dir to keep them)" if unsent and self.config.spool_dir is None else ""
        log.warning("stopped: %d lines sent, %d dropped%s, %d spooled for the next start, %d unsent and lost%s",
                    sent, sum(losses.values()), why, s["spooled"], unsent, hint)

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
            self._retired_sent += self.sender.stats()["sent"]
            self._retired_losses.update(self.sender.losses())
            try:
                self.sender = make_sender(new)
            except SpoolBusy as exc:
                log.error("reload refused, keeping the running configuration: %s", exc)
                self.sender = make_sender(old)
                new = old
            self.sender.adopt(carried)
            self.sender.start()
            log.info("reload: new sender, %d buffered lines carried over", sum(b.lines for b in carried))
            if new is old:
                self.agent.sender = self.sender
                self.notifier.ready(self.describe())
                return
        new_agent = any(k not in SENDER_KEYS + NAMING_KEYS + DAEMON_KEYS for k in changed)
        if new_agent:
            self.agent.flush()
            self.agent.close()
            self.agent = Agent(new, sender=self.sender)
        else:
            self.agent.sender = self.sender
            self.agent.rename(new)
        if new.log_level != old.log_level:
            logging.getLogger().setLevel(new.log_level)
        if new.show != old.show or new_agent:
            self.view = self._make_view(new)
            self.agent.health_every_tick = self.view is not None
        self.scheduler.interval, self.scheduler.offset = new.interval, send_offset(new)
        self.config = new
        log.info("reload: applied %s; now %s", ", ".join(changed), self.describe())
        self.notifier.ready(self.describe())
