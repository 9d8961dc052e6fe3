"""One broker connection: paho's network thread hands messages and states to the hub."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from paho.mqtt.client import (
    Client,
    ConnectFlags,
    DisconnectFlags,
    MQTTMessage,
    MQTTMessageInfo,
)
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from phantom_gui.core.events import EventMetadata, SpectralEvent
from phantom_gui.core.resilience import Backoff
from phantom_gui.mqtt.check import ConnectionCheck, check_connection
from phantom_gui.mqtt.clients import connect_options, new_client
from phantom_gui.mqtt.config import ConnectionConfig, Subscription
from phantom_gui.mqtt.failures import (
    Failure,
    connect_failure,
    disconnect_reason,
    refusal,
    setup_failure,
)
from phantom_gui.mqtt.messages import MqttMessage, message_topic
from phantom_gui.mqtt.states import (
    ConnectionState,
    Status,
    SubscriptionOutcome,
    connection_state,
    state_topic,
    subscription_topic,
)

RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 60

Payload = str | bytes | bytearray | int | float | None


class ThreadsafePublisher(Protocol):
    """Where a connection puts what it receives: the hub, or a relay to the hub in another
    process."""

    def publish_threadsafe(
        self,
        topic: str,
        data: Any = None,
        *,
        source: str,
        metadata: EventMetadata | None = None,
    ) -> SpectralEvent | None:
        """Publish from any thread (see `EventHub.publish_threadsafe`)."""
        ...


class Connection:
    """A connection to one broker on paho's own network thread (`loop_start`).

    Each message received goes to the hub as an `MqttMessage` on `message_topic(id)`
    through `publish_threadsafe`, as do state changes (`ConnectionState`s on
    `state_topic(id)`) and the broker's answers to subscriptions (`SubscriptionOutcome`s);
    nothing else crosses threads. paho reconnects with exponential backoff
    (`RECONNECT_MIN_S` doubling up to `RECONNECT_MAX_S`) and every (re)connection subscribes
    again. A failure that retrying cannot fix (credentials refused, TLS, unknown host)
    ends in the `failed` state until `connect()` is called again. `client_class` makes the
    paho client (`Client` or a subclass).
    """

    def __init__(
        self,
        config: ConnectionConfig,
        hub: ThreadsafePublisher,
        *,
        client_class: Callable[..., Client] = Client,
    ) -> None:
        self.config = config
        self._client_class = client_class
        self._publish = hub.publish_threadsafe
        self._source = f"mqtt:{config.id}"
        self._message_topic = message_topic(config.id)
        self._backoff = Backoff(base=RECONNECT_MIN_S, maximum=RECONNECT_MAX_S)
        """The delays paho waits (documented in `Client.reconnect_delay_set`), to announce them."""
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._retries = 0
        self._stopping = False
        self._gave_up = False
        self._refused: Failure | None = None
        self._subscribing: dict[int, tuple[Subscription, ...]] = {}
        self.state: ConnectionState = connection_state(
            config, Status.DISCONNECTED, "not connected yet"
        )
        """The latest state (also published on the hub)."""

    @property
    def is_active(self) -> bool:
        """Connected, or connecting and retrying (not stopped, not given up)."""
        return self._client is not None and not self._gave_up

    def connect(self) -> None:
        """Start connecting on a network thread and return at once; nothing if active."""
        with self._lock:
            if self.is_active:
                return
            self._release()
            self._stopping = self._gave_up = False
            self._retries = 0
            self._refused = None
            try:
                client = new_client(self.config, self._client_class)
            except (OSError, ValueError) as error:
                self._set_state(Status.FAILED, setup_failure(error).message)
                return
            client.on_connect = self._on_connect
            client.on_connect_fail = self._on_connect_fail
            client.on_disconnect = self._on_disconnect
            client.on_subscribe = self._on_subscribe
            client.on_message = self._on_message
            client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
            self._set_state(Status.CONNECTING)
            config = self.config
            client.connect_async(
                config.host, config.port, config.keepalive, **connect_options(config)
            )
            client.loop_start()
            self._client = client

    def disconnect(self) -> SpectralEvent | None:
        """Close the connection and join its network thread (blocks up to about a second);
        return the final state's event, None if it was not started."""
        with self._lock:
            if self._client is None:
                return None
            self._release()
        return self._set_state(Status.DISCONNECTED, "closed by the user")

    def _release(self) -> None:
        """Stop the client (if any) and join its thread; its callbacks go quiet first."""
        client, self._client = self._client, None
        if client is None:
            return
        self._stopping = True
        client.disconnect()
        client.loop_stop()

    def test(self, timeout: float = 5.0) -> ConnectionCheck:
        """Try this connection's settings once, on a separate client (blocks; see
        `check_connection`)."""
        return check_connection(self.config, timeout)

    def publish(
        self, topic: str, payload: Payload = None, qos: int = 1, retain: bool = False
    ) -> MQTTMessageInfo:
        """Send a message (queued while reconnecting); `wait_for_publish()` on the result."""
        client = self._client
        if client is None:
            raise RuntimeError(f"the MQTT connection {self.config.name!r} is not started")
        return client.publish(topic, payload, qos, retain)

    # -- on paho's network thread ---------------------------------------------------------

    def _on_message(self, _client: Client, _userdata: Any, message: MQTTMessage) -> None:
        self._publish(
            self._message_topic,
            MqttMessage(
                self.config.id,
                message.topic,
                bytes(message.payload),  # paho hands over a bytearray slice
                message.qos,
                message.retain,
                time.time(),
            ),
            source=self._source,
        )

    def _on_connect(
        self,
        client: Client,
        _userdata: Any,
        _flags: ConnectFlags,
        reason: ReasonCode,
        _properties: Any,
    ) -> None:
        if reason.is_failure:
            failure = refusal(reason, self.config)
            if failure.permanent:
                self._give_up(client, failure)
            else:
                self._refused = failure  # paho disconnects next; `_on_disconnect` says why
            return
        self._retries = 0
        self._set_state(Status.CONNECTED)
        self._subscribe(client)

    def _subscribe(self, client: Client) -> None:
        subscriptions = self.config.subscriptions
        if not subscriptions:
            return
        if self.config.protocol == "5":
            with_options = [(s.pattern, SubscribeOptions(qos=s.qos)) for s in subscriptions]
            _, mid = client.subscribe(with_options)
        else:
            _, mid = client.subscribe([(s.pattern, s.qos) for s in subscriptions])
        if mid is not None:
            self._subscribing[mid] = subscriptions

    def _on_subscribe(
        self,
        _client: Client,
        _userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        _properties: Any,
    ) -> None:
        topic = subscription_topic(self.config.id)
        for subscription, reason in zip(self._subscribing.pop(mid, ()), reasons, strict=False):
            granted = not reason.is_failure
            answer = SubscriptionOutcome(
                connection=self.config.id,
                pattern=subscription.pattern,
                qos=subscription.qos,
                granted=granted,
                granted_qos=reason.value if granted else None,
                reason="" if granted else str(reason),
            )
            self._publish(topic, answer, source=self._source)

    def _on_disconnect(
        self,
        _client: Client,
        _userdata: Any,
        flags: DisconnectFlags,
        reason: ReasonCode,
        _properties: Any,
    ) -> None:
        if self._stopping or self._gave_up:
            return
        refused, self._refused = self._refused, None
        if refused is not None:
            why = refused.message
        else:
            why = disconnect_reason(reason, from_broker=flags.is_disconnect_packet_from_server)
        if self.state.status is Status.CONNECTED:
            self._set_state(Status.DISCONNECTED, why)
        self._announce_retry(why)

    def _on_connect_fail(self, client: Client, _userdata: Any) -> None:
        if self._stopping:
            return
        # paho calls this while it handles the connection error: that error is at hand.
        failure = connect_failure(sys.exception(), self.config)
        if failure.permanent:
            self._give_up(client, failure)
        else:
            self._announce_retry(failure.message)

    def _announce_retry(self, why: str) -> None:
        delay = float(self._backoff.delay(self._retries))
        self._retries += 1
        self._set_state(Status.RECONNECTING, why, delay)

    def _give_up(self, client: Client, failure: Failure) -> None:
        self._gave_up = True
        self._set_state(Status.FAILED, failure.message)
        client.disconnect()  # ends paho's loop: no more retries

    # -- either thread ----------------------------------------------------------------------

    def _set_state(
        self, status: Status, reason: str = "", retry_in: float | None = None
    ) -> SpectralEvent | None:
        self.state = connection_state(self.config, status, reason, retry_in)
        return self._publish(state_topic(self.config.id), self.state, source=self._source)
