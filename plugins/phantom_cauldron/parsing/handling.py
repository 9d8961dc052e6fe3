"""The contract between the parser and the device families: handlers, what they share,
and why a payload is refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from phantom_cauldron.directory import SensorDirectory
from phantom_cauldron.readings import SensorReading

Path = tuple[str, ...]
"""Steps into a decoded JSON payload; `()` is the whole payload."""


class Reason(StrEnum):
    """Why a payload gave no reading."""

    EMPTY = "empty"
    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    UNEXPECTED_JSON = "unexpected_json"
    """Valid JSON, but not shaped like the payloads of the topic's device family."""
    NOT_FINITE = "not_finite"
    """NaN or Infinity, spelled as text or as a bare JSON constant."""
    NO_VALUE = "no_value"
    """A placeholder for a missing value: null, None, unavailable, unknown."""
    NOT_A_NUMBER = "not_a_number"
    """Text, a boolean or an object where a number belongs."""
    OUT_OF_RANGE = "out_of_range"
    NEEDS_FIELD_PATH = "needs_field_path"
    """JSON on a topic no device family knows: the user can choose a field path for it."""
    FIELD_MISSING = "field_missing"
    UNSUPPORTED_TEMPLATE = "unsupported_template"
    INVALID_DISCOVERY = "invalid_discovery"
    UNKNOWN_AVAILABILITY = "unknown_availability"
    """A device's availability topic said neither online nor offline."""


class Refused(Exception):
    """Raised by a handler for a payload that gives no reading."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


Handler = Callable[[bytes, float], list[SensorReading]]
"""Turns a payload that arrived at a time on one topic into readings, or raises `Refused`."""


HEARD_LIMIT = 10_000
"""Sensors remembered as heard; beyond, copies of further ones are read (a flood of made-up
topics stays bounded)."""


@dataclass(slots=True)
class Context:
    """What the families' handlers share across topics."""

    sensors: SensorDirectory
    """Where availability messages note whether a device is online."""
    heard: set[str] = field(default_factory=set)
    """Sensors whose own source has been heard, so that copies of their values (a °F twin
    topic, a Zigbee2MQTT attribute topic) are skipped instead of read twice."""

    def hear(self, sensor_id: str) -> None:
        """Note that `sensor_id`'s own source was heard (up to `HEARD_LIMIT` sensors)."""
        heard = self.heard
        if sensor_id not in heard and len(heard) < HEARD_LIMIT:
            heard.add(sensor_id)


def ignore(payload: bytes, now: float) -> list[SensorReading]:
    """For topics that carry no measurements: commands, bridge state, switch states."""
    return []
