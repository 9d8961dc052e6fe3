"""The event that travels through the hub: a frozen, slotted `SpectralEvent`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from random import getrandbits
from typing import Any, TypedDict

_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_event_id() -> str:
    """A random RFC 4122 version-4 UUID as 32 hex digits (cheaper than `uuid.uuid4().hex`)."""
    return f"{(getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"


class EventMetadata(TypedDict, total=False):
    """Optional annotations of an event, as the seed's `SpectralEvent.metadata`."""

    haunted: bool
    intensity: float
    origin_realm: str
    correlation_id: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class SpectralEvent:
    """One thing that happened: a topic, who said it, when, and its payload."""

    topic: str
    data: Any
    source: str
    metadata: EventMetadata = field(default_factory=lambda: EventMetadata())
    timestamp: float = field(default_factory=time.time)
    id: str = field(default_factory=new_event_id)
