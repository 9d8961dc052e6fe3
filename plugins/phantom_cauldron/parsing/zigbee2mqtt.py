"""Zigbee2MQTT device state: `zigbee2mqtt/<friendly name>` JSON.

    {"battery": 97, "humidity": 48.6, "linkquality": 134, "pressure": 1008.3,
     "temperature": 22.71, "voltage": 2995, "update": {"state": "idle"}}

Each number is a reading of the device (sensor id and location: its friendly name), in
the unit of Zigbee2MQTT's exposes (`FIELDS`); other members (states, nested objects,
`last_seen`) are skipped. `voltage` is the battery's, in mV, unless the device meters
mains power (a payload with `power`, `current` or `energy`: then it is in V). Where
`illuminance_lux` is present (Zigbee2MQTT before 2.0) it is the lux, and `illuminance`
(the raw value, or a copy) is skipped. `<name>/availability` (text or `{"state":
"online"}`) and `bridge/state` say whether a device and the bridge are online. With
`output: attribute`, each value also arrives on `<name>/<attribute>` as plain text: read
only while the device's JSON is not heard (then it is a copy). Other bridge topics and
the `set`/`get` command topics carry no measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from phantom_cauldron.parsing import units
from phantom_cauldron.parsing.availability import Availability
from phantom_cauldron.parsing.handling import Context, Handler, Path, Reason, Refused, ignore
from phantom_cauldron.parsing.members import Fields, read_members, readings_or_refusal
from phantom_cauldron.parsing.native import Identity, JsonNative, Native
from phantom_cauldron.parsing.quantities import canonical
from phantom_cauldron.parsing.values import json_from_payload, measure_listed, text_from_payload
from phantom_cauldron.readings import SensorReading

BASE_TOPIC = "zigbee2mqtt"
BRIDGE = "bridge"
COMMAND_LEVELS = frozenset({"set", "get"})
FIELDS: dict[str, tuple[str, str | None]] = {
    "temperature": ("temperature", units.CELSIUS),
    "device_temperature": ("device_temperature", units.CELSIUS),
    "local_temperature": ("local_temperature", units.CELSIUS),
    "cpu_temperature": ("cpu_temperature", units.CELSIUS),
    "occupied_heating_setpoint": ("heating_setpoint", units.CELSIUS),
    "current_heating_setpoint": ("heating_setpoint", units.CELSIUS),
    "humidity": ("humidity", units.PERCENT),
    "soil_moisture": ("moisture", units.PERCENT),
    "pressure": ("pressure", units.HECTOPASCAL),
    "battery": ("battery", units.PERCENT),
    "voltage": ("voltage", units.MILLIVOLT),
    "linkquality": ("linkquality", units.LQI),
    "illuminance": ("illuminance", units.LUX),
    "co2": ("co2", units.PPM),
    "eco2": ("co2", units.PPM),
    "co": ("co", units.PPM),
    "voc": ("voc", units.MICROGRAMS_PER_M3),
    "formaldehyd": ("formaldehyde", units.MILLIGRAMS_PER_M3),
    "hcho": ("formaldehyde", units.MILLIGRAMS_PER_M3),
    "pm1": ("pm1", units.MICROGRAMS_PER_M3),
    "pm25": ("pm25", units.MICROGRAMS_PER_M3),
    "pm10": ("pm10", units.MICROGRAMS_PER_M3),
    "power": ("power", units.WATT),
    "power_apparent": ("apparent_power", units.VOLT_AMPERE),
    "power_reactive": ("reactive_power", units.VAR),
    "power_factor": ("power_factor", None),
    "current": ("current", units.AMPERE),
    "energy": ("energy", units.KILOWATT_HOUR),
    "produced_energy": ("produced_energy", units.KILOWATT_HOUR),
    "ac_frequency": ("frequency", units.HERTZ),
    "noise": ("noise", "dBA"),
    "position": ("position", units.PERCENT),
    "pi_heating_demand": ("heating_demand", units.PERCENT),
}
"""Member → (quantity, unit), as Zigbee2MQTT's exposes give them."""
MAINS_FIELDS = FIELDS | {"voltage": ("voltage", units.VOLT)}
LEGACY_LUX = "illuminance_lux"
LEGACY_LUX_FIELDS = FIELDS | {LEGACY_LUX: ("illuminance", units.LUX)}
LEGACY_RAW = frozenset({"illuminance"})
UNSURE_FIELDS = FIELDS | {"voltage": ("voltage", None)}
"""For a value seen without its payload (an attribute topic, a discovery config's field):
the unit that depends on the payload is not known."""
METERING = ("power", "current", "energy")
NOT_MEASURED = frozenset(
    {"last_seen", "elapsed", "brightness", "color_temp", "color_temp_startup", "countdown"}
)
"""Numbers that are no measurement: timestamps, and the settings of lights and timers."""


def fields_for(document: dict[str, object]) -> Fields:
    """The table for one device's payload (its members tell which voltage and lux it has)."""
    if LEGACY_LUX in document:
        return LEGACY_LUX_FIELDS
    if "voltage" in document and any(member in document for member in METERING):
        return MAINS_FIELDS
    return FIELDS


@dataclass(frozen=True, slots=True)
class Zigbee2MqttDevice(JsonNative):
    """The handler of one device's topic (and of its attribute topics' plain values)."""

    friendly_name: str
    context: Context
    ignored: frozenset[str] = NOT_MEASURED

    def __call__(self, payload: bytes, now: float) -> list[SensorReading]:
        if payload[:1] != b"{" and "/" in self.friendly_name:
            return self._attribute(text_from_payload(payload), now)
        return self.read(json_from_payload(payload), now)

    def read(self, document: object, now: float) -> list[SensorReading]:
        """The readings in one decoded device state."""
        if not isinstance(document, dict):
            raise Refused(Reason.UNEXPECTED_JSON)
        name = self.friendly_name
        self.context.hear(name)
        readings: list[SensorReading] = []
        fields = fields_for(document)
        ignored = self.ignored if fields is not LEGACY_LUX_FIELDS else self.ignored | LEGACY_RAW
        refusal = read_members(document, fields, ignored, name, name, now, readings)
        return readings_or_refusal(readings, refusal)

    def identity(self, path: Path) -> Identity | None:
        if len(path) != 1:
            return None
        listed = UNSURE_FIELDS.get(path[0])
        quantity, unit = listed if listed is not None else (canonical(path[0]), None)
        name = self.friendly_name
        return Identity(name, quantity, unit, name, listed is not None)

    def leaving(self, claimed: frozenset[Path]) -> Native | None:
        members = {path[0] for path in claimed if len(path) == 1}
        return replace(self, ignored=self.ignored | members)

    def _attribute(self, text: str, now: float) -> list[SensorReading]:
        """A plain value on `<device>/<attribute>`: a reading of the device, unless its
        JSON state (which carries the same value) is heard."""
        device, _, attribute = self.friendly_name.rpartition("/")
        listed = UNSURE_FIELDS.get(attribute)
        if listed is None or device in self.context.heard:
            return []
        number = measure_listed(text)
        if isinstance(number, Reason):
            raise Refused(number)
        return [SensorReading(device, listed[0], number, listed[1], now, device)]


def route(levels: Sequence[str], context: Context) -> Handler | None:
    """The handler for a Zigbee2MQTT topic, None for other topics."""
    if len(levels) < 2 or levels[0] != BASE_TOPIC:
        return None
    topic = "/".join(levels)
    if levels[1] == BRIDGE:
        if levels[2:] == ["state"]:
            return Availability(BRIDGE, topic, context.sensors)
        return ignore
    if levels[-1] in COMMAND_LEVELS or (len(levels) > 3 and levels[-2] in COMMAND_LEVELS):
        return ignore
    if levels[-1] == "availability" and len(levels) > 2:
        return Availability("/".join(levels[1:-1]), topic, context.sensors)
    return Zigbee2MqttDevice("/".join(levels[1:]), context)
