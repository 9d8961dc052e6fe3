"""The recorder: journals the hub events that matter into the audit log, off the loop thread.

The hub's thread only appends to a queue; a writer thread commits the queue in
batches (group commit). A failed write keeps the batch and retries with backoff, so
nothing is dropped while the disk is full; a clean `stop()` flushes everything and seals
the epoch. While idle, the writer seals an epoch that has grown old (see `journal`).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reactivex import abc
from reactivex.disposable import Disposable

from phantom_gui.audit.events import EventType
from phantom_gui.audit.records import encode_data, event_columns
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.resilience import Backoff
from phantom_gui.core.topics import topic_matches

log = logging.getLogger("phantom.audit.recorder")

TOPIC_TYPES: tuple[tuple[str, EventType], ...] = (
    ("app/error", EventType.ERROR),
    ("hub/disturbance", EventType.ERROR),
    ("plugin/+/error", EventType.ERROR),
    ("security/#", EventType.SECURITY),
    ("coven/refused", EventType.SECURITY),
    ("plugin/+/state", EventType.PLUGIN_LIFECYCLE),
    ("plugin/+/haunt", EventType.HAUNT),
    ("mqtt/+/state", EventType.MQTT_CONNECTION),
    ("mqtt/+/subscription", EventType.MQTT_CONNECTION),
    ("app/#", EventType.APP_LIFECYCLE),
    ("+/anomaly/#", EventType.ANOMALY),
    ("+/sensor/#", EventType.SENSOR_READING),
    ("+/generation/#", EventType.GENERATION),
)
"""How a recorded hub topic is typed in the audit log (first match wins; else hub_event)."""

WRITE_BACKOFF = Backoff(base=0.2, maximum=10.0)


@dataclass(frozen=True)
class RecorderStatus:
    """What the status bar shows: records committed, writes pending, the last failure."""

    recorded: int
    pending: int
    error: str | None


def audit_type(topic: str) -> EventType:
    """The audit event type of a hub topic."""
    for pattern, event_type in TOPIC_TYPES:
        if topic_matches(pattern, topic):
            return event_type
    return EventType.HUB_EVENT


class Recorder:
    """Subscribes to the hub and writes the matching events to `storage` in batches."""

    def __init__(
        self,
        hub: EventHub,
        storage: AuditStorage,
        session_id: str,
        *,
        batch_size: int = 2_000,
        flush_interval: float = 0.05,
        on_progress: Callable[[RecorderStatus], None] | None = None,
    ) -> None:
        """`on_progress` is told the status on the writer thread after each batch and each
        idle wait (a few dozen times a second at most)."""
        self._hub = hub
        self._on_progress = on_progress
        self._storage = storage
        self.session_id = session_id
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._queue: deque[tuple[Any, ...]] = deque()
        self._types: dict[str, str] = {}
        self._wake = threading.Condition()
        self._progress = threading.Condition()
        self._settled = 0
        """Rows taken off the queue for good (written or dropped), guarded by `_progress`."""
        self._stopping = False
        self._iso_second = -1
        self._iso_prefix = ""
        self._patterns: dict[str, tuple[int, abc.DisposableBase | None]] = {}
        self._thread = threading.Thread(target=self._write_loop, name="audit-writer", daemon=True)
        self.recorded = 0
        self.error: str | None = None

    def start(self, patterns: Iterable[str]) -> None:
        """Record the topics matching `patterns` and start the writer thread."""
        for pattern in patterns:
            self.record(pattern)
        self._thread.start()

    def record(self, pattern: str) -> abc.DisposableBase:
        """Also record `pattern` until the returned disposable is disposed."""
        count, subscription = self._patterns.get(pattern, (0, None))
        if subscription is None:
            subscription = self._hub.on(pattern).subscribe(self._enqueue_hub_event)
        self._patterns[pattern] = (count + 1, subscription)
        return Disposable(lambda: self._forget(pattern))

    def _forget(self, pattern: str) -> None:
        if pattern not in self._patterns:
            return  # stop() let go of every pattern already
        count, subscription = self._patterns[pattern]
        if count > 1:
            self._patterns[pattern] = (count - 1, subscription)
            return
        del self._patterns[pattern]
        if subscription is not None:
            subscription.dispose()

    def enqueue(self, record: Mapping[str, Any]) -> None:
        """Queue an audit event dict for the next batch (any thread).

        Raises `ValueError` for an unknown event type, before anything is queued.
        """
        self._queue_row(event_columns(record))

    def _queue_row(self, row: tuple[Any, ...]) -> None:
        self._queue.append(row)
        if len(self._queue) == self._batch_size:
            with self._wake:
                self._wake.notify()

    def _enqueue_hub_event(self, event: SpectralEvent) -> None:
        metadata = event.metadata
        if metadata.get("replayed"):
            return
        run = metadata.get("run")
        phase = metadata.get("phase")
        topic = event.topic
        event_type = self._types.get(topic)
        if event_type is None:
            event_type = self._types.setdefault(topic, audit_type(topic).value)
        self._queue_row(
            (
                event.id,
                event_type,
                topic,
                event.source,
                self._iso(event.timestamp),
                run if isinstance(run, str) and run else self.session_id,
                phase if type(phase) is int else None,  # not a bool, str, float...
                event.data if event.data is not None else {},
            )
        )

    def _iso(self, timestamp: float) -> str:
        """`timestamp` in ISO 8601 (UTC, microseconds), the date part made once per second."""
        second = int(timestamp)
        micro = round((timestamp - second) * 1e6)
        if second < 0 or micro >= 1_000_000:
            return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")
        if second != self._iso_second:
            self._iso_second = second
            self._iso_prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._iso_prefix}.{micro:06d}+00:00"

    @property
    def status(self) -> RecorderStatus:
        """Records committed, events waiting to be written, and the last write failure."""
        return RecorderStatus(self.recorded, len(self._queue), self.error)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is committed; False on timeout."""
        with self._progress:
            target = self._settled + len(self._queue)
        with self._wake:
            self._wake.notify()
        with self._progress:
            return self._progress.wait_for(lambda: self._settled >= target, timeout)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop recording, write what is queued, and end the writer; False if it could not."""
        for _, subscription in self._patterns.values():
            if subscription is not None:
                subscription.dispose()
        self._patterns.clear()
        flushed = self.flush(timeout) if self._thread.is_alive() else not self._queue
        self._stopping = True
        with self._wake:
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return flushed

    def _write_loop(self) -> None:
        attempt = 0
        while True:
            with self._wake:
                if not self._queue and not self._stopping:
                    self._wake.wait(self._flush_interval)
            if self._stopping and not self._queue:
                self._quietly("seal the audit epoch", self._storage.seal)
                return
            batch = [self._queue[index] for index in range(min(len(self._queue), self._batch_size))]
            if not batch:
                self._quietly("seal the audit epoch", self._storage.seal_if_due)
                self._report()
                continue
            try:
                self._storage.append_rows(batch)
            except Exception as exc:
                if self._drop_unstorable(batch):
                    continue  # write the others at once
                self.error = str(exc)
                delay = WRITE_BACKOFF.delay(attempt)
                attempt += 1
                log.error(
                    "audit write failed (%d pending), retrying in %.1f s: %s",
                    len(self._queue),
                    delay,
                    exc,
                )
                if self._stopping:
                    return
                with self._wake:
                    self._wake.wait(delay)
                continue
            with self._progress:
                for _ in batch:
                    self._queue.popleft()
                self._settled += len(batch)
                self._progress.notify_all()
            self.recorded += len(batch)
            attempt = 0
            if self.error is not None:
                log.info("audit writes work again")
                self.error = None
            self._report()

    def _report(self) -> None:
        report = self._on_progress
        if report is not None:
            status = self.status
            self._quietly("report the audit status", lambda: report(status))

    @staticmethod
    def _quietly(what: str, action: Callable[[], object]) -> None:
        """Do `action` on the writer thread; a failure is logged, and writing goes on."""
        try:
            action()
        except Exception:
            log.exception("could not %s", what)

    def _drop_unstorable(self, batch: list[tuple[Any, ...]]) -> bool:
        """Take the records the log can never store (a value no column takes...) out of the
        queue, so that one bad event does not hold up every other; True if any went."""
        dropped = False
        with self._progress:
            for index in reversed(range(len(batch))):
                problem = _unstorable(batch[index])
                if problem is not None:
                    del self._queue[index]
                    self._settled += 1
                    dropped = True
                    log.error(
                        "audit record of %r dropped, it cannot be stored: %s",
                        batch[index][2] or batch[index][1],
                        problem,
                    )
            self._progress.notify_all()
        return dropped


def _unstorable(row: tuple[Any, ...]) -> str | None:
    """Why the log would refuse `row` whatever the state of the disk, or None."""
    try:
        values = (*row[:7], encode_data(row[7]))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    for value in values:
        if value is not None and not isinstance(value, str | int | float):
            return f"{type(value).__name__} is not a column value: {value!r}"
    return None
