"""The seed's `EventEmitter`: emit typed audit events, tell subscribers, store them."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from phantom_gui.audit.events import Event, EventType
from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.storage import AuditStorage

log = logging.getLogger("phantom.audit.emitter")

Subscriber = Callable[[Event], None]
HISTORY = 10_000


class EventEmitter:
    """Emits audit events to subscribers and to storage.

    With `dry_run=True` (the seed's simulation) nothing is stored: a run can be
    rehearsed and its events inspected in `history`. A `sink` takes the place of
    `storage.append_event` (the app's recorder batches writes this way). When storage
    fails, the event is still emitted, kept in `history`, and a warning is logged.
    """

    def __init__(
        self,
        storage: AuditStorage | None = None,
        *,
        dry_run: bool = False,
        sink: Callable[[Mapping[str, Any]], None] | None = None,
        source: str | None = None,
    ) -> None:
        self.storage = storage
        self.dry_run = dry_run
        self._sink = sink
        self._source = source
        self._subscribers: list[Subscriber] = []
        self.history: deque[Event] = deque(maxlen=HISTORY)
        self.unstored = 0

    def emit(
        self, event_type: EventType | str, audit_id: str, phase: int | None = None, **data: Any
    ) -> Event:
        """Make, store and announce an event; `ValueError` for an unknown type."""
        event = Event(
            type=EventType.parse(event_type),
            audit_id=audit_id,
            phase=phase,
            data=data,
            source=self._source,
        )
        self.history.append(event)
        if not self.dry_run:
            self._store(event)
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("an audit event subscriber failed on %s", event.type.value)
        return event

    def _store(self, event: Event) -> None:
        try:
            if self._sink is not None:
                self._sink(event.to_dict())
            elif self.storage is not None:
                self.storage.append_event(event.to_dict())
        except OSError as exc:
            self.unstored += 1
            log.warning("audit event %s kept in memory only: %s", event.type.value, exc)

    def subscribe(self, callback: Subscriber) -> None:
        """Call `callback` with every event emitted from now on."""
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        """Stop calling `callback` (nothing happens if it was not subscribed)."""
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    def replay(self, audit_id: str, callback: Subscriber) -> int:
        """Call `callback` with each stored event of the run, in order; return how many.

        A dry-run emitter (or one without storage) replays what it emitted itself.
        """
        if self.dry_run or self.storage is None:
            events = [event for event in self.history if event.audit_id == audit_id]
            for event in events:
                callback(event)
            return len(events)
        count = 0
        for record in self.storage.iter_events(EventFilter(audit_id=audit_id, events_only=True)):
            callback(Event.from_dict(record))
            count += 1
        return count
