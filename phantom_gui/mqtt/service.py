"""The MQTT service: the run's broker connections, their saved profiles, their audit trail."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

from phantom_gui.audit.service import AuditService
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.limits import Limiter
from phantom_gui.core.settings import Settings
from phantom_gui.mqtt.check import ConnectionCheck, check_connection
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.mqtt.network_process import ProcessConnection
from phantom_gui.mqtt.profiles import ConnectionStore, PasswordStorage
from phantom_gui.mqtt.retained import (
    EVERY_CONNECTION,
    MAX_BYTES,
    MAX_TOPICS,
    RetainedMessages,
    RetainedStats,
)
from phantom_gui.mqtt.states import (
    CONNECTIONS_KEY,
    STATE_PATTERN,
    SUBSCRIPTION_PATTERN,
    ConnectionState,
    MqttConnections,
    Status,
)
from phantom_gui.mqtt.throttling import THROTTLED_PATTERN, Throttled

log = logging.getLogger("phantom.mqtt")

DELIVERY_TIMEOUT_S = 5.0
"""How long `MqttService` waits for the hub to deliver a connection's final state."""


class MqttService:
    """Owns every broker connection: saved profiles, and session ones (`--broker`, an
    embedded broker) that are never saved.

    Plugins granted the ``mqtt`` permission reach it as the ``mqtt`` service. The methods
    that wait for the network (`stop`, `save`, `remove`, `disconnect`, `test`) are
    coroutines that do the waiting on a worker thread. The state of every connection, as
    one `MqttConnections`, is kept in the hub's blackboard under `CONNECTIONS_KEY`: views
    `select` it, plugins follow `states()`. `messages()` hands a new subscriber the
    broker's retained messages received so far before the live ones, so nothing retained
    is lost to a consumer that starts late; `max_retained_topics` and
    `max_retained_bytes` bound what is kept per connection. `topic_limiter` makes each
    connection's limiter of messages per topic (see `ProcessConnection`).
    """

    def __init__(
        self,
        hub: EventHub,
        settings: Settings,
        *,
        audit: AuditService | None = None,
        keyring_available: bool | None = None,
        max_retained_topics: int = MAX_TOPICS,
        max_retained_bytes: int = MAX_BYTES,
        topic_limiter: Callable[[], Limiter] | None = None,
    ) -> None:
        self._hub = hub
        self._topic_limiter = topic_limiter
        self._retained = RetainedMessages(
            hub, max_topics=max_retained_topics, max_bytes=max_retained_bytes
        )
        self._audit = audit
        self.store = ConnectionStore(settings, keyring_available=keyring_available)
        """The saved profiles, and where passwords go."""
        configs, self.problems = self.store.load()
        """Profiles in the settings that could not be read, one sentence each."""
        self._connections = {config.id: self._new_connection(config) for config in configs}
        self._session_ids: set[str] = set()
        self._recording: list[abc.DisposableBase] = []
        self._started = False
        self._show_connections()
        self._following = CompositeDisposable(
            hub.on(STATE_PATTERN).subscribe(self._state_changed),
            hub.on(THROTTLED_PATTERN).subscribe(self._throttled),
        )

    # -- what there is ----------------------------------------------------------------------

    @property
    def has_broker(self) -> bool:
        """Whether any connection is configured (saved or for this session)."""
        return bool(self._connections)

    def configs(self) -> list[ConnectionConfig]:
        """The settings of every connection, saved ones first as they were added."""
        return [connection.config for connection in self._connections.values()]

    def connection(self, connection_id: str) -> ProcessConnection:
        """The connection `connection_id` (`KeyError` if there is none)."""
        return self._connections[connection_id]

    def has(self, connection_id: str) -> bool:
        """Whether there is a connection `connection_id` (saved or for this session)."""
        return connection_id in self._connections

    def is_saved(self, connection_id: str) -> bool:
        """False for the session's connections, which end with the run."""
        return connection_id in self._connections and connection_id not in self._session_ids

    @property
    def connections(self) -> MqttConnections:
        """The state of every connection now (as the blackboard has it)."""
        current: MqttConnections = self._hub.get_state(CONNECTIONS_KEY)
        return current

    def config(self, connection_id: str) -> ConnectionConfig:
        """The settings of connection `connection_id` (`KeyError` if there is none)."""
        return self._connections[connection_id].config

    def states(self) -> Observable[MqttConnections]:
        """The state of every connection now, then each change (a plugin's view of
        `CONNECTIONS_KEY`)."""
        return self._hub.select(CONNECTIONS_KEY)

    def messages(self, connection: str = EVERY_CONNECTION) -> Observable[MqttMessage]:
        """The messages `connection` receives (``+``: every connection but the internal
        ones): first the last retained message of each topic received so far, then each
        message as it arrives, every one once. Subscribe on the hub's thread."""
        return self._retained.messages(connection)

    def retained(self, connection_id: str) -> RetainedStats:
        """What connection `connection_id` keeps of its broker's retained messages."""
        return self._retained.stats(connection_id)

    def _new_connection(
        self, config: ConnectionConfig, limiter: Limiter | None = None
    ) -> ProcessConnection:
        if limiter is None and self._topic_limiter is not None:
            limiter = self._topic_limiter()
        return ProcessConnection(config, self._hub, limiter)

    def _show_connections(self) -> None:
        """Put the state of every connection on the blackboard."""
        self._hub.set_state(
            CONNECTIONS_KEY,
            MqttConnections(
                tuple(connection.state for connection in self._connections.values()),
                frozenset(self._session_ids),
            ),
        )

    def _state_changed(self, event: SpectralEvent) -> None:
        """A connection's new state, in the order the hub delivers them (a replayed state,
        or the last word of a connection removed already, changes nothing)."""
        new = event.data
        if not isinstance(new, ConnectionState) or new.connection not in self._connections:
            return
        if new.status is Status.CONNECTED:
            self._retained.forget(new.connection)  # the broker sends them anew on subscribing
        current = self.connections
        states = tuple(new if old.connection == new.connection else old for old in current.states)
        self._hub.set_state(CONNECTIONS_KEY, replace(current, states=states))

    def _throttled(self, event: SpectralEvent) -> None:
        """Log what a connection's topic limit dropped (the coven reports its own)."""
        connection = event.topic.split("/")[1]
        report: Throttled = event.data
        if connection in self._connections and not self._retained.is_internal(connection):
            log.warning(
                "MQTT connection %s: dropped %d messages of %s, which came faster than its "
                "limit per topic (%d dropped since it connected)",
                connection,
                report["count"],
                report["topic"],
                report["total"],
            )

    # -- running ----------------------------------------------------------------------------

    def start(self) -> None:
        """Record connection states and subscriptions in the audit log; connect everything."""
        recorder = None if self._audit is None else self._audit.recorder
        if recorder is not None:
            self._recording = [
                recorder.record(STATE_PATTERN),
                recorder.record(SUBSCRIPTION_PATTERN),
            ]
        self._started = True
        for connection in self._connections.values():
            connection.connect()

    async def stop(self) -> None:
        """Disconnect everything and end the network processes."""
        self._started = False
        await self._disconnect(*self._connections.values())
        for recording in self._recording:
            recording.dispose()
        self._recording = []
        self._following.dispose()
        self._retained.dispose()

    def connect(self, connection_id: str) -> None:
        """(Re)start connecting `connection_id`, e.g. after it failed or was disconnected."""
        self._connections[connection_id].connect()

    async def disconnect(self, connection_id: str) -> None:
        """Disconnect `connection_id` until `connect` is called."""
        await self._disconnect(self._connections[connection_id])

    async def _disconnect(self, *connections: ProcessConnection) -> None:
        """Disconnect on worker threads; return once the hub has delivered each final
        state, so that the status bar shows it and the audit log records it."""
        delivered: set[str] = set()
        finals: set[str] = set()
        all_delivered = asyncio.Event()

        def seen(event: SpectralEvent) -> None:
            delivered.add(event.id)
            if finals and finals <= delivered:
                all_delivered.set()

        subscription = self._hub.on(STATE_PATTERN).subscribe(seen)
        try:
            events = await asyncio.gather(
                *(asyncio.to_thread(connection.disconnect) for connection in connections)
            )
            finals.update(event.id for event in events if event is not None)
            if not finals <= delivered and not self._hub.is_stopped:
                await asyncio.wait_for(all_delivered.wait(), DELIVERY_TIMEOUT_S)
        except TimeoutError:
            log.warning("the hub did not deliver the final MQTT states in time")
        finally:
            subscription.dispose()

    async def test(self, config: ConnectionConfig, timeout: float = 5.0) -> ConnectionCheck:
        """Try `config` once on a worker thread (the dialog's Test button)."""
        return await asyncio.to_thread(check_connection, config, timeout)

    # -- changing what there is -------------------------------------------------------------

    def add_session(
        self, config: ConnectionConfig, *, internal: bool = False, limiter: Limiter | None = None
    ) -> ProcessConnection:
        """Add a connection for this run only (never saved); it connects once started. The
        messages of an `internal` one (the coven's) reach only `messages(config.id)`, never
        `messages(EVERY_CONNECTION)`. A `limiter` replaces the service's topic limiter."""
        if config.id in self._connections:
            raise ValueError(f"there is already an MQTT connection with the id {config.id!r}")
        self._retained.set_internal(config.id, internal)
        connection = self._connections[config.id] = self._new_connection(config, limiter)
        self._session_ids.add(config.id)
        self._show_connections()
        if self._started:
            connection.connect()
        return connection

    async def save(self, config: ConnectionConfig) -> PasswordStorage:
        """Add or change a saved profile (a session connection becomes saved); the
        connection restarts with the new settings. Returns where the password went."""
        storage = self.store.save(config)
        previous = self._connections.get(config.id)
        if previous is not None:
            await self._disconnect(previous)
        connection = self._connections[config.id] = self._new_connection(config)
        self._session_ids.discard(config.id)
        self._show_connections()
        if self._started:
            connection.connect()
        return storage

    async def remove(self, connection_id: str) -> None:
        """Disconnect `connection_id` and forget it (a saved one with its profile and password)."""
        if self.is_saved(connection_id):
            self.store.remove(connection_id)
        connection = self._connections.pop(connection_id)
        self._session_ids.discard(connection_id)
        self._retained.forget(connection_id)
        self._retained.set_internal(connection_id, False)
        self._show_connections()
        await self._disconnect(connection)
