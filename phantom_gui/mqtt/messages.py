"""What an MQTT connection puts on the hub."""

from __future__ import annotations

from typing import NamedTuple


def message_topic(connection: str) -> str:
    """The hub topic on which connection `connection` publishes the messages it receives."""
    return f"mqtt/{connection}/message"


class MqttMessage(NamedTuple):
    """One message received from a broker, as the hub carries it.

    `connection` is the id of the connection it came in on, `received_at` seconds
    since the epoch when paho handed it over. A named tuple, not a dataclass: one is made
    for every message, and pickled on its way from the network process, where a tuple
    costs a tenth of a frozen dataclass.
    """

    connection: str
    topic: str
    payload: bytes
    qos: int
    retained: bool
    received_at: float
