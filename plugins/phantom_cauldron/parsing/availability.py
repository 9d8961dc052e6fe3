"""Availability messages: a device saying it is online or offline (Tasmota's `LWT`,
Zigbee2MQTT's `availability`, ESPHome's `status`, Shelly's `online`). They set the
device's state in the sensor directory; they are expected traffic, never a refused
payload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from phantom_cauldron.directory import SensorDirectory
from phantom_cauldron.parsing.handling import Handler, Reason, Refused
from phantom_cauldron.parsing.values import text_from_payload
from phantom_cauldron.readings import SensorReading

ONLINE = frozenset({"online", "true", "connected"})
OFFLINE = frozenset({"offline", "false", "disconnected"})
LEVELS = frozenset({"LWT", "availability", "status", "online"})
"""Last topic levels of availability messages in the families' own topic layouts."""


def said(text: str) -> bool | None:
    """Whether `text` says online (True) or offline (False): a word, any case, or
    Zigbee2MQTT's JSON `{"state": "online"}`; None when it says neither."""
    word = text.strip()
    if word.startswith("{"):
        try:
            document = json.loads(word)
        except ValueError:
            return None
        state = document.get("state") if isinstance(document, dict) else None
        word = state if isinstance(state, str) else ""
    lowered = word.lower()
    if lowered in ONLINE:
        return True
    if lowered in OFFLINE:
        return False
    return None


@dataclass(frozen=True, slots=True)
class Availability:
    """The handler of one device's availability topic."""

    device_id: str
    topic: str
    sensors: SensorDirectory
    fallback: Handler | None = None
    """Reads a payload that is no availability word (a generic `<x>/status` topic may
    carry a measurement); without one, such a payload is refused."""

    def __call__(self, payload: bytes, now: float) -> list[SensorReading]:
        online = said(text_from_payload(payload))
        if online is None:
            if self.fallback is not None:
                return self.fallback(payload, now)
            raise Refused(Reason.EMPTY if not payload.strip() else Reason.UNKNOWN_AVAILABILITY)
        self.sensors.set_online(self.device_id, online, self.topic)
        return []
