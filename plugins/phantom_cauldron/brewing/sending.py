"""Which MQTT connection carries the brewing commands, and sending them on it."""

from __future__ import annotations

from phantom_cauldron.brewing.brews import BrewNotSent
from phantom_gui.mqtt.service import MqttService
from phantom_gui.mqtt.states import Status

COMMAND_QOS = 1


class BrewSender:
    """Sends on the connection `chosen` (a connection id) if the user named one, else on
    `default` (the simulated cauldron's, when it runs), else on the first connection that
    is connected."""

    def __init__(self, mqtt: MqttService, chosen: str | None, default: str | None) -> None:
        self.mqtt = mqtt
        self.chosen = chosen
        self.default = default

    def connection_id(self) -> str:
        """The connection a command goes on now; `BrewNotSent` says why there is none."""
        mqtt = self.mqtt
        if self.chosen is not None:
            if not mqtt.has(self.chosen):
                raise BrewNotSent(
                    f"the brewing connection {self.chosen!r} is not configured"
                    " (File › MQTT Connections…)"
                )
            return self.chosen
        if self.default is not None and mqtt.has(self.default):
            return self.default
        for state in mqtt.connections.states:
            if state.status is Status.CONNECTED:
                return state.connection
        raise BrewNotSent("no MQTT connection is connected to send the brew on")

    def __call__(self, topic: str, payload: bytes) -> str:
        """Send `payload` on `topic` (QoS 1, queued while reconnecting); the connection's name."""
        connection_id = self.connection_id()
        try:
            self.mqtt.connection(connection_id).publish(topic, payload, COMMAND_QOS)
        except RuntimeError as exc:
            raise BrewNotSent(str(exc)) from exc
        return self.mqtt.config(connection_id).name
