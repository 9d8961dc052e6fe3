"""A state topic that discovery configs announce, read together with the device family
that reads it natively, so that a device gives all its sensors, each under one identity.

The identity rule: a sensor is identified where its value sits in its device's own
telemetry, by its family: `<device>/<sensor>` (Tasmota), `<friendly name>` (Zigbee2MQTT),
`<node>/<object id>` (ESPHome), `<id>[/<channel>/<n>]` (Shelly gen1),
`<prefix>/<component:n>` (Shelly gen2), the topic (a plain number); with the quantity the
family's table gives it (where the family only guesses from a name, the config's device
class). A discovery config whose value template reads one such field unchanged names
that sensor: its name, device name, unit and expiry, never a second identity, so the
series is the same whether the config arrives before the telemetry or after it. The
first config to read a field claims it; a config that computes a value (arithmetic,
`multiply`, several fields), reads a claimed field, or reads what no family reads is a
sensor of its own, identified by its unique id. Every field some config reads is left
to the configs; the family reads the rest (a Tasmota device announcing one of its four
probes still gives all four).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from phantom_cauldron.parsing.handling import Handler, Path, Refused
from phantom_cauldron.parsing.homeassistant import DiscoveredSensor
from phantom_cauldron.parsing.native import Native
from phantom_cauldron.parsing.state import StatePayload
from phantom_cauldron.readings import SensorReading

GUESSED = "value"
"""The quantity of a sensor whose config names none."""


@dataclass(frozen=True, slots=True)
class AnnouncedState:
    """The handler of an announced state topic: the configs' sensors, then what the
    family reads of the fields no config reads."""

    sensors: tuple[DiscoveredSensor, ...]
    """The announced sensors, each under the identity the rule gives it."""
    rest: Native | None

    def __call__(self, payload: bytes, now: float) -> list[SensorReading]:
        state = StatePayload(payload)
        readings: list[SensorReading] = []
        refusal: Refused | None = None
        for sensor in self.sensors:
            try:
                readings.append(sensor.read(state, now))
            except Refused as refused:
                refusal = refusal or refused
        if self.rest is not None:
            try:
                readings.extend(self.rest.read_state(state, now))
            except Refused as refused:
                refusal = refusal or refused
        if refusal is not None and not readings:
            raise refusal
        return readings


def announce(discovered: Sequence[DiscoveredSensor], native: Handler) -> AnnouncedState:
    """The handler for a state topic that `discovered` announce and `native` reads."""
    if not isinstance(native, Native):
        return AnnouncedState(tuple(discovered), None)
    named: set[Path] = set()
    read: set[Path] = set()
    sensors = []
    for sensor in discovered:
        template = sensor.template
        read |= template.fields
        path = template.path
        if path is None or path in named or (identity := native.identity(path)) is None:
            sensors.append(sensor)
            continue
        named.add(path)
        listed = identity.listed or sensor.quantity == GUESSED
        sensors.append(
            replace(
                sensor,
                sensor_id=identity.sensor_id,
                quantity=identity.quantity if listed else sensor.quantity,
                unit=sensor.unit or identity.unit,
                location=identity.location,
            )
        )
    return AnnouncedState(tuple(sensors), native.leaving(frozenset(read)) if read else native)
