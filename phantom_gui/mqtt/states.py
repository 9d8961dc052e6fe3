"""What a connection tells the hub about itself: its state and its subscriptions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict

from phantom_gui.mqtt.config import ConnectionConfig

STATE_PATTERN = "mqtt/+/state"
SUBSCRIPTION_PATTERN = "mqtt/+/subscription"


def state_topic(connection: str) -> str:
    """The hub topic of connection `connection`'s `StateEvent`s."""
    return f"mqtt/{connection}/state"


def subscription_topic(connection: str) -> str:
    """The hub topic of connection `connection`'s `SubscriptionEvent`s."""
    return f"mqtt/{connection}/subscription"


class Status(StrEnum):
    """Where a connection stands."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    """Given up until the user connects again: refused credentials, a TLS or DNS error."""


class StateEvent(TypedDict):
    """The payload of ``mqtt/<id>/state``: a change of a connection's state."""

    connection: str
    name: str
    broker: str
    state: str
    """A `Status` value."""
    message: str
    """One sentence for the user: "Reconnecting in 4 s: host:1883 refused the connection…"."""
    reason: str
    """Why it is disconnected, reconnecting or failed; empty otherwise."""
    retry_in: float | None
    """Seconds until the next attempt, when reconnecting."""


class SubscriptionEvent(TypedDict):
    """The payload of ``mqtt/<id>/subscription``: the broker's answer to one subscription."""

    connection: str
    pattern: str
    qos: int
    """The QoS asked for."""
    granted: bool
    granted_qos: int | None
    reason: str
    """Why the broker refused it; empty when granted."""


def state_event(
    config: ConnectionConfig, status: Status, reason: str = "", retry_in: float | None = None
) -> StateEvent:
    """The `StateEvent` of connection `config` entering `status`."""
    match status:
        case Status.CONNECTING:
            message = f"Connecting to {config.broker}…"
        case Status.CONNECTED:
            message = f"Connected to {config.broker}"
        case Status.RECONNECTING:
            message = f"Reconnecting in {retry_in:g} s: {reason}"
        case _:
            message = f"{status.value.capitalize()}: {reason}"
    return StateEvent(
        connection=config.id,
        name=config.name,
        broker=config.broker,
        state=status.value,
        message=message,
        reason=reason,
        retry_in=retry_in,
    )


_ORDER = (Status.FAILED, Status.RECONNECTING, Status.CONNECTING, Status.DISCONNECTED)
_TROUBLE = frozenset({Status.FAILED, Status.RECONNECTING})


@dataclass(frozen=True)
class StatusSummary:
    """Every connection's state in a few words (for the status bar), then one line each."""

    text: str
    detail: str
    alarming: bool


def summarize(states: Iterable[StateEvent]) -> StatusSummary:
    """Count the connections by state: "MQTT: 1 connected · 1 reconnecting…"."""
    states = list(states)
    if not states:
        return StatusSummary("MQTT: no connection", "No MQTT connection is configured", False)
    counts = Counter(Status(state["state"]) for state in states)
    parts = [f"{counts[status]} {_word(status)}" for status in _ORDER if counts[status]]
    if counts[Status.CONNECTED]:
        parts.append(f"{counts[Status.CONNECTED]} connected")
    detail = "\n".join(
        f"{state['name']} ({state['broker']}): {state['message']}" for state in states
    )
    return StatusSummary(f"MQTT: {' · '.join(parts)}", detail, bool(_TROUBLE & counts.keys()))


def _word(status: Status) -> str:
    return f"{status}…" if status in (Status.RECONNECTING, Status.CONNECTING) else str(status)
