"""What the sensor directory says of a sensor: from its discovery config, or else a
readable default made from its identity ("DS18B20-1 temperature" on device "brewery")."""

from __future__ import annotations

from phantom_cauldron.directory import SensorInfo
from phantom_cauldron.parsing.homeassistant import DiscoveredSensor
from phantom_cauldron.readings import SensorReading


def announced(sensor: DiscoveredSensor) -> SensorInfo:
    """A discovered sensor as its config names it; a config without a name is named by
    its quantity, as Home Assistant names it by its device class ("Temperature", shown
    after the device's name)."""
    name = sensor.name or sensor.quantity.replace("_", " ").capitalize()
    return SensorInfo(
        sensor.sensor_id,
        sensor.quantity,
        name,
        sensor.device_name or sensor.location,
        sensor.unit,
        sensor.expire_after_s,
        sensor.state_topic,
        sensor.location,
    )


def native(reading: SensorReading, topic: str) -> SensorInfo:
    """A sensor known only from its telemetry: named after its key and quantity."""
    return SensorInfo(
        reading.sensor_id,
        reading.type,
        _default_name(reading.sensor_id, reading.type, reading.location),
        reading.location,
        reading.unit,
        None,
        topic,
        reading.location,
    )


def _default_name(sensor_id: str, quantity: str, device: str | None) -> str:
    """The sensor's key within its device, then its quantity unless the key says it
    (`brewery/DS18B20-1` → "DS18B20-1 temperature", `greenhouse/soil_humidity` → "soil
    humidity"); a sensor that is its device is named after both."""
    key = sensor_id
    if device and sensor_id.startswith(device + "/"):
        key = sensor_id[len(device) + 1 :]
    words = key.replace("_", " ").replace("/", " ")
    quantity_words = quantity.replace("_", " ")
    if quantity_words in words.lower():
        return words
    return f"{words} {quantity_words}"
