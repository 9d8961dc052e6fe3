"""Shelly devices, both generations.

Gen1 publishes one plain number per topic under `shellies/<id>/`: `sensor/temperature`,
`relay/0/power` (`relay/power`, the sum, on a Shelly 2.5 in roller mode),
`emeter/0/voltage`, `ext_temperature/0`, ...; `online` says `true` or `false`. The
add-on's probes and the device's own temperature come twice, in °C and on a `_f` twin
topic in °F (`ext_temperature_f/0`, `temperature_f`): the twin is the same sensor,
converted to °C, read only while the °C topic is not heard. Gen2 publishes JSON-RPC
notifications on `<prefix>/events/rpc`::

    {"src": "shellyplusht-b8d61a8b17cc", "method": "NotifyFullStatus",
     "params": {"ts": 1680962879.62, "temperature:0": {"id": 0, "tC": 19.8, "tF": 67.6},
                "humidity:0": {"id": 0, "rh": 42.2},
                "devicepower:0": {"id": 0, "battery": {"V": 4.43, "percent": 80}}}}

and each component's status on `<prefix>/status/<component:n>`; `tF` is read (converted)
only where `tC` is missing. A gen2 reading is `<prefix>/<component:n>` at `<prefix>`; a
gen1 reading is `<id>` (device and sensor values), `<id>/<channel>/<n>` (relays, lights,
rollers, meters; `<id>/<channel>` for their sum) or `<id>/<probe>/<n>` (external
probes), at `<id>`. Other Shelly topics (states, commands, announcements, system
services) are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from phantom_cauldron.parsing import units
from phantom_cauldron.parsing.availability import Availability
from phantom_cauldron.parsing.handling import Context, Handler, Path, Reason, Refused, ignore
from phantom_cauldron.parsing.members import (
    PathField,
    PathFields,
    paths_leaving,
    read_paths,
    readings_or_refusal,
)
from phantom_cauldron.parsing.native import Identity, JsonNative, Native
from phantom_cauldron.parsing.plain import PlainNumber
from phantom_cauldron.parsing.state import StatePayload
from phantom_cauldron.readings import SensorReading

GEN1_PREFIX = "shellies"
Quantity = tuple[str, str | None]

GEN1_DEVICE: dict[str, Quantity] = {
    "temperature": ("temperature", units.CELSIUS),
    "voltage": ("voltage", units.VOLT),
}
"""Values of the device itself on `shellies/<id>/<value>`."""
GEN1_SENSOR: dict[str, Quantity] = {
    "temperature": ("temperature", None),
    "humidity": ("humidity", units.PERCENT),
    "battery": ("battery", units.PERCENT),
    "lux": ("illuminance", units.LUX),
    "tilt": ("tilt", "°"),
    "concentration": ("gas_concentration", units.PPM),
}
"""`sensor/temperature` is in °C or °F as the device is set up, so it has no unit."""
_GEN1_OUTPUT: dict[str, Quantity] = {
    "power": ("power", units.WATT),
    "energy": ("energy", units.WATT_MINUTE),
}
GEN1_CHANNELS: dict[str, dict[str, Quantity]] = {
    "relay": _GEN1_OUTPUT,
    "light": _GEN1_OUTPUT,
    "color": _GEN1_OUTPUT,
    "white": _GEN1_OUTPUT,
    "roller": _GEN1_OUTPUT | {"pos": ("position", units.PERCENT)},
    "emeter": {
        "power": ("power", units.WATT),
        "reactive_power": ("reactive_power", units.VAR),
        "voltage": ("voltage", units.VOLT),
        "current": ("current", units.AMPERE),
        "pf": ("power_factor", None),
        "energy": ("energy", units.WATT_MINUTE),
        "returned_energy": ("returned_energy", units.WATT_MINUTE),
        "total": ("energy_total", units.WATT_HOUR),
        "total_returned": ("returned_energy_total", units.WATT_HOUR),
    },
}
GEN1_PROBES: dict[str, Quantity] = {
    "ext_temperature": ("temperature", units.CELSIUS),
    "ext_humidity": ("humidity", units.PERCENT),
    "adc": ("voltage", units.VOLT),
}
"""The add-on's probes and the Uni's analog inputs on `shellies/<id>/<probe>/<n>`."""
FAHRENHEIT_SUFFIX = "_f"
GEN1_STATUS: PathFields = (
    PathField(("lux",), "illuminance", units.LUX),
    PathField(("bat",), "battery", units.PERCENT),
)
"""`shellies/<id>/status` of the Motion sensors (JSON)."""

TEMPERATURE = PathField(("tC",), "temperature", units.CELSIUS, ("tF",))
_OUTPUT: PathFields = (
    PathField(("apower",), "power", units.WATT),
    PathField(("voltage",), "voltage", units.VOLT),
    PathField(("current",), "current", units.AMPERE),
    PathField(("freq",), "frequency", units.HERTZ),
    PathField(("pf",), "power_factor", None),
    PathField(("aenergy", "total"), "energy", units.WATT_HOUR),
    PathField(("ret_aenergy", "total"), "returned_energy", units.WATT_HOUR),
    PathField(("temperature", "tC"), "temperature", units.CELSIUS, ("temperature", "tF")),
)
_PHASE: tuple[tuple[str, str, str | None], ...] = (
    ("current", "current", units.AMPERE),
    ("voltage", "voltage", units.VOLT),
    ("act_power", "power", units.WATT),
    ("aprt_power", "apparent_power", units.VOLT_AMPERE),
    ("pf", "power_factor", None),
    ("freq", "frequency", units.HERTZ),
)
GEN2_COMPONENTS: dict[str, PathFields] = {
    "temperature": (TEMPERATURE,),
    "humidity": (PathField(("rh",), "humidity", units.PERCENT),),
    "illuminance": (PathField(("lux",), "illuminance", units.LUX),),
    "voltmeter": (PathField(("voltage",), "voltage", units.VOLT),),
    "input": (PathField(("percent",), "input_level", units.PERCENT),),
    "devicepower": (
        PathField(("battery", "percent"), "battery", units.PERCENT),
        PathField(("battery", "V"), "battery_voltage", units.VOLT),
    ),
    "switch": _OUTPUT,
    "cover": (*_OUTPUT, PathField(("current_pos",), "position", units.PERCENT)),
    "light": _OUTPUT,
    "pm1": _OUTPUT,
    "em1": (
        PathField(("act_power",), "power", units.WATT),
        PathField(("aprt_power",), "apparent_power", units.VOLT_AMPERE),
        PathField(("voltage",), "voltage", units.VOLT),
        PathField(("current",), "current", units.AMPERE),
        PathField(("freq",), "frequency", units.HERTZ),
        PathField(("pf",), "power_factor", None),
    ),
    "em": (
        *(
            PathField((f"{phase}_{member}",), f"{quantity}_{phase}", unit)
            for phase in "abc"
            for member, quantity, unit in _PHASE
        ),
        PathField(("n_current",), "current_n", units.AMPERE),
        PathField(("total_current",), "current", units.AMPERE),
        PathField(("total_act_power",), "power", units.WATT),
        PathField(("total_aprt_power",), "apparent_power", units.VOLT_AMPERE),
    ),
    "emdata": (
        *(
            PathField((f"{phase}_total_act_energy",), f"energy_{phase}", units.WATT_HOUR)
            for phase in "abc"
        ),
        PathField(("total_act",), "energy", units.WATT_HOUR),
        PathField(("total_act_ret",), "returned_energy", units.WATT_HOUR),
    ),
    "em1data": (
        PathField(("total_act_energy",), "energy", units.WATT_HOUR),
        PathField(("total_act_ret_energy",), "returned_energy", units.WATT_HOUR),
    ),
}
"""Component → the values its status carries, as the gen2 API documents them."""
NOTIFICATIONS = frozenset({"NotifyStatus", "NotifyFullStatus"})
GEN2_SERVICES = frozenset({"sys", "wifi", "eth", "cloud", "mqtt", "ble", "ws", "bthome", "ui"})
"""Gen2 components without an id whose status (`<prefix>/status/<service>`) measures nothing."""


@dataclass(frozen=True, slots=True)
class ComponentStatus(JsonNative):
    """The handler of one gen2 component's status topic (or a gen1 Motion's `status`)."""

    sensor_id: str
    location: str
    fields: PathFields

    def read(self, status: object, now: float) -> list[SensorReading]:
        """The readings in one decoded status."""
        if not isinstance(status, dict):
            raise Refused(Reason.UNEXPECTED_JSON)
        readings: list[SensorReading] = []
        refusal = read_paths(status, self.fields, self.sensor_id, self.location, now, readings)
        return readings_or_refusal(readings, refusal)

    def identity(self, path: Path) -> Identity | None:
        return _identity(self.fields, path, self.sensor_id, self.location)

    def leaving(self, claimed: frozenset[Path]) -> Native | None:
        fields = paths_leaving(self.fields, claimed)
        return replace(self, fields=fields) if fields else None


@dataclass(frozen=True, slots=True)
class Notification(JsonNative):
    """The handler of a gen2 device's `events/rpc` topic."""

    prefix: str
    claimed: Mapping[str, frozenset[Path]] = field(default_factory=dict)
    """Component (`temperature:0`) → the paths in its status a discovery config reads."""

    def read(self, document: object, now: float) -> list[SensorReading]:
        """The readings in a NotifyStatus or NotifyFullStatus; other methods have none."""
        if not isinstance(document, dict) or not isinstance(document.get("method"), str):
            raise Refused(Reason.UNEXPECTED_JSON)
        if document["method"] not in NOTIFICATIONS:
            return []
        params = document.get("params")
        if not isinstance(params, dict):
            raise Refused(Reason.UNEXPECTED_JSON)
        readings: list[SensorReading] = []
        refusal = None
        for key, status in params.items():
            fields = GEN2_COMPONENTS.get(key.partition(":")[0])
            if fields is not None and isinstance(status, dict):
                claimed = self.claimed.get(key)
                if claimed is not None:
                    fields = paths_leaving(fields, claimed)
                sensor_id = f"{self.prefix}/{key}"
                refused = read_paths(status, fields, sensor_id, self.prefix, now, readings)
                refusal = refusal or refused
        return readings_or_refusal(readings, refusal)

    def identity(self, path: Path) -> Identity | None:
        if len(path) < 3 or path[0] != "params":
            return None
        fields = GEN2_COMPONENTS.get(path[1].partition(":")[0], ())
        return _identity(fields, path[2:], f"{self.prefix}/{path[1]}", self.prefix)

    def leaving(self, claimed: frozenset[Path]) -> Native | None:
        merged = {key: set(paths) for key, paths in self.claimed.items()}
        for path in claimed:
            if len(path) >= 3 and path[0] == "params":
                merged.setdefault(path[1], set()).add(path[2:])
        return replace(self, claimed={key: frozenset(paths) for key, paths in merged.items()})


@dataclass(frozen=True, slots=True)
class CelsiusOriginal(Native):
    """A gen1 °C topic that has a °F twin: hearing it makes the twin a copy."""

    number: PlainNumber
    context: Context

    def __call__(self, payload: bytes, now: float) -> list[SensorReading]:
        self.context.hear(self.number.sensor_id)
        return self.number(payload, now)

    def read_state(self, state: StatePayload, now: float) -> list[SensorReading]:
        self.context.hear(self.number.sensor_id)
        return self.number.read_state(state, now)

    def identity(self, path: Path) -> Identity | None:
        return self.number.identity(path)

    def leaving(self, claimed: frozenset[Path]) -> Native | None:
        return None if () in claimed else self


@dataclass(frozen=True, slots=True)
class FahrenheitTwin(Native):
    """A gen1 °F topic: its °C original's sensor, converted, while the original is unheard."""

    number: PlainNumber
    """Reads the °F number as the °C sensor (converted after reading)."""
    context: Context

    def __call__(self, payload: bytes, now: float) -> list[SensorReading]:
        if self.number.sensor_id in self.context.heard:
            return []
        return [_in_celsius(reading) for reading in self.number(payload, now)]

    def read_state(self, state: StatePayload, now: float) -> list[SensorReading]:
        return [_in_celsius(reading) for reading in self.number.read_state(state, now)]

    def identity(self, path: Path) -> Identity | None:
        return self.number.identity(path)

    def leaving(self, claimed: frozenset[Path]) -> Native | None:
        return None if () in claimed else self


def route(levels: Sequence[str], context: Context) -> Handler | None:
    """The handler for a Shelly topic, None for other topics."""
    if len(levels) >= 2 and levels[0] == GEN1_PREFIX:
        return _gen1_route(levels[1], levels[2:], "/".join(levels), context)
    if len(levels) < 3:
        return None
    prefix = "/".join(levels[:-2])
    if levels[-2] == "events" and levels[-1] == "rpc":
        return Notification(prefix)
    if levels[-2] == "status" and ":" in levels[-1]:
        fields = GEN2_COMPONENTS.get(levels[-1].partition(":")[0])
        if fields is None:
            return ignore
        return ComponentStatus(f"{prefix}/{levels[-1]}", prefix, fields)
    return ignore if levels[-2] == "status" and levels[-1] in GEN2_SERVICES else None


def _gen1_route(device: str, rest: Sequence[str], topic: str, context: Context) -> Handler:
    """The handler for a gen1 topic under `shellies/<device>/`."""
    if rest == ["online"]:
        return Availability(device, topic, context.sensors)
    if rest == ["status"]:
        return ComponentStatus(device, device, GEN1_STATUS)
    known: Quantity | None = None
    sensor_id = device
    name = rest[0] if rest else ""
    fahrenheit = name.endswith(FAHRENHEIT_SUFFIX)
    original = name.removesuffix(FAHRENHEIT_SUFFIX)
    if len(rest) == 1:
        known = GEN1_DEVICE.get(original)
    elif len(rest) == 2 and name == "sensor":
        known = GEN1_SENSOR.get(rest[1])
    elif len(rest) == 2 and original in GEN1_PROBES:
        known = GEN1_PROBES[original]
        sensor_id = f"{device}/{original}/{rest[1]}"
    elif len(rest) == 2 and name in GEN1_CHANNELS:
        known = GEN1_CHANNELS[name].get(rest[1])
        sensor_id = f"{device}/{name}"
    elif len(rest) == 3 and name in GEN1_CHANNELS:
        known = GEN1_CHANNELS[name].get(rest[2])
        sensor_id = f"{device}/{name}/{rest[1]}"
    if known is None or (fahrenheit and known[1] != units.CELSIUS):
        return ignore
    number = PlainNumber(sensor_id, known[0], known[1], device, listed=True)
    if fahrenheit:
        return FahrenheitTwin(number, context)
    return CelsiusOriginal(number, context) if known[1] == units.CELSIUS else number


def _identity(fields: PathFields, path: Path, sensor_id: str, location: str) -> Identity | None:
    for listed in fields:
        if path in (listed.path, listed.fahrenheit):
            return Identity(sensor_id, listed.quantity, listed.unit, location, True)
    return None


def _in_celsius(reading: SensorReading) -> SensorReading:
    return reading._replace(value=units.celsius_from_fahrenheit(reading.value))
