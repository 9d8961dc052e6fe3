"""What a broker keeps for a new subscription: per connection, the last retained message of
each topic; and the stream of a connection's messages that begins with them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.mqtt.messages import MqttMessage, message_topic

log = logging.getLogger("phantom.mqtt")

EVERY_CONNECTION = "+"
MAX_TOPICS = 20_000
"""The most topics kept per connection."""
MAX_BYTES = 32 * 1024 * 1024
"""The most bytes (topics and payloads) kept per connection."""

_Observer = abc.ObserverBase[MqttMessage]


@dataclass(frozen=True, slots=True)
class RetainedStats:
    """What one connection keeps of its broker's retained messages."""

    topics: int = 0
    bytes: int = 0
    """Of the topics and payloads kept."""
    dropped: int = 0
    """Retained messages not kept because a cap was reached."""

    def sentence(self) -> str:
        """``Retained messages kept for new subscribers: 12 topics, 3.4 KiB.``"""
        kept = f"{self.topics:,} topic{'s' if self.topics != 1 else ''}"
        text = f"Retained messages kept for new subscribers: {kept}, {self.bytes / 1024:,.1f} KiB"
        if self.dropped:
            text += f"; {self.dropped:,} not kept, beyond the limits"
        return f"{text}."


class RetainedTopics:
    """One connection's last retained message of each topic, within caps on topics and bytes.

    A message that does not fit is dropped and counted, together with the older copy of its
    topic (which it outdates); an empty payload removes its topic, as it does on a broker.
    """

    def __init__(self, max_topics: int = MAX_TOPICS, max_bytes: int = MAX_BYTES) -> None:
        self._max_topics = max_topics
        self._max_bytes = max_bytes
        self.by_topic: dict[str, MqttMessage] = {}
        """The message kept of each topic, in the order the topics first arrived (read it,
        change it with `keep`)."""
        self._bytes = 0
        self.dropped = 0

    @property
    def stats(self) -> RetainedStats:
        """How many topics and bytes are kept, and how many messages were dropped."""
        return RetainedStats(len(self.by_topic), self._bytes, self.dropped)

    def messages(self) -> tuple[MqttMessage, ...]:
        """The messages kept, in the order their topics first arrived."""
        return tuple(self.by_topic.values())

    def keep(self, message: MqttMessage) -> bool:
        """Keep `message` as its topic's copy; False if a cap dropped it."""
        topic, payload = message.topic, message.payload
        old = self.by_topic.get(topic)
        freed = 0 if old is None else len(topic) + len(old.payload)
        if not payload:
            self._forget(topic, freed)
            return True
        size = len(topic) + len(payload)
        crowded = old is None and len(self.by_topic) >= self._max_topics
        if crowded or self._bytes - freed + size > self._max_bytes:
            self._forget(topic, freed)
            self.dropped += 1
            return False
        self.by_topic[topic] = message
        self._bytes += size - freed
        return True

    def _forget(self, topic: str, size: int) -> None:
        if self.by_topic.pop(topic, None) is not None:
            self._bytes -= size


class RetainedMessages:
    """Every connection's retained topics, handed to each new subscriber before the live
    messages, as a broker does for a new subscription.

    It is the hub's subscriber of every connection's messages and hands each on to its own
    subscribers, after keeping it if it is retained or on a topic already kept: a broker
    clears the retained flag on what it forwards to a subscription that exists already
    (MQTT 3.1.1 always, MQTT 5 unless asked to keep it), so such a message stands for the
    broker's newer copy (and an empty one for its removal). Keeping, handing on and
    subscribing all happen on the hub's thread, so a subscriber gets each message once,
    from the kept ones or from the live stream. An `internal` connection's messages go
    only to the subscribers of that connection, never to those of every connection.
    """

    def __init__(
        self, hub: EventHub, *, max_topics: int = MAX_TOPICS, max_bytes: int = MAX_BYTES
    ) -> None:
        self._max_topics = max_topics
        self._max_bytes = max_bytes
        self._kept: dict[str, RetainedTopics] = {}
        self._internal: set[str] = set()
        self._everything: tuple[_Observer, ...] = ()
        self._by_connection: dict[str, tuple[_Observer, ...]] = {}
        self._following = hub.on(message_topic(EVERY_CONNECTION)).subscribe(
            self._received, self._failed, self._completed
        )

    def messages(self, connection: str = EVERY_CONNECTION) -> Observable[MqttMessage]:
        """The messages of `connection` (``+``: of every connection): first the last retained
        message of each topic, then each message as it arrives. Subscribe on the hub's
        thread."""

        def subscribe(
            observer: _Observer, scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            kept = self._kept_for(connection)
            self._add(connection, observer)
            try:
                for message in kept:
                    observer.on_next(message)
            except BaseException:
                self._remove(connection, observer)
                raise
            return Disposable(lambda: self._remove(connection, observer))

        return Observable(subscribe)

    def stats(self, connection: str) -> RetainedStats:
        """What `connection` keeps (nothing yet for a connection that received nothing)."""
        kept = self._kept.get(connection)
        return RetainedStats() if kept is None else kept.stats

    def set_internal(self, connection: str, internal: bool = True) -> None:
        """Keep `connection`'s messages from the subscribers of every connection (or, with
        `internal` False, no longer)."""
        if internal:
            self._internal.add(connection)
        else:
            self._internal.discard(connection)

    def is_internal(self, connection: str) -> bool:
        """Whether `connection`'s messages are kept from the subscribers of every connection."""
        return connection in self._internal

    def forget(self, connection: str) -> None:
        """Let go of what `connection` kept (it subscribes anew, or is gone)."""
        self._kept.pop(connection, None)

    def dispose(self) -> None:
        """Stop following the hub."""
        self._following.dispose()

    # -- on the hub's thread ----------------------------------------------------------------

    def _received(self, event: SpectralEvent) -> None:
        message = event.data
        if type(message) is not MqttMessage:
            return  # a replayed event carries a plain dict
        connection = message.connection
        kept = self._kept.get(connection)
        if message.retained or (kept is not None and message.topic in kept.by_topic):
            self._keep(message, kept)
        observers = () if connection in self._internal else self._everything
        if self._by_connection:
            observers += self._by_connection.get(connection, ())
        failure = None
        for observer in observers:
            try:
                observer.on_next(message)
            except Exception as exc:
                if failure is not None:
                    log.error("a subscriber of MQTT messages failed", exc_info=exc)
                failure = failure or exc
        if failure is not None:
            raise failure  # the hub reports it as this event's failed subscriber

    def _keep(self, message: MqttMessage, kept: RetainedTopics | None) -> None:
        if kept is None:
            kept = self._kept[message.connection] = RetainedTopics(
                self._max_topics, self._max_bytes
            )
        if not kept.keep(message) and kept.dropped == 1:
            log.warning(
                "MQTT connection %s: more retained messages than the %s topics or %s bytes "
                "kept for later subscribers; the rest are not kept",
                message.connection,
                f"{self._max_topics:,}",
                f"{self._max_bytes:,}",
            )

    def _failed(self, error: Exception) -> None:
        for observer in self._all_observers():
            observer.on_error(error)

    def _completed(self) -> None:
        for observer in self._all_observers():
            observer.on_completed()

    def _all_observers(self) -> tuple[_Observer, ...]:
        everyone = self._everything + tuple(
            observer for observers in self._by_connection.values() for observer in observers
        )
        self._everything, self._by_connection = (), {}
        return everyone

    def _kept_for(self, connection: str) -> tuple[MqttMessage, ...]:
        if connection != EVERY_CONNECTION:
            kept = self._kept.get(connection)
            return () if kept is None else kept.messages()
        return tuple(
            message
            for connection_id, kept in self._kept.items()
            if connection_id not in self._internal
            for message in kept.messages()
        )

    def _add(self, connection: str, observer: _Observer) -> None:
        if connection == EVERY_CONNECTION:
            self._everything = (*self._everything, observer)
        else:
            self._by_connection[connection] = (*self._by_connection.get(connection, ()), observer)

    def _remove(self, connection: str, observer: _Observer) -> None:
        if connection == EVERY_CONNECTION:
            self._everything = _without(self._everything, observer)
            return
        remaining = _without(self._by_connection.get(connection, ()), observer)
        if remaining:
            self._by_connection[connection] = remaining
        else:
            self._by_connection.pop(connection, None)


def _without(observers: tuple[_Observer, ...], observer: _Observer) -> tuple[_Observer, ...]:
    return tuple(other for other in observers if other is not observer)
