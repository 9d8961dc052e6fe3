"""Readings from a decoded JSON object, for the families whose payloads are JSON.

`read_members` reads every numeric member (a Tasmota sensor, a Zigbee2MQTT device): a
member listed in the family's field table gets the table's quantity and unit, any
other the canonical spelling of its name and no unit. `read_paths` reads listed paths
only (a Shelly component, the user's field paths). Both skip what is not a number and
report the first reason a listed value was refused, so that a payload that gave no
reading at all can say why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from phantom_cauldron.parsing.handling import Reason, Refused
from phantom_cauldron.parsing.jsonpath import MISSING, Path, find
from phantom_cauldron.parsing.quantities import canonical
from phantom_cauldron.parsing.values import measure
from phantom_cauldron.readings import SensorReading

Fields = Mapping[str, tuple[str, str | None]]
"""Member name → (quantity, unit)."""
PathFields = Sequence[tuple[Path, str, str | None]]
"""(path, quantity, unit) of each value to read."""


def read_members(
    members: dict[str, object],
    fields: Fields,
    sensor_id: str,
    location: str | None,
    now: float,
    into: list[SensorReading],
) -> Reason | None:
    """Append a reading per number in `members` to `into`; the first listed member's refusal."""
    refusal = None
    for name, value in members.items():
        listed = fields.get(name)
        if listed is None and not isinstance(value, int | float):
            continue
        number = measure(value)
        if isinstance(number, Reason):
            if listed is not None and refusal is None:
                refusal = number
            continue
        quantity, unit = listed if listed is not None else (canonical(name), None)
        into.append(SensorReading(sensor_id, quantity, number, unit, now, location))
    return refusal


def read_paths(
    document: object,
    fields: PathFields,
    sensor_id: str,
    location: str | None,
    now: float,
    into: list[SensorReading],
    missing: Reason | None = None,
) -> Reason | None:
    """Append a reading per path in `fields` that leads to a number to `into`; the first
    refusal. A path that leads nowhere is skipped, and refused with `missing` if given."""
    refusal = None
    for path, quantity, unit in fields:
        value = find(document, path)
        number = measure(value) if value is not MISSING else missing
        if number is None:
            continue
        if isinstance(number, Reason):
            refusal = refusal or number
        else:
            into.append(SensorReading(sensor_id, quantity, number, unit, now, location))
    return refusal


def readings_or_refusal(
    readings: list[SensorReading], refusal: Reason | None
) -> list[SensorReading]:
    """`readings`, unless there are none and a member was refused."""
    if refusal is not None and not readings:
        raise Refused(refusal)
    return readings
