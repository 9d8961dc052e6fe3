"""Zigbee2MQTT device state: `zigbee2mqtt/<friendly name>` JSON.

    {"battery": 97, "humidity": 48.6, "linkquality": 134, "pressure": 1008.3,
     "temperature": 22.71, "voltage": 2995, "update": {"state": "idle"}}

Each number is a reading of the device (sensor id and location: its friendly name);
other members (states, nested objects) are skipped. Bridge topics and the `set`/`get`
command topics carry no measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from phantom_cauldron.parsing.handling import Handler, Reason, Refused, ignore
from phantom_cauldron.parsing.members import Fields, read_members, readings_or_refusal
from phantom_cauldron.parsing.values import json_from_payload
from phantom_cauldron.readings import SensorReading

BASE_TOPIC = "zigbee2mqtt"
COMMAND_LEVELS = frozenset({"set", "get"})
FIELDS: Fields = {
    "temperature": ("temperature", "°C"),
    "device_temperature": ("device_temperature", "°C"),
    "local_temperature": ("local_temperature", "°C"),
    "humidity": ("humidity", "%"),
    "soil_moisture": ("moisture", "%"),
    "pressure": ("pressure", "hPa"),
    "battery": ("battery", "%"),
    "linkquality": ("linkquality", "lqi"),
    "voltage": ("voltage", None),
    "illuminance": ("illuminance", "lx"),
    "illuminance_lux": ("illuminance", "lx"),
    "co2": ("co2", "ppm"),
    "voc": ("voc", "ppb"),
    "pm25": ("pm25", "µg/m³"),
    "power": ("power", "W"),
    "current": ("current", "A"),
    "energy": ("energy", "kWh"),
}
"""Zigbee2MQTT's own units; `voltage` is mV on battery devices and V on plugs, so it has none."""


def route(levels: Sequence[str]) -> Handler | None:
    """The handler for a Zigbee2MQTT topic, None for other topics."""
    if len(levels) < 2 or levels[0] != BASE_TOPIC:
        return None
    if levels[1] == "bridge" or levels[-1] in COMMAND_LEVELS:
        return ignore
    return partial(read_device, "/".join(levels[1:]))


def read_device(friendly_name: str, payload: bytes, now: float) -> list[SensorReading]:
    """The readings in one device state message."""
    document = json_from_payload(payload)
    if not isinstance(document, dict):
        raise Refused(Reason.UNEXPECTED_JSON)
    readings: list[SensorReading] = []
    refusal = read_members(document, FIELDS, friendly_name, friendly_name, now, readings)
    return readings_or_refusal(readings, refusal)
