"""The collector registry: name -> class, in the order groups are sent."""

from __future__ import annotations

from carbon_client.collectors.basic import Cpu, Load, Memory, Paging, Swap, System
from carbon_client.collectors.devices import Disk, Net
from carbon_client.collectors.fs import Filesystems
from carbon_client.collectors.kernel import Kernel, Processes
from carbon_client.collectors.netstack import Conntrack, Sockstat, Softnet
from carbon_client.collectors.netstat import Netstat
from carbon_client.collectors.nfs import Nfs, Nfsd
from carbon_client.collectors.pressure import Pressure
from carbon_client.collectors.writeboost import Writeboost
from carbon_client.metrics import Collector

REGISTRY: dict[str, type[Collector]] = {
    c.name: c for c in (Load, Cpu, System, Memory, Swap, Paging, Disk, Net, Filesystems, Nfs, Nfsd, Writeboost,
                        Pressure, Netstat, Sockstat, Softnet, Conntrack, Kernel, Processes)
}

__all__ = ["REGISTRY"]
