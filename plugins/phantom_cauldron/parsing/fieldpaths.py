"""The user's choice of a JSON field to read on topics matching an MQTT pattern."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from phantom_cauldron.parsing.handling import Handler, Reason
from phantom_cauldron.parsing.jsonpath import Path, compile_path
from phantom_cauldron.parsing.members import PathField, PathFields, read_paths, readings_or_refusal
from phantom_cauldron.parsing.quantities import guess
from phantom_cauldron.parsing.values import json_from_payload
from phantom_cauldron.readings import SensorReading
from phantom_gui.core.topics import validate_pattern


@dataclass(frozen=True, slots=True)
class FieldPath:
    """Read `path` (`sensors.0.temp`) from JSON payloads on topics matching `pattern`."""

    pattern: str
    path: str
    quantity: str
    unit: str | None
    steps: Path = field(repr=False, compare=False)

    @classmethod
    def create(
        cls, pattern: str, path: str, quantity: str | None = None, unit: str | None = None
    ) -> FieldPath:
        """A checked field path; `ValueError` for a bad pattern or path. Without a quantity,
        the path's last step names it (`sensors.0.temp` → temperature) or it is "value"."""
        steps = compile_path(path)
        return cls(
            validate_pattern(pattern), path, quantity or guess(steps[-1]) or "value", unit, steps
        )


def route(chosen: Sequence[FieldPath], topic: str) -> Handler:
    """The handler reading the chosen paths on `topic`: sensor `topic`, at its parent."""
    fields = tuple(PathField(choice.steps, choice.quantity, choice.unit) for choice in chosen)
    return partial(read_fields, fields, topic, topic.rpartition("/")[0] or None)


def read_fields(
    fields: PathFields, sensor_id: str, location: str | None, payload: bytes, now: float
) -> list[SensorReading]:
    """The readings at the chosen paths of one JSON payload."""
    document = json_from_payload(payload)
    readings: list[SensorReading] = []
    refusal = read_paths(document, fields, sensor_id, location, now, readings, Reason.FIELD_MISSING)
    return readings_or_refusal(readings, refusal)
