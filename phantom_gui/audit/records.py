"""An audit event as a database row and back, and its payload as the journal stores it.

A payload is stored as JSON. Typed event data is written as JSON objects (`plain`), so
the journal stays readable and a replay gets plain dicts; bytes and other values JSON
has no type for, as their `repr`. A named tuple inside a
plain list or dict stays an array (JSON's own rule): plain payloads, the bulk of the
log, go straight to the C encoder and are never walked in Python.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from phantom_gui.audit.events import EventType, now_iso
from phantom_gui.core.events import new_event_id
from phantom_gui.core.plain import plain

EVENT_COLUMNS = ("seq", "id", "type", "topic", "source", "timestamp", "audit_id", "phase", "data")
RUN_RECORD_TYPE = EventType.AUDIT_UPDATED.value
RUN_TOPIC = "audit/run"
"""A record of this type and topic chains a row of the runs table (see `run_table`)."""

_TYPES = {member.value: member.value for member in EventType} | {
    member: member.value for member in EventType
}


def _typed(value: Any) -> Any:
    """What `json` cannot encode by itself: typed data as JSON types, else its `repr`."""
    converted = plain(value)
    return repr(value) if converted is value else converted


_encode = json.JSONEncoder(ensure_ascii=False, default=_typed).encode


def encode_data(data: Any) -> str:
    """A payload as the data column stores it."""
    if isinstance(data, tuple) and hasattr(data, "_asdict"):
        data = plain(data)  # json would write a named tuple as an array
    return _encode(data)


def event_columns(event: Mapping[str, Any]) -> tuple[Any, ...]:
    """An event dict as the row columns after `seq`, its payload not yet encoded.

    Raises `ValueError` for an unknown event type.
    """
    event_type = _TYPES.get(event["type"]) or EventType.parse(event["type"]).value
    phase = event.get("phase")
    data = event.get("data")
    return (
        event.get("id") or new_event_id(),
        event_type,
        event.get("topic"),
        event.get("source"),
        event.get("timestamp") or now_iso(),
        event.get("audit_id"),
        None if phase is None else int(phase),
        data if data is not None else {},
    )


def event_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A row of `EVENT_COLUMNS` as the event dict readers get."""
    return {
        "seq": row[0],
        "id": row[1],
        "type": row[2],
        "topic": row[3],
        "source": row[4],
        "timestamp": row[5],
        "audit_id": row[6],
        "phase": row[7],
        "data": json.loads(row[8]),
    }


def iso(moment: datetime | str | None) -> str | None:
    """A moment as the log stores times (ISO 8601), or None."""
    if moment is None or isinstance(moment, str):
        return moment
    return moment.isoformat(timespec="microseconds")
