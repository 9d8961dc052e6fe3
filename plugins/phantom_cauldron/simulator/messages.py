"""The simulated devices' MQTT messages, as Tasmota with Home Assistant discovery sends
them: retained discovery configs and availability, and periodic `SENSOR` telemetry."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from phantom_cauldron.simulator.model import Sample
from phantom_cauldron.simulator.sensors import DEVICE_MODELS, SensorSpec

DISCOVERY_PREFIX = "homeassistant"
ONLINE = "Online"
OFFLINE = "Offline"
MANUFACTURER = "Phantom (simulated)"
UNIT_KEYS = {"temperature": ("TempUnit", "C"), "pressure": ("PressureUnit", "hPa")}
"""The unit members Tasmota adds next to temperatures and pressures."""


@dataclass(frozen=True, slots=True)
class Publication:
    """One message to publish."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 0


def telemetry_topic(device: str) -> str:
    """Where a device publishes its readings."""
    return f"tele/{device}/SENSOR"


def availability_topic(device: str) -> str:
    """Where a device says `Online`, and its broker says `Offline` when it is gone."""
    return f"tele/{device}/LWT"


def devices(sensors: Sequence[SensorSpec]) -> list[str]:
    """The devices of `sensors`, in order of first appearance."""
    return list(dict.fromkeys(sensor.device for sensor in sensors))


def availability(device: str, online: bool) -> Publication:
    """A device's retained availability."""
    return Publication(
        availability_topic(device), (ONLINE if online else OFFLINE).encode(), True, 1
    )


def discovery(sensors: Iterable[SensorSpec], prefix: str = DISCOVERY_PREFIX) -> list[Publication]:
    """A retained Home Assistant discovery config for each sensor."""
    return [
        Publication(
            f"{prefix}/sensor/{sensor.device}/{sensor.object_id}/config",
            json.dumps(_config(sensor), ensure_ascii=False).encode(),
            retain=True,
            qos=1,
        )
        for sensor in sensors
    ]


def _config(sensor: SensorSpec) -> dict[str, object]:
    config: dict[str, object] = {
        "name": sensor.name,
        "unique_id": sensor.unique_id,
        "state_topic": telemetry_topic(sensor.device),
        "value_template": f"{{{{ value_json{_member(sensor.sensor)}{_member(sensor.field)} }}}}",
        "state_class": "measurement",
        "availability_topic": availability_topic(sensor.device),
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "device": {
            "identifiers": [sensor.device],
            "name": sensor.device,
            "model": DEVICE_MODELS.get(sensor.device, "Tasmota"),
            "manufacturer": MANUFACTURER,
        },
    }
    if sensor.unit is not None:
        config["unit_of_measurement"] = sensor.unit
    if sensor.device_class is not None:
        config["device_class"] = sensor.device_class
    return config


def _member(name: str) -> str:
    """Jinja's access to member `name`: `.name`, or `['name']` where that is no identifier."""
    return f".{name}" if name.isidentifier() else f"['{name}']"


def telemetry(sensors: Sequence[SensorSpec], sample: Sample, time: float) -> list[Publication]:
    """Each device's Tasmota `SENSOR` message for `sample`, read at `time` (UTC); a
    sensor with no reading is left out, and a device with none sends nothing."""
    stamp = datetime.fromtimestamp(time, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    readings: dict[str, dict[str, dict[str, float]]] = {device: {} for device in devices(sensors)}
    units: dict[str, dict[str, str]] = {device: {} for device in readings}
    for sensor in sensors:
        value = sample.get(sensor.unique_id)
        if value is None:
            continue
        readings[sensor.device].setdefault(sensor.sensor, {})[sensor.field] = value
        unit = UNIT_KEYS.get(sensor.device_class or "")
        if unit is not None:
            units[sensor.device][unit[0]] = unit[1]
    return [
        Publication(
            telemetry_topic(device),
            json.dumps({"Time": stamp, **members, **units[device]}).encode(),
        )
        for device, members in readings.items()
        if members
    ]
