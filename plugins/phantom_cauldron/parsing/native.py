"""A device family's reader of one topic, which can say whose each value in its payloads
is, so that a discovery config reading the same value names the same sensor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from phantom_cauldron.parsing.handling import Path
from phantom_cauldron.parsing.state import StatePayload
from phantom_cauldron.parsing.values import json_from_payload
from phantom_cauldron.readings import SensorReading


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a value in a family's payload belongs to, by the family's own rules."""

    sensor_id: str
    quantity: str
    unit: str | None
    location: str | None
    listed: bool
    """Whether the family's table names the quantity (else it was guessed from a name)."""


class Native(ABC):
    """A device family's reader of one topic: the readings in its payloads, and who each
    value in them belongs to, so that a discovery config can name the same sensor."""

    __slots__ = ()

    @abstractmethod
    def __call__(self, payload: bytes, now: float) -> list[SensorReading]:
        """The readings in one payload."""

    @abstractmethod
    def read_state(self, state: StatePayload, now: float) -> list[SensorReading]:
        """The readings in a payload that discovery templates read too (decoded once)."""

    @abstractmethod
    def identity(self, path: Path) -> Identity | None:
        """The sensor whose value sits at `path` in this topic's payloads, if any."""

    @abstractmethod
    def leaving(self, claimed: frozenset[Path]) -> Native | None:
        """This reader without the values at `claimed` (discovery reads those); None when
        nothing is left to read."""


class JsonNative(Native):
    """A `Native` whose payloads are JSON: it reads the decoded document."""

    __slots__ = ()

    def __call__(self, payload: bytes, now: float) -> list[SensorReading]:
        return self.read(json_from_payload(payload), now)

    def read_state(self, state: StatePayload, now: float) -> list[SensorReading]:
        return self.read(state.value_json, now)

    @abstractmethod
    def read(self, document: object, now: float) -> list[SensorReading]:
        """The readings in one decoded payload."""
