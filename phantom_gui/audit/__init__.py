"""Qt-free audit log: crash-safe, tamper-evident storage of what happened, and its replay.

The seed's names come from here (`AuditStorage`, `EventEmitter`, `Event`, `EventType`);
each is imported on first use, so that importing a part of the package (as child
processes do) does not import the storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phantom_gui.audit.emitter import EventEmitter
    from phantom_gui.audit.events import Event, EventType
    from phantom_gui.audit.storage import AuditStorage

__all__ = ["AuditStorage", "Event", "EventEmitter", "EventType"]


def __getattr__(name: str) -> Any:
    """The seed's names, imported when first asked for (PEP 562)."""
    if name == "AuditStorage":
        from phantom_gui.audit.storage import AuditStorage

        return AuditStorage
    if name == "EventEmitter":
        from phantom_gui.audit.emitter import EventEmitter

        return EventEmitter
    if name in ("Event", "EventType"):
        from phantom_gui.audit import events

        return getattr(events, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
