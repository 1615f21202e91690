"""Thermal zones (/sys/class/thermal/thermal_zoneN): temperature and trip count."""

from __future__ import annotations

from carbon_client.metrics import Collector, Unavailable, counter, gauge


class Thermal(Collector):
    name = group = "thermal"
    description = "Thermal zone temperatures (/sys/class/thermal), one instance per zone type."
    instances = "the zone's type (x86_pkg_temp, acpitz...), or thermal_zoneN"
    fields = ("temp_mc", "polls")
    counters = frozenset(("polls",))
    metrics = (
        gauge("temp_c", "C", "temperature", field="temp_mc", scale=0.001),
        counter("polls", "1/s", "reads of the zone by this collector"),
    )

    def __init__(self, source, options=None) -> None:
        super().__init__(source, options)
        self._polls = 0

    def probe(self) -> None:
        if not self.source.sys_listdir("class/thermal"):
            raise Unavailable(f"{self.source.sys_path('class/thermal')} has no thermal zone")

    def read(self):
        self._polls += 1
        out = {}
        for zone in sorted(self.source.sys_listdir("class/thermal") or ()):
            if not zone.startswith("thermal_zone"):
                continue
            temp = self.source.read_sys(f"class/thermal/{zone}/temp")
            if temp is None or not temp.lstrip("-").isdigit():
                continue  # a zone that vanished or cannot be read
            name = self.source.read_sys(f"class/thermal/{zone}/type") or zone
            out[name] = (int(temp), self._polls)
        return out
