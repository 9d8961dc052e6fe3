"""What is known of each sensor beyond its readings: the names a user reads, its unit, how
often it reports, where its readings arrive, and whether its device is online.

The parser fills the directory as it learns (a discovery config, a device's telemetry, an
availability message); the charts and the topic tree read it on their frame clock when
`revision` has moved. A sensor is one `(sensor_id, quantity)` whichever path its
readings take: discovery names a sensor, it never gives it a second identity.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

SENSOR_LIMIT = 10_000
"""Sensors kept; further ones are read but not named (a flood of made-up topics stays bounded)."""
DEVICE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """One sensor's quantity as the user should see it."""

    sensor_id: str
    """The one identity of the sensor, the same whichever path its readings take."""
    quantity: str
    name: str
    """The sensor's own name ("Rim temperature", "DS18B20-1 temperature"); the raw id goes
    in tooltips."""
    device: str | None = None
    """The friendly name of the device it belongs to, if known."""
    unit: str | None = None
    expire_after_s: float | None = None
    """After this long without a reading it is stale (discovery's `expire_after`); None
    when the sensor did not say, and its own cadence decides."""
    topic: str | None = None
    """The MQTT topic its readings arrive on."""
    device_id: str | None = None
    """The device as its topics name it (its readings' `location`): the key of its
    `DeviceState`."""

    @property
    def label(self) -> str:
        """What a legend shows: the device's name before the sensor's, as Home Assistant
        composes a friendly name, without saying the device twice."""
        device = self.device
        if not device or self.name.casefold().startswith(device.casefold()):
            return self.name
        return f"{device} {self.name}"


@dataclass(frozen=True, slots=True)
class DeviceState:
    """Whether a device is online, as its last availability message said."""

    device_id: str
    online: bool
    topic: str
    """The availability topic that said so (`tele/<device>/LWT`, `<node>/status`, ...)."""

    @property
    def node(self) -> str:
        """The topic tree node that stands for the device: the availability topic's parent."""
        return self.topic.rpartition("/")[0] or self.topic


class SensorDirectory:
    """Every known sensor's `SensorInfo`, by `(sensor_id, quantity)`, and every device's
    online state, by device id."""

    def __init__(self) -> None:
        self._sensors: dict[tuple[str, str], SensorInfo] = {}
        self._devices: dict[str, DeviceState] = {}
        self.revision = 0
        """Changes whenever a sensor or a device state is added, changed or removed."""

    def get(self, sensor_id: str, quantity: str) -> SensorInfo | None:
        """What is known of `sensor_id`'s `quantity`, if anything."""
        return self._sensors.get((sensor_id, quantity))

    @property
    def entries(self) -> Mapping[tuple[str, str], SensorInfo]:
        """Every entry by `(sensor_id, quantity)`, read-only (for lookups on a hot path)."""
        return self._sensors

    def learn(self, info: SensorInfo) -> None:
        """Add or replace an entry (nothing changes, not even the revision, if it is equal;
        a new sensor beyond `SENSOR_LIMIT` is not kept)."""
        key = (info.sensor_id, info.quantity)
        known = self._sensors.get(key)
        if known == info or (known is None and len(self._sensors) >= SENSOR_LIMIT):
            return
        self._sensors[key] = info
        self.revision += 1

    def forget(self, sensor_id: str, quantity: str) -> None:
        """Remove an entry (a discovery config was withdrawn)."""
        if self._sensors.pop((sensor_id, quantity), None) is not None:
            self.revision += 1

    def device(self, device_id: str) -> DeviceState | None:
        """Whether `device_id` is online, if it has said."""
        return self._devices.get(device_id)

    def devices(self) -> list[DeviceState]:
        """Every device that has said whether it is online, in the order they first did."""
        return list(self._devices.values())

    def set_online(self, device_id: str, online: bool, topic: str) -> None:
        """Note what an availability message on `topic` said of `device_id`."""
        state = DeviceState(device_id, online, topic)
        known = self._devices.get(device_id)
        if known == state or (known is None and len(self._devices) >= DEVICE_LIMIT):
            return
        self._devices[device_id] = state
        self.revision += 1

    def __iter__(self) -> Iterator[SensorInfo]:
        return iter(self._sensors.values())

    def __len__(self) -> int:
        return len(self._sensors)
