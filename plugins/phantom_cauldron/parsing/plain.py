"""Topics whose payload is one number: `21.5`, `-3`, `1e3`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from phantom_cauldron.parsing.handling import Path
from phantom_cauldron.parsing.native import Identity, Native
from phantom_cauldron.parsing.quantities import guess
from phantom_cauldron.parsing.state import StatePayload
from phantom_cauldron.parsing.values import number_from_payload, number_from_text
from phantom_cauldron.readings import SensorReading


@dataclass(frozen=True, slots=True)
class PlainNumber(Native):
    """The handler of one plain-number topic: each payload is one reading of one sensor."""

    sensor_id: str
    quantity: str
    unit: str | None
    location: str | None
    listed: bool = False
    """Whether the family's table named the quantity (else the topic's words suggested it)."""

    def __call__(self, payload: bytes, now: float) -> list[SensorReading]:
        number = number_from_payload(payload)
        return [SensorReading(self.sensor_id, self.quantity, number, self.unit, now, self.location)]

    def read_state(self, state: StatePayload, now: float) -> list[SensorReading]:
        number = number_from_text(state.value)
        return [SensorReading(self.sensor_id, self.quantity, number, self.unit, now, self.location)]

    def identity(self, path: Path) -> Identity | None:
        if path:
            return None
        return Identity(self.sensor_id, self.quantity, self.unit, self.location, self.listed)

    def leaving(self, claimed: frozenset[Path]) -> Native | None:
        return None if () in claimed else self


def route(topic: str, levels: Sequence[str]) -> PlainNumber:
    """Any topic no family claims: the sensor is the topic, located at its parent, and the
    quantity is named by its last level (`lab/cauldron/ph` → ph) or else "value"."""
    parent = topic.rpartition("/")[0] or None
    return PlainNumber(topic, guess(levels[-1]) or "value", None, parent)
