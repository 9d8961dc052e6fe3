"""The event that travels through the hub: a frozen, slotted `SpectralEvent`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from random import getrandbits
from typing import Any, TypedDict

_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_event_id() -> str:
    """A random RFC 4122 version-4 UUID as 32 hex digits (cheaper than `uuid.uuid4().hex`)."""
    return ((getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET).to_bytes(16, "big").hex()


class EventMetadata(TypedDict, total=False):
    """Optional annotations of an event, as the seed's `SpectralEvent.metadata`."""

    haunted: bool
    intensity: float
    origin_realm: str
    correlation_id: str
    replayed: bool
    run: str
    """The audit run the event belongs to (the recorder files it under that run)."""
    phase: int
    """The phase of that run."""


@dataclass(frozen=True, slots=True, init=False)
class SpectralEvent:
    """One thing that happened: a topic, who said it, when, and its payload.

    `id` (a uuid4 in hex) and `timestamp` (epoch seconds) are filled in when not given.
    """

    id: str
    topic: str
    timestamp: float
    source: str
    data: Any
    metadata: EventMetadata

    def __init__(
        self,
        topic: str,
        data: Any,
        source: str,
        metadata: EventMetadata | None = None,
        timestamp: float | None = None,
        id: str | None = None,
        *,
        _set: Any = object.__setattr__,
        _now: Any = time.time,
    ) -> None:
        _set(self, "id", id or new_event_id())
        _set(self, "topic", topic)
        _set(self, "timestamp", _now() if timestamp is None else timestamp)
        _set(self, "source", source)
        _set(self, "data", data)
        _set(self, "metadata", {} if metadata is None else metadata)
