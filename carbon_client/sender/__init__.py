"""The sender: a buffer, transports that know nothing of buffering, and the loop joining them.

- buffer.py: memory queue, resend window, spill to the spool (add, take, accept, reject);
- spool.py, records.py: the disk spool and its record format;
- transport.py, udp.py: TCP (failover, failback, backoff, timeouts) and UDP;
- loop.py: one sending thread per destination set; fanout.py: ``mode: all``.

:func:`make_sender` builds what a config asks for; the object it returns has
``start``, ``put``, ``alive``, ``health``, ``stats``, ``losses``, ``close``, and for a
reload ``detach`` and ``adopt``.
"""

from __future__ import annotations

import logging
import os

from carbon_client.naming import sanitize
from carbon_client.sender.buffer import Buffer
from carbon_client.sender.fanout import Fanout
from carbon_client.sender.loop import STATS, Sender
from carbon_client.sender.spool import Spool, SpoolBusy
from carbon_client.sender.transport import TcpTransport
from carbon_client.sender.udp import UdpTransport

__all__ = ["STATS", "Fanout", "Sender", "SpoolBusy", "make_sender"]

log = logging.getLogger("carbon_client.sender")


def open_spool(directory: str, max_bytes: int) -> Spool:
    """The spool in ``directory``; one that cannot be used yet is tried again at every spill.
    Raises SpoolBusy when another agent holds it."""
    spool = Spool(directory, max_bytes=max_bytes)
    try:
        spool.open()
    except SpoolBusy:
        raise
    except OSError as exc:
        log.error("spool %s unusable: %s; lines stay in memory until it works", directory, exc)
    return spool


def make_sender(config):
    """One sender for the destinations in order (failover), or with ``mode: all`` (and for
    UDP) one per destination, each with its own spool under ``spool_dir/<host>_<port>``."""
    resend = config.resend_window
    if resend is None:
        # Two intervals, and long enough to cover a write that stalls until write_timeout.
        resend = max(2 * config.interval, 2 * config.write_timeout)
    udp = config.protocol == "udp"

    def one(destinations: list, spool_dir) -> Sender:
        backoff = {"backoff_min": config.backoff_min, "backoff_max": config.backoff_max}
        if udp:
            transport = UdpTransport(destinations, write_timeout=config.write_timeout, **backoff)
        else:
            transport = TcpTransport(destinations, connect_timeout=config.connect_timeout,
                                     write_timeout=config.write_timeout,
                                     reconnect_interval=config.reconnect_interval, **backoff)
        spool = open_spool(spool_dir, config.spool_max_bytes) if spool_dir else None
        buffer = Buffer(config.buffer_lines, spool=spool, resend_seconds=0 if udp else resend)
        return Sender(transport, buffer, name=str(destinations[0]))

    destinations = list(config.carbon)
    if len(destinations) > 1 and (udp or config.mode == "all"):
        return Fanout([
            one([d], os.path.join(config.spool_dir, sanitize(f"{d.host}_{d.port}")) if config.spool_dir else None)
            for d in destinations
        ])
    return one(destinations, config.spool_dir)
