"""What a connection tells the hub about itself (its state, its subscriptions), and the
state of every connection that views select from the hub's blackboard."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from phantom_gui.mqtt.config import ConnectionConfig

STATE_PATTERN = "mqtt/+/state"
SUBSCRIPTION_PATTERN = "mqtt/+/subscription"
CONNECTIONS_KEY = "mqtt/connections"
"""The hub blackboard key of the current `MqttConnections`."""


def state_topic(connection: str) -> str:
    """The hub topic of connection `connection`'s `ConnectionState`s."""
    return f"mqtt/{connection}/state"


def subscription_topic(connection: str) -> str:
    """The hub topic of connection `connection`'s `SubscriptionOutcome`s."""
    return f"mqtt/{connection}/subscription"


class Status(StrEnum):
    """Where a connection stands."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    """Given up until the user connects again: refused credentials, a TLS or DNS error."""


_TROUBLE = frozenset({Status.FAILED, Status.RECONNECTING})
_AT_REST = frozenset({Status.DISCONNECTED, Status.FAILED})


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """A connection's state: the data of each ``mqtt/<id>/state`` event."""

    connection: str
    name: str
    broker: str
    status: Status
    message: str
    """One sentence for the user: "Reconnecting in 4 s: host:1883 refused the connection…"."""
    reason: str = ""
    """Why it is disconnected, reconnecting or failed; empty otherwise."""
    retry_in: float | None = None
    """Seconds until the next attempt, when reconnecting."""

    @property
    def troubled(self) -> bool:
        """Failed, or reconnecting after a failure."""
        return self.status in _TROUBLE

    @property
    def active(self) -> bool:
        """Connected, or trying to be (not closed, not given up)."""
        return self.status not in _AT_REST


def connection_state(
    config: ConnectionConfig, status: Status, reason: str = "", retry_in: float | None = None
) -> ConnectionState:
    """The state of connection `config` entering `status`."""
    match status:
        case Status.CONNECTING:
            message = f"Connecting to {config.broker}…"
        case Status.CONNECTED:
            message = f"Connected to {config.broker}"
        case Status.RECONNECTING:
            message = f"Reconnecting in {retry_in:g} s: {reason}"
        case _:
            message = f"{status.value.capitalize()}: {reason}"
    return ConnectionState(config.id, config.name, config.broker, status, message, reason, retry_in)


@dataclass(frozen=True, slots=True)
class SubscriptionOutcome:
    """The broker's answer to one subscription: the data of ``mqtt/<id>/subscription``."""

    connection: str
    pattern: str
    qos: int
    """The QoS asked for."""
    granted: bool
    granted_qos: int | None
    reason: str = ""
    """Why the broker refused it; empty when granted."""


@dataclass(frozen=True)
class StatusSummary:
    """Every connection's state in a few words (for the status bar), then one line each."""

    text: str
    detail: str
    alarming: bool


_ORDER = (Status.FAILED, Status.RECONNECTING, Status.CONNECTING, Status.DISCONNECTED)


@dataclass(frozen=True, slots=True)
class MqttConnections:
    """The state of every connection, in the order the service lists them; the value of
    `CONNECTIONS_KEY`."""

    states: tuple[ConnectionState, ...] = ()
    session_only: frozenset[str] = frozenset()
    """The connections for this run only (``--broker``, an embedded broker): never saved."""

    def get(self, connection: str) -> ConnectionState | None:
        """The state of `connection`, None if there is no such connection."""
        return next((state for state in self.states if state.connection == connection), None)

    @property
    def ids(self) -> tuple[str, ...]:
        """The connections' ids, in order."""
        return tuple(state.connection for state in self.states)

    def summary(self) -> StatusSummary:
        """Count the connections by state: "MQTT: 1 connected · 1 reconnecting…"."""
        if not self.states:
            return StatusSummary("MQTT: no connection", "No MQTT connection is configured", False)
        counts = Counter(state.status for state in self.states)
        parts = [f"{counts[status]} {_word(status)}" for status in _ORDER if counts[status]]
        if counts[Status.CONNECTED]:
            parts.append(f"{counts[Status.CONNECTED]} connected")
        detail = "\n".join(
            f"{state.name} ({state.broker}): {state.message}" for state in self.states
        )
        alarming = any(state.troubled for state in self.states)
        return StatusSummary(f"MQTT: {' · '.join(parts)}", detail, alarming)


def _word(status: Status) -> str:
    return f"{status}…" if status in (Status.RECONNECTING, Status.CONNECTING) else str(status)
