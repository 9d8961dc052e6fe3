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
    focus: str | None = None
    """The connection to show when the user asks for more: the first in trouble, else the
    first; None when there is none."""


@dataclass(frozen=True)
class Trouble:
    """The connections that failed or are reconnecting: a few words, then one line each
    with the reason."""

    text: str
    detail: str
    connection: str
    """The first of them."""


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
        parts = [self._count(status, counts[status]) for status in _ORDER if counts[status]]
        if counts[Status.CONNECTED]:
            parts.append(f"{counts[Status.CONNECTED]} connected")
        detail = "\n".join(_line(state) for state in self.states)
        trouble = self.trouble()
        focus = trouble.connection if trouble is not None else self.states[0].connection
        return StatusSummary(f"MQTT: {' · '.join(parts)}", detail, trouble is not None, focus)

    def _count(self, status: Status, count: int) -> str:
        """``2 connecting…``; a connection in trouble alone in its state by name."""
        if count == 1 and status in _TROUBLE:
            [state] = (state for state in self.states if state.status is status)
            return f"{state.name} {_word(status)}"
        return f"{count} {_word(status)}"

    def trouble(self) -> Trouble | None:
        """The connections that failed or are reconnecting; None when there are none."""
        troubled = [state for state in self.states if state.troubled]
        if not troubled:
            return None
        first = troubled[0]
        if len(troubled) == 1:
            text = f"{first.name} ({first.broker}) is not connected: {_word(first.status)}"
        else:
            names = ", ".join(state.name for state in troubled)
            text = f"{len(troubled)} MQTT connections are not connected: {names}"
        return Trouble(text, "\n".join(_line(state) for state in troubled), first.connection)


def _word(status: Status) -> str:
    return f"{status}…" if status in (Status.RECONNECTING, Status.CONNECTING) else str(status)


def _line(state: ConnectionState) -> str:
    return f"{state.name} ({state.broker}): {state.message}"
