"""The event hub ("spectral nerves"): a reactivex `Subject` with MQTT-style routing.

All Rx graphs run on one thread, the one that owns the asyncio loop. Other threads
hand events in through `EventHub.publish_threadsafe`, the single thread-safe door.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable
from reactivex.subject import Subject

from phantom_gui.core.errors import DisturbanceError
from phantom_gui.core.events import EventMetadata, SpectralEvent
from phantom_gui.core.topics import TopicRouter, validate_pattern, validate_topic

log = logging.getLogger("phantom.hub")

DISTURBANCE_TOPIC = "hub/disturbance"
"""Where the hub reports a failed subscriber or a failed stream item."""

DeadLetterReason = Literal["no subscriber", "subscriber failed", "inbox full"]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event that no one handled, or that a subscriber failed on."""

    event: SpectralEvent
    reason: DeadLetterReason
    error: str = ""
    traceback: str = field(default="", repr=False)


_Observer = abc.ObserverBase[SpectralEvent]

INBOX_POLL_S = 0.001
"""While other threads keep publishing, the loop looks at the inbox this often."""
INBOX_SLICE_S = 0.01
"""The loop delivers what other threads published for at most about this long at a time,
then lets its other callbacks (timers, painting) run: a backlog never freezes the app."""
_SLICE_CHECK = 64
"""Events delivered between looks at the clock."""


class EventHub(Subject[SpectralEvent]):
    """The reactive event hub: publish events on topics and observe them by pattern.

    The hub is a reactivex `Subject`: subscribing to it observes every event, and it
    can itself subscribe to any observable of `SpectralEvent`. `on(pattern)` observes
    only the matching topics, routed through an index rather than a filter per
    subscriber. A subscriber that raises never stops delivery to the others: the
    failure is logged, kept in the bounded dead-letter queue and published on
    `DISTURBANCE_TOPIC`.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        dead_letter_capacity: int = 1000,
        inbox_capacity: int = 1_000_000,
        inbox_batch: int = 10_000,
        inbox_poll_s: float = INBOX_POLL_S,
        inbox_slice_s: float = INBOX_SLICE_S,
    ) -> None:
        super().__init__()
        self._router: TopicRouter[_Observer] = TopicRouter()
        self._loop = loop
        self._inbox: deque[SpectralEvent] = deque()
        self._inbox_capacity = inbox_capacity
        self._inbox_batch = inbox_batch
        self._inbox_poll_s = inbox_poll_s
        self._inbox_slice_s = inbox_slice_s
        self._drain_scheduled = False
        self._state: dict[Hashable, Any] = {}
        self._state_changes: Subject[tuple[Hashable, Any]] = Subject()
        self.dead_letters: deque[DeadLetter] = deque(maxlen=dead_letter_capacity)
        self.dead_letter_total = 0
        self.published_count = 0

    # -- publishing -------------------------------------------------------------------

    def is_heard(self, topic: str) -> bool:
        """Whether an event on `topic` would reach anyone now (else it would be a dead letter).

        Lets a publisher of a high-rate stream skip building events nobody receives.
        """
        return bool(self.observers) or bool(self._router.match(topic))

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Set the loop whose thread owns the hub (needed by `publish_threadsafe`)."""
        self._loop = loop

    def publish(
        self,
        topic: str,
        data: Any = None,
        *,
        source: str,
        metadata: EventMetadata | None = None,
    ) -> SpectralEvent:
        """Publish `data` on `topic` and return the event (on the hub's thread only)."""
        event = SpectralEvent(validate_topic(topic), data, source, metadata)
        self.on_next(event)
        return event

    def publish_threadsafe(
        self,
        topic: str,
        data: Any = None,
        *,
        source: str,
        metadata: EventMetadata | None = None,
    ) -> SpectralEvent:
        """Publish from any thread: the event is delivered on the loop's thread.

        Events from one thread are delivered in the order they were published. The
        event is stamped now, on the calling thread.
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError("EventHub.publish_threadsafe needs a loop: call bind_loop() first")
        event = SpectralEvent(validate_topic(topic), data, source, metadata)
        if len(self._inbox) >= self._inbox_capacity:
            self._dead_letter(event, "inbox full")
            return event
        self._inbox.append(event)
        if not self._drain_scheduled:
            self._drain_scheduled = True
            loop.call_soon_threadsafe(self._drain_inbox)
        return event

    def call_soon_threadsafe(self, callback: Callable[[], object]) -> None:
        """Run `callback` on the hub's thread, from any thread (a worker's reader hands
        its results over so)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("EventHub.call_soon_threadsafe needs a loop: call bind_loop() first")
        loop.call_soon_threadsafe(callback)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop whose thread owns the hub (`bind_loop`), for a view's coroutines."""
        if self._loop is None:
            raise RuntimeError("EventHub.loop: call bind_loop() first")
        return self._loop

    def call_later(self, delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        """Run `callback` on the hub's thread in `delay` seconds (from the hub's thread);
        `cancel()` the handle to call it off."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("EventHub.call_later needs a loop: call bind_loop() first")
        return loop.call_later(delay, callback)

    def _drain_inbox(self) -> None:
        """Deliver what other threads published, for about `inbox_slice_s` at most; while
        they keep publishing, look again every `inbox_poll_s` instead of being woken across
        threads for each event."""
        inbox = self._inbox
        delivered = 0
        deadline = time.perf_counter() + self._inbox_slice_s
        while delivered < self._inbox_batch:
            try:
                event = inbox.popleft()
            except IndexError:
                break
            self.on_next(event)
            delivered += 1
            if not delivered % _SLICE_CHECK and time.perf_counter() > deadline:
                break
        loop = self._loop
        if loop is None or loop.is_closed():
            self._drain_scheduled = False
        elif inbox:
            loop.call_soon(self._drain_inbox)
        elif delivered:
            loop.call_later(self._inbox_poll_s, self._drain_inbox)
        else:
            self._drain_scheduled = False
            if inbox:  # published after the look above, by a thread that saw no need to wake us
                self._drain_scheduled = True
                loop.call_soon(self._drain_inbox)

    # -- delivery ---------------------------------------------------------------------

    def on_next(self, value: SpectralEvent) -> None:
        """Route `value` to everyone observing the hub and to the matching `on()` streams."""
        if self.is_disposed:
            self.check_disposed()
        if self.is_stopped:
            return
        self.published_count += 1
        observers = self.observers
        subscribers = self._router.match(value.topic)
        if not subscribers and not observers:
            self._dead_letter(value, "no subscriber")
            return
        for observer in subscribers:
            try:
                observer.on_next(value)
            except Exception as exc:
                self._subscriber_failed(value, exc)
        if observers:
            for observer in tuple(observers):
                try:
                    observer.on_next(value)
                except Exception as exc:
                    self._subscriber_failed(value, exc)

    def _on_error_core(self, error: Exception) -> None:
        for observer in self._router.clear():
            observer.on_error(error)
        super()._on_error_core(error)

    def _on_completed_core(self) -> None:
        for observer in self._router.clear():
            observer.on_completed()
        super()._on_completed_core()

    def dispose(self) -> None:
        """Detach every subscriber; publishing or subscribing afterwards raises."""
        with self.lock:
            self._router.clear()
            self._state_changes.dispose()
            super().dispose()

    # -- observing ----------------------------------------------------------------------

    def on(self, pattern: str) -> Observable[SpectralEvent]:
        """The events whose topic matches the MQTT-style `pattern` (``+``, ``#``)."""
        validate_pattern(pattern)

        def subscribe(
            observer: _Observer, scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            with self.lock:
                self.check_disposed()
                if not self.is_stopped:
                    self._router.add(pattern, observer)
                    return Disposable(lambda: self._router.remove(pattern, observer))
            if self.exception is not None:
                observer.on_error(self.exception)
            else:
                observer.on_completed()
            return Disposable()

        return Observable(subscribe)

    @property
    def subscription_count(self) -> int:
        """How many `on()` subscriptions are live."""
        return len(self._router)

    # -- the blackboard -----------------------------------------------------------------

    def set_state(self, key: Hashable, value: Any) -> None:
        """Store `value` under `key` and tell the `select(key)` streams."""
        self._state[key] = value
        self._state_changes.on_next((key, value))

    def get_state(self, key: Hashable, default: Any = None) -> Any:
        """The value stored under `key`, or `default`."""
        return self._state.get(key, default)

    def select(self, key: Hashable) -> Observable[Any]:
        """The current value of `key` (if set), then each distinct change."""

        def about_key(change: tuple[Hashable, Any]) -> bool:
            return change[0] == key

        def value_of(change: tuple[Hashable, Any]) -> Any:
            return change[1]

        def current_then_changes(_: Any) -> Observable[Any]:
            changes = self._state_changes.pipe(ops.filter(about_key), ops.map(value_of))
            if key in self._state:
                return changes.pipe(ops.start_with(self._state[key]))
            return changes

        return reactivex.defer(current_then_changes).pipe(ops.distinct_until_changed())

    # -- stream helpers -----------------------------------------------------------------

    def process_stream(
        self, source: Observable[Any], fn: Callable[[Any], Observable[Any]]
    ) -> Observable[Any]:
        """Map each item through `fn`; a failing item becomes a disturbance, not an end."""

        def guarded(item: Any) -> Observable[Any]:
            def disturbed(exc: Exception, _: Observable[Any]) -> Observable[Any]:
                self._report_disturbance("stream item", item, exc)
                return reactivex.empty()

            try:
                inner = fn(item)
            except Exception as exc:
                return disturbed(exc, reactivex.empty())
            return inner.pipe(ops.catch(disturbed))

        return source.pipe(ops.flat_map(guarded))

    @staticmethod
    def fuse_streams(*streams: Observable[Any]) -> Observable[list[Any]]:
        """The latest value of every stream, as a list, whenever any of them emits."""
        return reactivex.combine_latest(*streams).pipe(ops.map(list))

    # -- failures -----------------------------------------------------------------------

    def _dead_letter(
        self, event: SpectralEvent, reason: DeadLetterReason, exc: BaseException | None = None
    ) -> None:
        self.dead_letter_total += 1
        if exc is None:
            self.dead_letters.append(DeadLetter(event, reason))
        else:
            self.dead_letters.append(
                DeadLetter(event, reason, _describe(exc), "".join(traceback.format_exception(exc)))
            )

    def _subscriber_failed(self, event: SpectralEvent, exc: Exception) -> None:
        self._dead_letter(event, "subscriber failed", exc)
        if event.topic == DISTURBANCE_TOPIC:
            log.error("a subscriber of %s failed: %s", DISTURBANCE_TOPIC, _describe(exc))
            return
        self._report_disturbance("subscriber", event, exc)

    def _report_disturbance(self, where: str, item: Any, exc: BaseException) -> None:
        error = DisturbanceError(f"{where} failed: {_describe(exc)}", source="hub")
        log.error("%s", error, exc_info=exc)
        about = (
            {"topic": item.topic, "event_id": item.id}
            if isinstance(item, SpectralEvent)
            else {"item": repr(item)[:200]}
        )
        self.publish(
            DISTURBANCE_TOPIC,
            {"where": where, "error": type(error).__name__, "message": str(error), **about},
            source="hub",
        )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
