"""What is known of each sensor beyond its readings: the names a user reads, its unit, how
often it reports, and where its readings arrive.

The parser fills the directory as it learns (a discovery config, a device's telemetry);
the charts and the topic tree read it on their frame clock when `revision` has moved. A
sensor is one `(sensor_id, quantity)` whichever path its readings take.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """One sensor's quantity as the user should see it."""

    sensor_id: str
    """The one identity of the sensor, the same whichever path its readings take."""
    quantity: str
    name: str
    """The friendly name for legends ("Rim temperature"); the raw id goes in tooltips."""
    device: str | None = None
    """The friendly name of the device it belongs to, if known."""
    unit: str | None = None
    expire_after_s: float | None = None
    """After this long without a reading it is stale (discovery's `expire_after`); None
    when the sensor did not say, and its own cadence decides."""
    topic: str | None = None
    """The MQTT topic its readings arrive on."""


class SensorDirectory:
    """Every known sensor's `SensorInfo`, by `(sensor_id, quantity)`."""

    def __init__(self) -> None:
        self._sensors: dict[tuple[str, str], SensorInfo] = {}
        self.revision = 0
        """Changes whenever an entry is added, changed or removed."""

    def get(self, sensor_id: str, quantity: str) -> SensorInfo | None:
        """What is known of `sensor_id`'s `quantity`, if anything."""
        return self._sensors.get((sensor_id, quantity))

    def learn(self, info: SensorInfo) -> None:
        """Add or replace an entry (nothing changes, not even the revision, if it is equal)."""
        key = (info.sensor_id, info.quantity)
        if self._sensors.get(key) != info:
            self._sensors[key] = info
            self.revision += 1

    def forget(self, sensor_id: str, quantity: str) -> None:
        """Remove an entry (a discovery config was withdrawn)."""
        if self._sensors.pop((sensor_id, quantity), None) is not None:
            self.revision += 1

    def __iter__(self) -> Iterator[SensorInfo]:
        return iter(self._sensors.values())

    def __len__(self) -> int:
        return len(self._sensors)
