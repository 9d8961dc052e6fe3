"""Typed event data shown and stored as JSON objects, not as its repr."""

from __future__ import annotations

import json

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import DeadLetter
from phantom_gui.core.plain import plain
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.plugins.lifecycle import PluginState
from phantom_hub_monitor.model import preview


def test_typed_data_becomes_json_objects_all_the_way_down() -> None:
    message = MqttMessage("lab", "tele/lab/SENSOR", b"{}", 1, False, 1.5)
    letter = DeadLetter(SpectralEvent("mqtt/lab/message", message, "mqtt"), "no subscriber")

    converted = plain({"letter": letter, "state": PluginState.ACTIVE, "items": (1, 2)})

    assert converted["state"] == "active"
    assert converted["items"] == [1, 2]
    assert converted["letter"]["reason"] == "no subscriber"
    assert converted["letter"]["event"]["data"]["topic"] == "tele/lab/SENSOR"


def test_the_hub_monitor_previews_typed_data_as_json() -> None:
    text = preview(MqttMessage("lab", "tele/lab/SENSOR", b"{}", 1, False, 1.5))
    assert text.startswith('{"connection": "lab", "topic": "tele/lab/SENSOR"')
    assert "MqttMessage(" not in text
    assert json.loads(preview({"plain": [1, 2]})) == {"plain": [1, 2]}
