"""How audit records read on screen: one-line previews, local times, the detail text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

PREVIEW_CHARS = 160
SHORT_ID_CHARS = 8
ALARM_TYPES = frozenset(
    {"security", "error", "audit_failed", "phase_failed", "verification_failed"}
)
HAUNTED_TYPES = frozenset({"haunt", "anomaly"})
DETAIL_FIELDS = ("type", "topic", "source", "audit_id", "phase", "id")


def preview(data: Any, limit: int = PREVIEW_CHARS) -> str:
    """`data` as compact one-line JSON, cut at `limit` characters."""
    text = json.dumps(data, ensure_ascii=False, separators=(", ", ": "), default=repr)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_id(identifier: str | None) -> str:
    """The first characters of a run id: enough to tell runs apart in a column."""
    return (identifier or "")[:SHORT_ID_CHARS]


def local_time(timestamp: str | None) -> str:
    """A stored ISO 8601 timestamp in local time, to the millisecond (as stored if unparsable)."""
    if not timestamp:
        return ""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def severity(record: dict[str, Any]) -> str:
    """How a view should mark the record: "alarm", "haunted", "cleared" or "normal"."""
    if not record["id"]:
        return "cleared"
    if record["type"] in ALARM_TYPES:
        return "alarm"
    if record["type"] in HAUNTED_TYPES:
        return "haunted"
    return "normal"


def run_label(run: dict[str, Any]) -> str:
    """A run as the run filter lists it: name, kind, start and short id."""
    name = run.get("name") or run.get("kind") or "run"
    kind = f" ({run['kind']})" if run.get("kind") and run.get("name") else ""
    return f"{name}{kind} · {local_time(run.get('started'))[:16]} · {short_id(run['id'])}"


def describe(record: dict[str, Any]) -> str:
    """Every field of the record, one per line, then its payload as indented JSON."""
    lines = [
        f"{'seq':<9} {record['seq']}",
        f"{'time':<9} {local_time(record['timestamp'])}",
        f"{'timestamp':<9} {record['timestamp']}",
    ]
    for field in DETAIL_FIELDS:
        value = record[field]
        lines.append(f"{field:<9} {'—' if value in (None, '') else value}")
    payload = json.dumps(record["data"], ensure_ascii=False, indent=2, default=repr)
    return "\n".join([*lines, "", "data", payload])
