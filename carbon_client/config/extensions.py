"""What a user adds and chooses: filters, exec collectors, probes (their YAML records).

```yaml
intervals: {fs: 1m, nfsmount: 30s}        # per collector; multiples of interval
exclude: ["net.veth*", "disk.*.discard*"]  # globs on the path below the host
include: []                                # when set, only matching paths are sent
filters: {disk: {exclude: ["*.sr0.*"]}}    # the same, for one group's lines
exec:
  - name: myjob                            # lines go to host.myjob.<their path>
    command: ["/usr/local/bin/queue-stats", "--all"]
    interval: 30s                          # optional; timeout optional too
probes:
  - name: web                              # host.probe.web.{up,status,response_ms}
    http: https://intranet.example/health
  - name: db                               # host.probe.db.{up,connect_ms}
    tcp: db.example:5432
  - name: site_cert                        # host.probe.site_cert.{up,cert_days_left}
    tls: intranet.example:443
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

from carbon_client.config.destinations import Destination, parse_destination
from carbon_client.config.errors import ConfigError, quote
from carbon_client.config.schema import record, setting
from carbon_client.config.values import boolean, duration, each, name, number, optional, string, text

_COMPONENT = re.compile(r"[A-Za-z0-9_-]{1,64}")


def component(v: Any, key: str) -> str:
    """A name that is one path level as it is written: letters, digits, _ and -."""
    s = name(v, key)
    if not _COMPONENT.fullmatch(s):
        raise ConfigError(key, f"{quote(s)}: use 1 to 64 letters, digits, _ or - (it is a path component)")
    return s


glob = string(max_len=255, spaces=False)
"""A glob on a path below the host (``net.veth*``)."""


def _url(v: Any, key: str) -> str:
    s = text(v, key)
    parts = urlsplit(s)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"{quote(s)}: expected an http:// or https:// URL")
    return s


def _address(v: Any, key: str) -> Destination:
    s = text(v, key)
    if not s.rpartition("]")[2].count(":") and not s.count(":") == 1:
        raise ConfigError(key, f"{quote(s)}: expected HOST:PORT (the port is required)")
    try:
        return parse_destination(s)
    except ValueError as exc:
        raise ConfigError(key, f"{exc} (expected HOST:PORT)") from None


def _statuses(v: Any, key: str) -> tuple[int, ...]:
    return each(number(100, 599, integer=True), at_least=1)([v] if not isinstance(v, (list, tuple)) else v, key)


@dataclass(frozen=True)
class Filter:
    include: tuple[str, ...] = setting((), each(glob))
    exclude: tuple[str, ...] = setting((), each(glob))


@dataclass(frozen=True)
class ExecSpec:
    name: str = setting(check=component)
    command: tuple[str, ...] = setting(check=each(text, at_least=1))
    interval: Optional[int] = setting(None, optional(duration(1, 86400, whole=True)))
    timeout: Optional[float] = setting(None, optional(duration(0.1, 3600)))


@dataclass(frozen=True)
class ProbeSpec:
    name: str = setting(check=component)
    http: Optional[str] = setting(None, optional(_url))
    tcp: Optional[Destination] = setting(None, optional(_address))
    tls: Optional[Destination] = setting(None, optional(_address))
    interval: Optional[int] = setting(None, optional(duration(1, 86400, whole=True)))
    timeout: float = setting(5.0, duration(0.1, 600))
    expect_status: Optional[tuple[int, ...]] = setting(None, optional(_statuses))
    expect_body: Optional[str] = setting(None, optional(text))
    verify: bool = setting(True, boolean)

    @property
    def kind(self) -> str:
        return "http" if self.http else "tcp" if self.tcp else "tls"


def _one_target(p: ProbeSpec, key: str) -> None:
    given = [k for k in ("http", "tcp", "tls") if getattr(p, k) is not None]
    if len(given) != 1:
        raise ConfigError(key, f"a probe has exactly one of http, tcp, tls (got {', '.join(given) or 'none'})")
    if p.kind != "http" and (p.expect_status is not None or p.expect_body is not None):
        raise ConfigError(key, "expect_status and expect_body are for http probes")


filter_record = record(Filter)
exec_record = record(ExecSpec)
probe_record = record(ProbeSpec, _one_target)
