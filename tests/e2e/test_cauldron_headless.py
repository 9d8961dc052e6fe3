"""The Cauldron without a window: `phantom --headless` with the Cauldron remembered reads a
real broker's sensors (the retained ones it held before the start among them), records
their readings and raises alarms, all found afterwards with `phantom audit export`; no
screen is needed and no Qt module is ever imported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from phantom_cauldron.settings import CauldronSettings
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.host_settings import PluginHostSettings

from support.headless import exported, recorded, start_headless, stop, wait_for
from support.mosquitto import MosquittoBroker

pytestmark = pytest.mark.e2e


@pytest.fixture
def device(mosquitto: MosquittoBroker) -> Iterator[mqtt.Client]:
    """A paho client publishing as the sensors would."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="headless-device")
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def send(client: mqtt.Client, topic: str, payload: str, retain: bool = False) -> None:
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)


def test_headless_the_remembered_cauldron_records_readings_and_alarms(
    mosquitto: MosquittoBroker, device: mqtt.Client, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings = Settings(data / "settings.json")
    settings.save(PluginHostSettings(active=("phantom_cauldron",)))
    settings.save(CauldronSettings(learning_s=0.0), section="plugin/phantom_cauldron")
    discovery = {
        "name": "Vat temperature",
        "uniq_id": "vat-temperature",
        "stat_t": "brewery/vat/state",
        "val_tpl": "{{ value_json.t }}",
        "unit_of_meas": "°C",
        "dev_cla": "temperature",
    }
    send(device, "homeassistant/sensor/brewery/vat/config", json.dumps(discovery), retain=True)
    send(device, "brewery/vat/state", '{"t": 61.5}', retain=True)

    process = start_headless(data, "--broker", f"mqtt://{mosquitto.host}:{mosquitto.port}")
    try:
        wait_for(lambda: recorded(data, "type", "mqtt_connection") >= 3, process, "subscribed")
        for step in range(400):
            send(device, "cellar/probe/temperature", f"{12 + 0.1 * (step % 3):.1f}")
        send(device, "cellar/probe/temperature", "35.0")
        wait_for(lambda: recorded(data, "type", "anomaly") >= 1, process, "an alarm")
    finally:
        imported = stop(process)
    assert "phantom_cauldron.ingest" in imported, "the imports were listed"
    qt = ("PySide6", "shiboken6", "qasync", "pyqtgraph", "phantom_cauldron._qt")
    assert not [name for name in imported if name.startswith(qt)]

    records = exported(data)

    def of_type(event_type: str) -> list[dict[str, Any]]:
        return [record["data"] for record in records if record["type"] == event_type]

    readings = {(reading["sensor_id"], reading["value"]) for reading in of_type("sensor_reading")}
    assert ("vat-temperature", 61.5) in readings, "the retained state, read as discovered"
    assert any(sensor == "cellar/probe/temperature" for sensor, _ in readings)
    [alarm] = of_type("anomaly")
    assert (alarm["sensor_id"], alarm["value"], alarm["state"]) == (
        "cellar/probe/temperature",
        35.0,
        "raised",
    )
    states = [state["status"] for state in of_type("mqtt_connection") if "status" in state]
    assert states[:2] == ["connecting", "connected"] and states[-1] == "disconnected"
    plugin_states = [(r["topic"], r["data"].get("state")) for r in records]
    assert ("plugin/phantom_cauldron/state", "active") in plugin_states
