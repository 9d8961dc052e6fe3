"""The contract between the parser and the device families: handlers, and why they refuse."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from phantom_cauldron.readings import SensorReading


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
    AVAILABILITY = "availability"
    """An online/offline message: expected traffic, not an error."""

    @property
    def is_error(self) -> bool:
        """False only for availability messages."""
        return self is not Reason.AVAILABILITY


class Refused(Exception):
    """Raised by a handler for a payload that gives no reading."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


Handler = Callable[[bytes, float], list[SensorReading]]
"""Turns a payload that arrived at a time on one topic into readings, or raises `Refused`."""

AVAILABILITY_LEVELS = frozenset({"LWT", "availability", "status", "online"})
"""Last topic levels of online/offline messages (Tasmota, Zigbee2MQTT, ESPHome, Shelly)."""


def ignore(payload: bytes, now: float) -> list[SensorReading]:
    """For topics that carry no measurements: commands, bridge state, switch states."""
    return []


def availability(payload: bytes, now: float) -> list[SensorReading]:
    """For online/offline topics: counted under their own reason."""
    raise Refused(Reason.AVAILABILITY)
