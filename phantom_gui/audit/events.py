"""Audit events: the seed's frozen `Event` and the `EventType` enum."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Every kind of audit record: the seed's audit lifecycle, then Phantom's own."""

    AUDIT_STARTED = "audit_started"
    AUDIT_COMPLETED = "audit_completed"
    AUDIT_FAILED = "audit_failed"
    PHASE_STARTED = "phase_started"
    PHASE_COMPLETED = "phase_completed"
    PHASE_FAILED = "phase_failed"
    PHASE_SKIPPED = "phase_skipped"
    VERIFICATION_PASSED = "verification_passed"
    VERIFICATION_FAILED = "verification_failed"
    AUDIT_UPDATED = "audit_updated"
    EVENTS_CLEARED = "events_cleared"
    HUB_EVENT = "hub_event"
    APP_LIFECYCLE = "app_lifecycle"
    PLUGIN_LIFECYCLE = "plugin_lifecycle"
    SECURITY = "security"
    ERROR = "error"
    HAUNT = "haunt"
    SENSOR_READING = "sensor_reading"
    ANOMALY = "anomaly"
    GENERATION = "generation"
    MQTT_CONNECTION = "mqtt_connection"
    """A broker connection's state or a subscription's outcome (``hub_event`` in logs
    written before it had a type of its own)."""

    @classmethod
    def parse(cls, value: EventType | str) -> EventType:
        """The member named by `value`; `ValueError` listing the valid ones otherwise."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(member.value for member in cls)
            raise ValueError(f"unknown event type {value!r}; expected one of: {valid}") from None


def now_iso() -> str:
    """The current UTC time in ISO 8601 with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Event:
    """One immutable audit record (the seed's Event, plus the hub topic and source)."""

    type: EventType
    audit_id: str
    phase: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timestamp: str = field(default_factory=now_iso)
    topic: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "type": self.type.value,
            "timestamp": self.timestamp,
            "audit_id": self.audit_id,
            "phase": self.phase,
            "data": self.data,
            "topic": self.topic,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Event:
        """The event `to_dict` made; `ValueError` for an unknown type or a missing field."""
        try:
            return cls(
                type=EventType.parse(record["type"]),
                audit_id=str(record["audit_id"]),
                phase=record.get("phase"),
                data=dict(record.get("data") or {}),
                id=str(record["id"]),
                timestamp=str(record["timestamp"]),
                topic=record.get("topic"),
                source=record.get("source"),
            )
        except KeyError as exc:
            raise ValueError(f"audit event is missing the field {exc.args[0]!r}") from None
