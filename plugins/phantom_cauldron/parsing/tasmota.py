"""Tasmota: `tele/<device>/SENSOR` (or `<device>/tele/SENSOR`) JSON, one object per sensor
next to the time and the units in use::

    {"Time": "2024-01-05T10:00:00", "BME280": {"Temperature": 21.4, "Humidity": 45.2,
     "DewPoint": 9.1, "Pressure": 1013.2}, "DS18B20-1": {"Id": "01144A0CB5AA",
     "Temperature": 19.8}, "TempUnit": "C", "PressureUnit": "hPa"}

Each number in a sensor object is a reading of `<device>/<sensor>` located at `<device>`,
in the unit `FIELDS` gives it (temperatures in `TempUnit`, pressures in `PressureUnit`,
speeds in `SpeedUnit`). BLE sensors bridged by an ESP32 (`MI32`) are sensor objects like
any other (`"ATC226754": {"mac": ..., "Temperature": 23.3, "Battery": 78, "RSSI": -52}`),
also on `tele/tasmota_ble/<name>` when `MI32Option6` asks for a topic per sensor. A
bridge's object (`ZbReceived` of Zigbee2Tasmota, `LwReceived` of LoRaWAN) nests one
object per bridged device: `<device>/<bridged device>`, only the members its table lists.
`stat/<device>/STATUS8` and `STATUS10` carry the same objects under `StatusSNS`;
`tele/<device>/LWT` says whether the device is online. Its other topics carry no
measurements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from phantom_cauldron.parsing import units
from phantom_cauldron.parsing.availability import Availability
from phantom_cauldron.parsing.handling import Context, Handler, Path, Reason, Refused, ignore
from phantom_cauldron.parsing.members import Fields, read_members, readings_or_refusal
from phantom_cauldron.parsing.native import Identity, JsonNative, Native
from phantom_cauldron.parsing.quantities import canonical
from phantom_cauldron.readings import SensorReading

TEMPERATURE_UNITS = {"C": units.CELSIUS, "F": units.FAHRENHEIT, "K": units.KELVIN}
FIELDS: dict[str, tuple[str, str | None]] = {
    "Humidity": ("humidity", units.PERCENT),
    "Illuminance": ("illuminance", units.LUX),
    "Moisture": ("moisture", units.PERCENT),
    "Fertility": ("fertility", "µS/cm"),
    "CarbonDioxide": ("co2", units.PPM),
    "eCO2": ("co2", units.PPM),
    "TVOC": ("voc", units.PPB),
    "Gas": ("gas_resistance", "kΩ"),
    "PM1": ("pm1", units.MICROGRAMS_PER_M3),
    "PM2.5": ("pm25", units.MICROGRAMS_PER_M3),
    "PM10": ("pm10", units.MICROGRAMS_PER_M3),
    "Distance": ("distance", "cm"),
    "Battery": ("battery", units.PERCENT),
    "RSSI": ("signal_strength", units.DBM),
    "Power": ("power", units.WATT),
    "Voltage": ("voltage", units.VOLT),
    "Current": ("current", units.AMPERE),
}
"""Member name → (quantity, unit), as Tasmota's sensor drivers report them."""
TEMPERATURES = {
    "Temperature": "temperature",
    "DewPoint": "dew_point",
    "ReferenceTemperature": "reference_temperature",
    "OBJTMP": "object_temperature",
    "AMBTMP": "ambient_temperature",
}
PRESSURES = {"Pressure": "pressure", "SeaPressure": "sea_pressure"}
SPEEDS = {"Speed": "speed"}
SENSOR_FIELDS: dict[str, Fields] = {
    "ENERGY": {
        "Total": ("energy_total", units.KILOWATT_HOUR),
        "Today": ("energy_today", units.KILOWATT_HOUR),
        "Yesterday": ("energy_yesterday", units.KILOWATT_HOUR),
        "Period": ("energy_period", units.WATT_HOUR),
        "ApparentPower": ("apparent_power", units.VOLT_AMPERE),
        "ReactivePower": ("reactive_power", units.VAR),
        "Factor": ("power_factor", None),
        "Frequency": ("frequency", units.HERTZ),
    },
    "RG-15": {
        "Active": ("rain_active", "mm"),
        "Event": ("rain_event", "mm"),
        "Total": ("rain_total", "mm"),
        "FlowRate": ("rain_rate", "mm/h"),
    },
    "VL53L0X": {"Distance": ("distance", "mm")},
    "VL53L1X": {"Distance": ("distance", "mm")},
}
"""Sensors with members of their own: the energy monitor's counters, the rain gauge's
millimetres, the time-of-flight sensors' distance in mm."""
NOT_MEASURED = frozenset({"Btn", "Error", "Endpoint", "Group"})
"""Numbers that count or label rather than measure: a button, an error code, a route."""
BRIDGES: dict[str, Fields] = {
    "ZbReceived": {
        "Temperature": ("temperature", units.CELSIUS),
        "Humidity": ("humidity", units.PERCENT),
        "Pressure": ("pressure", units.HECTOPASCAL),
        "SeaPressure": ("sea_pressure", units.HECTOPASCAL),
        "Illuminance": ("illuminance", units.LUX),
        "BatteryVoltage": ("battery_voltage", units.VOLT),
        "BatteryPercentage": ("battery", units.PERCENT),
        "LinkQuality": ("linkquality", units.LQI),
        "ActivePower": ("power", units.WATT),
        "RMSVoltage": ("voltage", units.VOLT),
    },
    "LwReceived": {"RSSI": ("signal_strength", units.DBM), "SNR": ("snr", "dB")},
}
"""Bridges whose object nests one object per bridged device, and what is read of each."""
SPECIAL = frozenset(BRIDGES) | frozenset(SENSOR_FIELDS)
STATUS_WRAPPER = "StatusSNS"
STATUS_TOPICS = frozenset({"STATUS8", "STATUS10"})
BLE_TOPIC = "tasmota_ble"
TABLES_KEPT = 64
_TABLES: dict[tuple[object, object, object], Fields] = {}
"""The tables of the unit combinations seen, by the payload's own unit members."""
"""The topic under `tele/` of `MI32Option6`'s one message per BLE sensor."""


@dataclass(frozen=True, slots=True)
class TasmotaSensors(JsonNative):
    """The handler of one device's SENSOR topic (or STATUS answer, under `wrapper`)."""

    device: str
    wrapper: str | None = None
    claimed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Sensor (or bridged device) → members a discovery config reads instead."""

    def read(self, document: object, now: float) -> list[SensorReading]:
        """The readings of every sensor object in a decoded payload."""
        if self.wrapper is not None and isinstance(document, dict):
            document = document.get(self.wrapper)
        if not isinstance(document, dict):
            raise Refused(Reason.UNEXPECTED_JSON)
        announced = (
            document.get("TempUnit"),
            document.get("PressureUnit"),
            document.get("SpeedUnit"),
        )
        try:
            fields = _TABLES[announced]
        except (KeyError, TypeError):
            fields = _table_for(announced)
        device = self.device
        claimed = self.claimed
        readings: list[SensorReading] = []
        refusal = None
        for name, members in document.items():
            if not isinstance(members, dict):
                continue
            table = fields
            if name in SPECIAL:
                bridged = BRIDGES.get(name)
                if bridged is not None:
                    self._read_bridged(members, bridged, now, readings)
                    continue
                table = _table_for(announced, name)
            ignored = claimed.get(name, NOT_MEASURED) if claimed else NOT_MEASURED
            refused = read_members(
                members, table, ignored, f"{device}/{name}", device, now, readings
            )
            refusal = refusal or refused
        return readings_or_refusal(readings, refusal)

    def _read_bridged(
        self, devices: dict[str, object], fields: Fields, now: float, into: list[SensorReading]
    ) -> None:
        """The listed members of each bridged device's object, as readings of the device."""
        for child, values in devices.items():
            if isinstance(values, dict):
                ignored = self.claimed.get(child, NOT_MEASURED)
                sensor_id = f"{self.device}/{child}"
                read_members(
                    values, fields, ignored, sensor_id, self.device, now, into, listed_only=True
                )

    def identity(self, path: Path) -> Identity | None:
        steps = self._unwrapped(path)
        if steps is None:
            return None
        sensor, member, bridged = steps
        fields = bridged or _fields_in(
            None, None, None, sensor if sensor in SENSOR_FIELDS else None
        )
        listed = fields.get(member)
        quantity, unit = listed if listed is not None else (canonical(member), None)
        return Identity(f"{self.device}/{sensor}", quantity, unit, self.device, listed is not None)

    def leaving(self, claimed: frozenset[Path]) -> Native | None:
        merged = {sensor: set(members) for sensor, members in self.claimed.items()}
        for path in claimed:
            steps = self._unwrapped(path)
            if steps is not None:
                merged.setdefault(steps[0], set(NOT_MEASURED)).add(steps[1])
        return replace(self, claimed={key: frozenset(value) for key, value in merged.items()})

    def _unwrapped(self, path: Path) -> tuple[str, str, Fields | None] | None:
        """(sensor or bridged device, member, the bridge's table) of a path into this
        topic's payloads."""
        if self.wrapper is not None:
            if path[:1] != (self.wrapper,):
                return None
            path = path[1:]
        if len(path) == 2:
            return path[0], path[1], None
        if len(path) == 3 and path[0] in BRIDGES:
            return path[1], path[2], BRIDGES[path[0]]
        return None


def route(levels: Sequence[str], context: Context) -> Handler | None:
    """The handler for a Tasmota topic, None for other topics."""
    if len(levels) < 3:
        return None
    head, last = levels[:-1], levels[-1]
    if "tele" in head:
        device = "/".join(level for level in head if level != "tele")
        if last == "SENSOR":
            return TasmotaSensors(device)
        if last == "LWT":
            return Availability(device, "/".join(levels), context.sensors)
        if len(levels) == 3 and levels[0] == "tele" and levels[1] == BLE_TOPIC:
            return TasmotaSensors(BLE_TOPIC)
        return ignore if last.isupper() else None
    if "stat" in head and last.isupper():
        device = "/".join(level for level in head if level != "stat")
        return TasmotaSensors(device, STATUS_WRAPPER) if last in STATUS_TOPICS else ignore
    return ignore if "cmnd" in head else None


def _table_for(announced: tuple[object, object, object], sensor: str | None = None) -> Fields:
    """The field table for the units a payload announced (`TempUnit`, `PressureUnit`,
    `SpeedUnit`; what is not text is no unit), and a sensor's own members."""
    temperature, pressure, speed = (unit if isinstance(unit, str) else None for unit in announced)
    fields = _fields_in(temperature, pressure, speed, sensor if sensor in SENSOR_FIELDS else None)
    if sensor is None and len(_TABLES) < TABLES_KEPT:
        _TABLES[temperature, pressure, speed] = fields
    return fields


@lru_cache(maxsize=TABLES_KEPT)
def _fields_in(
    temperature_unit: str | None,
    pressure_unit: str | None,
    speed_unit: str | None,
    sensor: str | None,
) -> Fields:
    temperature = TEMPERATURE_UNITS.get(temperature_unit or "")
    fields = dict(FIELDS)
    fields.update((name, (quantity, temperature)) for name, quantity in TEMPERATURES.items())
    fields.update((name, (quantity, pressure_unit)) for name, quantity in PRESSURES.items())
    fields.update((name, (quantity, speed_unit)) for name, quantity in SPEEDS.items())
    fields.update(SENSOR_FIELDS.get(sensor or "", {}))
    return fields
