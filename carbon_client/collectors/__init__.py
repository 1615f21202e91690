"""The collector registry: name -> class, in the order groups are sent."""

from __future__ import annotations

from carbon_client.collectors.basic import Cpu, Load, Memory, Paging, Swap, System
from carbon_client.collectors.devices import Disk, Net
from carbon_client.collectors.fs import Filesystems
from carbon_client.collectors.nfs import Nfs, Nfsd
from carbon_client.collectors.nfsmount import NfsMounts
from carbon_client.collectors.writeboost import Writeboost
from carbon_client.metrics import Collector

REGISTRY: dict[str, type[Collector]] = {
    c.name: c for c in (Load, Cpu, System, Memory, Swap, Paging, Disk, Net, Filesystems, Nfs, Nfsd, Writeboost,
                   NfsMounts)
}

__all__ = ["REGISTRY"]
