"""Tasmota telemetry: `tele/<device>/SENSOR` (or `<device>/tele/SENSOR`) JSON.

One object per attached sensor, next to the time and the units in use::

    {"Time": "2024-01-05T10:00:00", "BME280": {"Temperature": 21.4, "Humidity": 45.2,
     "DewPoint": 9.1, "Pressure": 1013.2}, "DS18B20-1": {"Id": "01144A0CB5AA",
     "Temperature": 19.8}, "TempUnit": "C", "PressureUnit": "hPa"}

Each number in a sensor object is a reading of `<device>/<sensor>` located at `<device>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache, partial

from phantom_cauldron.parsing.handling import Handler, Reason, Refused
from phantom_cauldron.parsing.members import Fields, read_members, readings_or_refusal
from phantom_cauldron.parsing.values import json_from_payload
from phantom_cauldron.readings import SensorReading

TEMPERATURE_UNITS = {"C": "°C", "F": "°F", "K": "K"}
_FIELDS: dict[str, tuple[str, str | None]] = {
    "Humidity": ("humidity", "%"),
    "Illuminance": ("illuminance", "lx"),
    "CarbonDioxide": ("co2", "ppm"),
    "eCO2": ("co2", "ppm"),
    "TVOC": ("voc", "ppb"),
    "Gas": ("gas_resistance", "kΩ"),
    "Distance": ("distance", "cm"),
    "Power": ("power", "W"),
    "ApparentPower": ("apparent_power", "VA"),
    "ReactivePower": ("reactive_power", "var"),
    "Factor": ("power_factor", None),
    "Voltage": ("voltage", "V"),
    "Current": ("current", "A"),
    "Frequency": ("frequency", "Hz"),
    "Total": ("energy_total", "kWh"),
    "Today": ("energy_today", "kWh"),
    "Yesterday": ("energy_yesterday", "kWh"),
}
_TEMPERATURES = {"Temperature": "temperature", "DewPoint": "dew_point"}
_PRESSURES = {"Pressure": "pressure", "SeaPressure": "sea_pressure"}


def route(levels: Sequence[str]) -> Handler | None:
    """The handler for a Tasmota SENSOR topic, None for other topics."""
    if len(levels) < 3 or levels[-1] != "SENSOR" or "tele" not in levels[:-1]:
        return None
    device = "/".join(level for level in levels[:-1] if level != "tele")
    return partial(read_sensors, device)


def read_sensors(device: str, payload: bytes, now: float) -> list[SensorReading]:
    """The readings of every sensor object in a SENSOR payload."""
    document = json_from_payload(payload)
    if not isinstance(document, dict):
        raise Refused(Reason.UNEXPECTED_JSON)
    temperature_unit = document.get("TempUnit")
    pressure_unit = document.get("PressureUnit")
    fields = _fields_in(
        temperature_unit if isinstance(temperature_unit, str) else None,
        pressure_unit if isinstance(pressure_unit, str) else None,
    )
    readings: list[SensorReading] = []
    refusal = None
    for name, members in document.items():
        if isinstance(members, dict):
            refused = read_members(members, fields, f"{device}/{name}", device, now, readings)
            refusal = refusal or refused
    return readings_or_refusal(readings, refusal)


@lru_cache(maxsize=16)
def _fields_in(temperature_unit: str | None, pressure_unit: str | None) -> Fields:
    """The field table for the units a payload announced."""
    temperature = TEMPERATURE_UNITS.get(temperature_unit or "")
    fields = dict(_FIELDS)
    fields.update((name, (quantity, temperature)) for name, quantity in _TEMPERATURES.items())
    fields.update((name, (quantity, pressure_unit)) for name, quantity in _PRESSURES.items())
    return fields
