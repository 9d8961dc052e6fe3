"""What an MQTT connection puts on the hub."""

from __future__ import annotations

from dataclasses import dataclass


def message_topic(connection: str) -> str:
    """The hub topic on which connection `connection` publishes the messages it receives."""
    return f"mqtt/{connection}/message"


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """One message received from a broker, as the hub carries it.

    `connection` is the id of the connection it came in on, `received_at` seconds
    since the epoch when paho handed it over.
    """

    connection: str
    topic: str
    payload: bytes
    qos: int
    retained: bool
    received_at: float
