"""Replay a recorded run into the hub at 1×, N× or step by step.

Replayed events keep their topic, source and payload (the log's own run records are not
replayed), carry ``replayed: True`` in
their metadata (so the recorder does not record them again) and are timed on a
reactivex scheduler, so tests replay in virtual time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from reactivex import abc

from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.core.hub import EventHub

REPLAY_SOURCE = "audit-replay"
REPLAY_BATCH = 500


class ReplaySession:
    """Publishes the events of one run, in order, paced by their recorded timestamps.

    `speed` is how many times faster than recorded (1.0 = as it happened); `None`
    means step by step: nothing moves until `step()`. `pause()`, `resume()` and
    `stop()` do what they say; `on_done` is called once the last event is out.
    """

    def __init__(
        self,
        storage: AuditStorage,
        hub: EventHub,
        scheduler: abc.SchedulerBase,
        where: EventFilter,
        *,
        speed: float | None = 1.0,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self._hub = hub
        self._scheduler = scheduler
        seqs = storage.matching_seqs(dataclasses.replace(where, events_only=True))
        self._events: Iterator[dict[str, Any]] = _in_batches(storage, seqs)
        self._next: dict[str, Any] | None = next(self._events, None)
        self._timer: abc.DisposableBase | None = None
        self._due: datetime | None = None
        self._on_done = on_done
        self.speed = speed
        self.total = len(seqs)
        self.published = 0
        self.paused = speed is None
        self.finished = self._next is None

    def start(self) -> None:
        """Begin replaying (at `speed`; in step mode, wait for `step()`)."""
        if not self.paused:
            self._schedule(0.0)

    def step(self) -> bool:
        """Publish the next event now; False when there is none left."""
        if self._next is None:
            return False
        self._publish_next()
        return True

    def pause(self) -> None:
        """Hold the replay where it is."""
        self.paused = True
        self._cancel()

    def resume(self, speed: float | None = None) -> None:
        """Go on (at a new `speed`, if given)."""
        previous = self.speed
        if speed is not None:
            self.speed = speed
        if self.speed is None or self.finished:
            return
        if not self.paused and self._timer is not None and self._due is not None and previous:
            # Running: only the pace changes; the rest of the current gap is kept, rescaled.
            left = max(0.0, (self._due - self._scheduler.now).total_seconds())
            self._schedule(left * previous / self.speed)
            return
        self.paused = False
        self._schedule(0.0)

    def stop(self) -> None:
        """End the replay; nothing more is published."""
        self._cancel()
        self._next = None
        self._finish()

    def _schedule(self, delay: float) -> None:
        self._cancel()
        self._due = self._scheduler.now + timedelta(seconds=delay)
        self._timer = self._scheduler.schedule_relative(delay, self._tick)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.dispose()
            self._timer = None

    def _tick(self, *_: Any) -> None:
        self._timer = None
        if self.paused or self._next is None:
            return
        current = self._next
        self._publish_next()
        following = self._next
        if following is None or self.paused or not self.speed:
            return
        gap = _seconds_between(current["timestamp"], following["timestamp"]) / self.speed
        self._schedule(max(0.0, gap))

    def _publish_next(self) -> None:
        record = self._next
        assert record is not None
        self._next = next(self._events, None)
        topic = record["topic"] or f"audit/{record['audit_id']}/{record['type']}"
        self._hub.publish(
            topic,
            record["data"],
            source=record["source"] or REPLAY_SOURCE,
            metadata={"replayed": True, "correlation_id": record["id"]},
        )
        self.published += 1
        if self._next is None:
            self._finish()

    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            if self._on_done is not None:
                self._on_done()


def _in_batches(
    storage: AuditStorage, seqs: list[int], batch: int = REPLAY_BATCH
) -> Iterator[dict[str, Any]]:
    """The events of `seqs`, read a batch at a time with no cursor left open in between.

    An open cursor would pin the reader to an old snapshot of the log for as long as
    the replay lasts, hiding newer records from the rest of the app.
    """
    for start in range(0, len(seqs), batch):
        yield from storage.events_by_seq(seqs[start : start + batch])


def _seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()
