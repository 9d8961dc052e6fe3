"""The coven bridge: chosen hub topics shared with the other members through the broker.

Each member sends its events on one MQTT topic of its own,
``phantom/coven/<coven>/events/<instance>`` (one topic per sender keeps MQTT's per-topic
order), at QoS 1, each in a sealed `Envelope` carrying the member's token; it receives
``phantom/coven/<coven>/events/+``. A received event reaches the local hub once, in its
sender's order and under its sender's event id, only if its token is valid, its role may
publish on its topic and the sender is the token's member (`speaks_for`); it is marked
with ``origin_realm`` (the sender) so it is never sent back. A member sending faster than
its rate limit is throttled where its messages enter, in the connection's network
process, before they are read (see `phantom_gui.mqtt.throttling`); the bridge turns those
drops into refusals. Every refusal is published on ``coven/refused`` (a `Refusal`), which
the audit log records, and counted in `traffic`. Use a bridge on the hub's thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, Disposable

from phantom_gui.core.errors import BanishmentError
from phantom_gui.core.events import EventMetadata, SpectralEvent, new_event_id
from phantom_gui.core.hub import EventHub
from phantom_gui.core.topics import TopicRouter, validate_pattern, validate_topic
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.dedup import SeenEvents
from phantom_gui.coven.envelope import (
    ENVELOPE_VERSION,
    Envelope,
    EnvelopeError,
    open_envelope,
    seal,
)
from phantom_gui.coven.ordering import SenderOrder
from phantom_gui.coven.presence import Members, MqttLink, Receipt
from phantom_gui.coven.reporting import ReportPacer
from phantom_gui.coven.topics import (
    events_pattern,
    events_topic,
    patterns_overlap,
    sender_of,
    validate_level,
)
from phantom_gui.coven.traffic import Refusal, RefusalKind, Traffic
from phantom_gui.mqtt.config import ConnectionConfig, Subscription
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.mqtt.throttling import Throttled

log = logging.getLogger("phantom.coven.bridge")

REFUSED_TOPIC = "coven/refused"
"""Where every refused event is reported (a `Refusal`)."""
NEVER_SHARED = ("mqtt/#", "coven/#")
"""Local topics never sent, whatever the shares: the connections' own traffic (the
coven's messages among it) and the bridge's reports."""

Handler = Callable[[SpectralEvent], None]


def is_remote(event: SpectralEvent) -> bool:
    """Whether `event` came from another member of the coven."""
    return "origin_realm" in event.metadata


def speaks_for(name: str, instance: str) -> bool:
    """Whether a token of member `name` may send as `instance` (``<name>-<suffix>``)."""
    owner, _, suffix = instance.rpartition("-")
    return owner == name and bool(suffix)


def with_bridge(config: ConnectionConfig, coven: str) -> ConnectionConfig:
    """`config` subscribed (QoS 1) to the events of every member of `coven`."""
    pattern = events_pattern(coven)
    if any(subscription.pattern == pattern for subscription in config.subscriptions):
        return config
    subscriptions = (*config.subscriptions, Subscription(pattern=pattern, qos=1))
    return config.model_copy(update={"subscriptions": subscriptions})


class CovenBridge:
    """Shares the local hub events matching `shares` with the coven on `link`, and hands
    the coven's events among `messages` (the connection's messages, which should come from
    a config made by `with_bridge`) to the local hub."""

    def __init__(
        self,
        hub: EventHub,
        link: MqttLink,
        messages: Observable[MqttMessage],
        *,
        coven: str,
        instance: str,
        auth: AuthService,
        token: str,
        shares: Sequence[str],
        throttled: Observable[Throttled] | None = None,
        rate_per_s: float | None = None,
        members: Members | None = None,
        clock: Callable[[], float] = time.time,
        seen: SeenEvents | None = None,
        order: SenderOrder[SpectralEvent] | None = None,
    ) -> None:
        self.coven = coven
        self.instance = validate_level(instance, "instance id")
        self.shares = tuple(validate_pattern(pattern) for pattern in shares)
        self._hub = hub
        self._link = link
        self._messages = messages
        self._topic = events_topic(coven, instance)
        self._auth = auth
        self._token = token
        self._throttled = throttled
        self._rate_per_s = rate_per_s
        self._members = members
        self._clock = clock
        self._seen = seen if seen is not None else SeenEvents()
        self._order: SenderOrder[SpectralEvent] = order if order is not None else SenderOrder()
        self._next_sequence = 1
        self._last_receipt: Receipt | None = None
        self._shared: TopicRouter[str] = TopicRouter()
        for pattern in self.shares:
            self._shared.add(pattern, pattern)
        self._never: TopicRouter[str] = TopicRouter()
        for pattern in NEVER_SHARED:
            self._never.add(pattern, pattern)
        self._reports = ReportPacer()
        self._gap_timer: asyncio.TimerHandle | None = None
        self._missed = 0
        self._late = 0
        self._running: CompositeDisposable | None = None
        self._subscriptions: dict[str, list[abc.DisposableBase]] = {}
        self.traffic = Traffic()

    # -- the seed's API -------------------------------------------------------------------

    def start(self) -> None:
        """Send the shared local events and take the coven's; nothing if started."""
        if self._running is not None:
            return
        running = CompositeDisposable()
        for pattern in self.shares:
            running.add(self._hub.on(pattern).subscribe(self._make_forwarder(pattern)))
        running.add(self._messages.subscribe(self._take))
        if self._throttled is not None:
            running.add(self._throttled.subscribe(self._dropped))
        self._running = running

    def stop(self) -> None:
        """Stop sending and taking events (handing on what waits for a gap), and drop the
        handlers of `subscribe`."""
        running, self._running = self._running, None
        if running is not None:
            running.dispose()
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        self._deliver(self._order.release_all())
        for pattern in list(self._subscriptions):
            self.unsubscribe(pattern)

    def publish(
        self, topic: str, data: Any = None, *, correlation_id: str | None = None
    ) -> Envelope:
        """Send `data` on hub `topic` to the coven (not to the local hub) and return its
        envelope; `EnvelopeError` naming what cannot travel, or `BanishmentError` when this
        member's role may not publish there, before anything is sent."""
        refusal = self._unsendable(validate_topic(topic))
        if refusal is not None:
            raise BanishmentError(refusal, source="coven")
        return self._send(new_event_id(), topic, data, correlation_id)

    def wait_sent(self, timeout: float | None = None) -> bool:
        """Block until the broker has acknowledged the last event sent, at most `timeout`
        s; whether it has (True when nothing was sent). `RuntimeError` if it never will."""
        receipt = self._last_receipt
        if receipt is None:
            return True
        receipt.wait_for_publish(timeout)
        return receipt.is_published()

    def subscribe(self, pattern: str, handler: Handler) -> abc.DisposableBase:
        """Call `handler` with each remote event whose topic matches `pattern`; dispose of
        the result (or `unsubscribe(pattern)`) to stop."""
        subscription = self._hub.on(pattern).pipe(ops.filter(is_remote)).subscribe(handler)
        self._subscriptions.setdefault(pattern, []).append(subscription)

        def dispose() -> None:
            subscription.dispose()
            remaining = self._subscriptions.get(pattern, [])
            if subscription in remaining:
                remaining.remove(subscription)
            if not remaining:
                self._subscriptions.pop(pattern, None)

        return Disposable(dispose)

    def unsubscribe(self, pattern: str) -> None:
        """Drop every handler `subscribe` added for `pattern`."""
        for subscription in self._subscriptions.pop(pattern, []):
            subscription.dispose()

    def get_subscribers(self, pattern: str) -> list[str]:
        """The online members (instance ids, sorted) sharing a pattern that some topic
        matching `pattern` also matches."""
        validate_pattern(pattern)
        if self._members is None:
            return []
        return sorted(
            status.instance
            for status in self._members.online()
            if any(patterns_overlap(pattern, shared) for shared in status.shares)
        )

    # -- sending --------------------------------------------------------------------------

    def _make_forwarder(self, pattern: str) -> Handler:
        def forward(event: SpectralEvent) -> None:
            if is_remote(event) or self._never.match(event.topic):
                return
            if self._shared.match(event.topic)[0] != pattern:
                return  # another shared pattern that matches sends it, once
            refusal = self._unsendable(event.topic)
            if refusal is not None:
                self._refuse(self.instance, event.topic, refusal, RefusalKind.FORBIDDEN)
                return
            try:
                self._send(event.id, event.topic, event.data, event.metadata.get("correlation_id"))
            except EnvelopeError as error:
                self._refuse(self.instance, event.topic, str(error), RefusalKind.UNSEALABLE)

        return forward

    def _unsendable(self, topic: str) -> str | None:
        """Why this member's own token may not carry an event on `topic` (the others would
        refuse it), or None."""
        try:
            claims = self._auth.verify(self._token)
        except BanishmentError as error:
            return f"this member's token is refused: {error}"
        if self._auth.may_publish(claims, topic):
            return None
        return (
            f"this member's role ({claims.role}) may not publish on {topic!r}, so it is not "
            "shared (join with a role that may)"
        )

    def _send(self, event_id: str, topic: str, data: Any, correlation_id: str | None) -> Envelope:
        envelope = Envelope(
            version=ENVELOPE_VERSION,
            id=event_id,
            topic=topic,
            source=self.instance,
            sequence=self._next_sequence,
            timestamp=self._clock(),
            correlation_id=correlation_id,
            token=self._token,
            payload=data,
        )
        sealed = seal(envelope)
        self._next_sequence += 1
        self._last_receipt = self._link.publish(self._topic, sealed, 1, False)
        self.traffic.sent(self.instance, topic)
        return envelope

    # -- receiving ------------------------------------------------------------------------

    def _take(self, message: MqttMessage) -> None:
        sender = sender_of(self.coven, message.topic)
        if sender is None or sender == self.instance:
            return
        try:
            envelope = open_envelope(message.payload)
        except EnvelopeError as error:
            self._refuse(sender, message.topic, str(error), RefusalKind.MALFORMED)
            return
        source, topic = envelope.source, envelope.topic
        if source != sender:
            reason = f"an envelope from {source!r} came on the events topic of {sender!r}"
            self._refuse(sender, topic, reason, RefusalKind.MALFORMED)
            return
        if not self._authorized(envelope):
            return
        if not self._seen.first_time(envelope.id):
            self.traffic.duplicate()
            return
        metadata: EventMetadata = {"origin_realm": source}
        if envelope.correlation_id is not None:
            metadata["correlation_id"] = envelope.correlation_id
        event = SpectralEvent(topic, envelope.payload, f"coven:{source}", metadata, id=envelope.id)
        self._deliver(self._order.arrive(source, envelope.sequence, event))
        self._wait_for_gaps()

    def _deliver(self, events: list[SpectralEvent]) -> None:
        """Hand `events` (in their senders' order) to the local hub; count the numbers
        given up and the events that came late."""
        order, traffic = self._order, self.traffic
        if order.missed_total > self._missed:
            traffic.gap(order.missed_total - self._missed)
            self._missed = order.missed_total
        while order.late_total > self._late:
            traffic.late_event()
            self._late += 1
        for event in events:
            traffic.received(event.metadata["origin_realm"], event.topic)
            self._hub.on_next(event)

    def _wait_for_gaps(self) -> None:
        """Release what waits for a gap when its wait is over (one timer at a time)."""
        wait_s = self._order.wait_s()
        if wait_s is None or self._gap_timer is not None:
            return

        def release() -> None:
            self._gap_timer = None
            self._deliver(self._order.release_due())
            self._wait_for_gaps()

        self._gap_timer = self._hub.call_later(wait_s, release)

    def _authorized(self, envelope: Envelope) -> bool:
        """Whether the envelope's token is valid and may publish on its topic; a refusal
        is reported. Checked before the event id and sequence are taken, so a forged
        envelope cannot hold back a member's genuine events."""
        token = envelope.token or ""
        try:
            claims = self._auth.verify(token)
        except BanishmentError as error:
            self._refuse(envelope.source, envelope.topic, str(error), RefusalKind.TOKEN)
            return False
        if not speaks_for(claims.name, envelope.source):
            reason = (
                f"the token of {claims.name} cannot speak for {envelope.source!r}: a member's "
                f"instance is named {claims.name}-<suffix>"
            )
            self._refuse(envelope.source, envelope.topic, reason, RefusalKind.TOKEN)
            return False
        try:
            self._auth.check_right(claims, envelope.topic)
        except BanishmentError as error:
            self._refuse(envelope.source, envelope.topic, str(error), RefusalKind.FORBIDDEN)
            return False
        return True

    def _dropped(self, report: Throttled) -> None:
        """Count and report what the connection's limit dropped of one topic (at most once
        a second per topic): the events of a member sending faster than its rate."""
        member = sender_of(self.coven, report["topic"]) or report["topic"]
        limit = "" if self._rate_per_s is None else f" of {self._rate_per_s:g}/s"
        reason = f"{member} sends faster than the coven's limit{limit}"
        count = report["count"]
        refusal = Refusal(member, report["topic"], reason, RefusalKind.THROTTLED, count - 1)
        self.traffic.refused(refusal, count)
        self._report(refusal)

    def _refuse(self, member: str, topic: str, reason: str, kind: RefusalKind) -> None:
        """Count the refusal; log and publish it unless the same refusal (member, kind and
        reason) was reported within the last second (the next report says how many were
        not)."""
        unreported = self._reports.due((member, kind, reason))
        refusal = Refusal(member, topic, reason, kind, unreported or 0)
        self.traffic.refused(refusal)
        if unreported is not None:
            self._report(refusal)

    def _report(self, refusal: Refusal) -> None:
        """Log `refusal` and publish it on `REFUSED_TOPIC`."""
        more = refusal.unreported
        log.warning(
            "coven %s: refused an event of %s on %s: %s%s",
            self.coven,
            refusal.member,
            refusal.topic,
            refusal.reason,
            f" ({more} more since the last report)" if more else "",
        )
        self._hub.publish(REFUSED_TOPIC, refusal, source="coven")
