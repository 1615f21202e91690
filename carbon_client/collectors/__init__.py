"""The collectors: the built-in registry (name -> class, in the order groups are
sent) and the list an agent runs."""

from __future__ import annotations

from carbon_client import plugins
from carbon_client.collectors.basic import Cpu, Load, Memory, Paging, Swap, System
from carbon_client.collectors.cgroup import Cgroup
from carbon_client.collectors.devices import Disk, Net
from carbon_client.collectors.fs import Filesystems
from carbon_client.collectors.kernel import Kernel, Processes
from carbon_client.collectors.netstack import Conntrack, Sockstat, Softnet
from carbon_client.collectors.netstat import Netstat
from carbon_client.collectors.nfs import Nfs, Nfsd
from carbon_client.collectors.nfsmount import NfsMounts
from carbon_client.collectors.process import Process
from carbon_client.collectors.pressure import Pressure
from carbon_client.collectors.writeboost import Writeboost
from carbon_client.metrics import Collector

REGISTRY: dict[str, type[Collector]] = {
    c.name: c for c in (Load, Cpu, System, Memory, Swap, Paging, Disk, Net, Filesystems, Nfs, Nfsd, Writeboost,
                        NfsMounts, Process, Cgroup, Pressure, Netstat, Sockstat, Softnet,
                        Conntrack, Kernel, Processes)
}


def plugin_names() -> list[str]:
    """The names of the collectors other packages install (entry points, not loaded)."""
    return [ep.name for ep in plugins.entry_points()]


def make_collectors(source, config) -> list[Collector]:
    """The collectors ``config`` asks for: the built-in ones and plugins it names
    (``collectors``; default: every one), then its exec collectors and probes."""
    wanted = config.collectors
    out = [REGISTRY[n](source, config) for n in (wanted or REGISTRY) if n in REGISTRY]
    taken = set(REGISTRY) | {c.group for c in REGISTRY.values()} | {"agent", "carbon_client", "probe"}
    out += [p for p in plugins.load(source, config, taken) if wanted is None or p.name in wanted]
    # Imported only when configured: the probes bring ssl and http.client, 6 MB of RSS.
    if config.exec:
        from carbon_client.collectors.exec import Exec

        out += [Exec(source, config, spec) for spec in config.exec]
    if config.probes:
        from carbon_client.collectors.probes import Probe

        out += [Probe(source, config, spec) for spec in config.probes]
    return out


__all__ = ["REGISTRY", "make_collectors"]
