"""Readings from a decoded JSON object, for the families whose payloads are JSON.

`read_members` reads the members of a flat object (Tasmota sensors, Zigbee2MQTT
devices): the members its table lists, with their quantity and unit, and any other
member that is a JSON number, named after itself. `read_paths` reads values at fixed
paths (Shelly gen2 components, the user's field paths). A listed value may be text
spelling a number; an unlisted one must be a JSON number. Both skip what is not a
number and report the first reason a listed value was refused, so that a payload that
gave no reading at all can say why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from phantom_cauldron.parsing.handling import Path, Reason, Refused
from phantom_cauldron.parsing.jsonpath import MISSING, find
from phantom_cauldron.parsing.quantities import canonical
from phantom_cauldron.parsing.units import CELSIUS, celsius_from_fahrenheit
from phantom_cauldron.parsing.values import measure, measure_listed
from phantom_cauldron.readings import SensorReading

Fields = Mapping[str, tuple[str, str | None]]
"""Member name → (quantity, unit)."""


class PathField(NamedTuple):
    """A value to read at `path`; a °C temperature may name its °F twin, read (converted)
    only when the °C value is missing."""

    path: Path
    quantity: str
    unit: str | None
    fahrenheit: Path | None = None


PathFields = Sequence[PathField]


def read_members(
    members: dict[str, object],
    fields: Fields,
    ignored: frozenset[str],
    sensor_id: str,
    location: str | None,
    now: float,
    into: list[SensorReading],
    *,
    listed_only: bool = False,
) -> Reason | None:
    """Append a reading per number in `members` (but those `ignored`) to `into`; the first
    listed member's refusal."""
    refusal = None
    for name, value in members.items():
        if name in ignored:
            continue
        listed = fields.get(name)
        if listed is None:
            if listed_only or not isinstance(value, int | float):
                continue
            number = measure(value)
        else:
            number = measure_listed(value) if isinstance(value, str) else measure(value)
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
    for path, quantity, unit, fahrenheit in fields:
        value = find(document, path)
        if value is MISSING and fahrenheit is not None:
            twin = measure_listed(find(document, fahrenheit))
            if not isinstance(twin, Reason):
                celsius = celsius_from_fahrenheit(twin)
                into.append(SensorReading(sensor_id, quantity, celsius, CELSIUS, now, location))
            continue
        if value is MISSING:
            if missing is None:
                continue
            number: float | Reason = missing
        else:
            number = measure_listed(value)
        if isinstance(number, Reason):
            refusal = refusal or number
        else:
            into.append(SensorReading(sensor_id, quantity, number, unit, now, location))
    return refusal


def paths_leaving(fields: PathFields, claimed: frozenset[Path]) -> tuple[PathField, ...]:
    """`fields` without those at a `claimed` path (their °F twins go with them)."""
    return tuple(
        field for field in fields if field.path not in claimed and field.fahrenheit not in claimed
    )


def readings_or_refusal(
    readings: list[SensorReading], refusal: Reason | None
) -> list[SensorReading]:
    """`readings`, unless there are none and a member was refused."""
    if refusal is not None and not readings:
        raise Refused(refusal)
    return readings
