"""Shelly devices, both generations.

Gen1 publishes one plain number per topic under `shellies/<id>/`: `sensor/temperature`,
`relay/0/power`, `emeter/0/voltage`, `ext_temperature/0`, ... Gen2 publishes JSON-RPC
notifications on `<prefix>/events/rpc`::

    {"src": "shellyplusht-b8d61a8b17cc", "method": "NotifyFullStatus",
     "params": {"ts": 1680962879.62, "temperature:0": {"id": 0, "tC": 19.8, "tF": 67.6},
                "humidity:0": {"id": 0, "rh": 42.2},
                "devicepower:0": {"id": 0, "battery": {"V": 4.43, "percent": 80}}}}

and each component's status on `<prefix>/status/<component:n>`. A gen2 reading is
`<prefix>/<component:n>` at `<prefix>`; a gen1 reading is `<id>` (device and sensor
values), `<id>/<channel>/<n>` (relays, lights, rollers, meters) or `<id>/<probe>/<n>`
(external probes), at `<id>`. Other Shelly topics (states, commands, announcements)
are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from phantom_cauldron.parsing.handling import Handler, Reason, Refused, ignore
from phantom_cauldron.parsing.members import PathFields, read_paths, readings_or_refusal
from phantom_cauldron.parsing.plain import PlainNumber
from phantom_cauldron.parsing.values import json_from_payload
from phantom_cauldron.readings import SensorReading

GEN1_PREFIX = "shellies"
Quantity = tuple[str, str | None]

GEN1_DEVICE: dict[str, Quantity] = {"temperature": ("temperature", "°C")}
GEN1_SENSOR: dict[str, Quantity] = {
    "temperature": ("temperature", None),
    "humidity": ("humidity", "%"),
    "battery": ("battery", "%"),
    "lux": ("illuminance", "lx"),
    "tilt": ("tilt", "°"),
    "concentration": ("gas_concentration", "ppm"),
}
"""`sensor/temperature` is in °C or °F as the device is set up, so it has no unit."""
_GEN1_OUTPUT: dict[str, Quantity] = {"power": ("power", "W"), "energy": ("energy", "Wmin")}
GEN1_CHANNELS: dict[str, dict[str, Quantity]] = {
    "relay": _GEN1_OUTPUT,
    "light": _GEN1_OUTPUT,
    "roller": _GEN1_OUTPUT,
    "emeter": {
        "power": ("power", "W"),
        "reactive_power": ("reactive_power", "var"),
        "voltage": ("voltage", "V"),
        "current": ("current", "A"),
        "pf": ("power_factor", None),
        "energy": ("energy", "Wh"),
        "returned_energy": ("returned_energy", "Wh"),
        "total": ("energy_total", "Wh"),
        "total_returned": ("returned_energy_total", "Wh"),
    },
}
GEN1_PROBES: dict[str, Quantity] = {
    "ext_temperature": ("temperature", "°C"),
    "ext_humidity": ("humidity", "%"),
}

_OUTPUT: PathFields = (
    (("apower",), "power", "W"),
    (("voltage",), "voltage", "V"),
    (("current",), "current", "A"),
    (("freq",), "frequency", "Hz"),
    (("pf",), "power_factor", None),
    (("aenergy", "total"), "energy", "Wh"),
    (("temperature", "tC"), "temperature", "°C"),
)
GEN2_COMPONENTS: dict[str, PathFields] = {
    "temperature": ((("tC",), "temperature", "°C"),),
    "humidity": ((("rh",), "humidity", "%"),),
    "illuminance": ((("lux",), "illuminance", "lx"),),
    "voltmeter": ((("voltage",), "voltage", "V"),),
    "devicepower": (
        (("battery", "percent"), "battery", "%"),
        (("battery", "V"), "battery_voltage", "V"),
    ),
    "switch": _OUTPUT,
    "cover": _OUTPUT,
    "light": _OUTPUT,
    "pm1": _OUTPUT,
    "em1": (
        (("act_power",), "power", "W"),
        (("aprt_power",), "apparent_power", "VA"),
        (("voltage",), "voltage", "V"),
        (("current",), "current", "A"),
        (("freq",), "frequency", "Hz"),
        (("pf",), "power_factor", None),
    ),
}
NOTIFICATIONS = frozenset({"NotifyStatus", "NotifyFullStatus"})


def route(levels: Sequence[str]) -> Handler | None:
    """The handler for a Shelly topic, None for other topics."""
    if len(levels) >= 3:
        prefix = "/".join(levels[:-2])
        if levels[-2] == "events" and levels[-1] == "rpc":
            return partial(read_notification, prefix)
        if levels[-2] == "status" and ":" in levels[-1]:
            fields = GEN2_COMPONENTS.get(levels[-1].partition(":")[0])
            if fields is not None:
                return partial(read_status, prefix, levels[-1], fields)
    if len(levels) >= 2 and levels[0] == GEN1_PREFIX:
        return _gen1_route(levels[1], levels[2:])
    return None


def _gen1_route(device: str, rest: Sequence[str]) -> Handler:
    """The plain-number handler for a gen1 measurement topic under `shellies/<device>/`."""
    known: Quantity | None = None
    sensor_id = device
    if len(rest) == 1:
        known = GEN1_DEVICE.get(rest[0])
    elif len(rest) == 2 and rest[0] == "sensor":
        known = GEN1_SENSOR.get(rest[1])
    elif len(rest) == 2 and rest[0] in GEN1_PROBES:
        known = GEN1_PROBES[rest[0]]
        sensor_id = f"{device}/{rest[0]}/{rest[1]}"
    elif len(rest) == 3 and rest[0] in GEN1_CHANNELS:
        known = GEN1_CHANNELS[rest[0]].get(rest[2])
        sensor_id = f"{device}/{rest[0]}/{rest[1]}"
    if known is None:
        return ignore
    return PlainNumber(sensor_id, known[0], known[1], device)


def read_notification(prefix: str, payload: bytes, now: float) -> list[SensorReading]:
    """The readings in a gen2 NotifyStatus or NotifyFullStatus; other methods have none."""
    document = json_from_payload(payload)
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
            refused = read_paths(status, fields, f"{prefix}/{key}", prefix, now, readings)
            refusal = refusal or refused
    return readings_or_refusal(readings, refusal)


def read_status(
    prefix: str, component: str, fields: PathFields, payload: bytes, now: float
) -> list[SensorReading]:
    """The readings in one gen2 component status."""
    status = json_from_payload(payload)
    if not isinstance(status, dict):
        raise Refused(Reason.UNEXPECTED_JSON)
    readings: list[SensorReading] = []
    refusal = read_paths(status, fields, f"{prefix}/{component}", prefix, now, readings)
    return readings_or_refusal(readings, refusal)
