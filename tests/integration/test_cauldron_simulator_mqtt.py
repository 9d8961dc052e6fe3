"""The simulator's runner on a real mosquitto: what a subscriber sees, as from real devices."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion

from phantom_cauldron.simulator.messages import availability_topic, telemetry_topic
from phantom_cauldron.simulator.model import CauldronSimulator
from phantom_cauldron.simulator.runner import SimulatorRunner
from phantom_cauldron.simulator.sensors import SENSORS

DEVICES = ("cauldron-core", "cauldron-rim", "crystal-ball")
WAIT_S = 10.0
"""How long a test waits for the broker's news before it fails (never a measured time)."""


@pytest.fixture
def broker_port(tmp_path: Path) -> Iterator[int]:
    """A mosquitto in the foreground on a free loopback port, stopped by its PID."""
    program = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if program is None:
        pytest.skip("mosquitto is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen([program, "-c", str(config)], stderr=subprocess.PIPE)
    try:
        _wait_for_listener(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


def _wait_for_listener(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError("mosquitto exited before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            threading.Event().wait(0.05)
    raise RuntimeError("mosquitto did not listen")


class Subscriber:
    """A plain paho client that keeps every message it receives."""

    def __init__(self, port: int) -> None:
        self.messages: list[MQTTMessage] = []
        self._changed = threading.Condition()
        self.client = Client(CallbackAPIVersion.VERSION2, client_id="cauldron-test-subscriber")
        self.client.on_message = self._received
        self.client.connect("127.0.0.1", port)
        self.client.subscribe([("homeassistant/#", 1), ("tele/#", 1)])
        self.client.loop_start()

    def _received(self, client: Client, userdata: object, message: MQTTMessage) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait_for(self, found: Callable[[list[MQTTMessage]], bool]) -> list[MQTTMessage]:
        """The messages once `found(messages)` holds; fails after `WAIT_S`."""
        with self._changed:
            assert self._changed.wait_for(lambda: found(self.messages), WAIT_S), [
                (m.topic, m.payload) for m in self.messages
            ]
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _on(topic: str, messages: list[MQTTMessage]) -> list[MQTTMessage]:
    return [message for message in messages if message.topic == topic]


def _telemetry_from_every_device(messages: list[MQTTMessage]) -> bool:
    return all(len(_on(telemetry_topic(device), messages)) >= 2 for device in DEVICES)


def _availability(messages: list[MQTTMessage]) -> dict[str, bytes]:
    """Each device's last availability message."""
    return {m.topic: bytes(m.payload) for m in messages if m.topic.endswith("/LWT")}


def _all(payload: bytes) -> dict[str, bytes]:
    return {availability_topic(device): payload for device in DEVICES}


def test_runner_publishes_discovery_telemetry_and_goes_offline_on_stop(broker_port: int) -> None:
    simulator = CauldronSimulator(seed=3, start=1_795_000_000.0)
    runner = SimulatorRunner(simulator, "127.0.0.1", broker_port, period=0.2)
    runner.start()
    live = Subscriber(broker_port)
    try:
        seen = live.wait_for(_telemetry_from_every_device)
        assert _availability(seen) == _all(b"Online")
    finally:
        runner.stop()
    seen = live.wait_for(lambda messages: _availability(messages) == _all(b"Offline"))
    live.close()

    late = Subscriber(broker_port)
    retained = late.wait_for(lambda messages: len(messages) >= len(SENSORS) + len(DEVICES))
    late.close()
    configs = {
        m.topic: json.loads(m.payload) for m in retained if m.topic.startswith("homeassistant/")
    }
    assert len(configs) == len(SENSORS)
    assert all(message.retain for message in retained)
    brew = configs["homeassistant/sensor/cauldron-core/ds18b20_1_temperature/config"]
    assert brew["state_topic"] == "tele/cauldron-core/SENSOR"
    assert brew["device_class"] == "temperature"
    assert brew["unit_of_measurement"] == "°C"
    assert _availability(retained) == _all(b"Offline")

    core = json.loads(_on(telemetry_topic("cauldron-core"), seen)[-1].payload)
    assert set(core) == {"Time", "DS18B20-1", "DS18B20-2", "PH", "TempUnit"}
    assert 40.0 < core["DS18B20-1"]["Temperature"] < 90.0
    assert not any(m.retain for m in seen if m.topic.endswith("/SENSOR"))


def test_commands_reach_the_simulator_on_the_runner_thread_and_a_failing_one_is_survived(
    broker_port: int,
) -> None:
    runner = SimulatorRunner(CauldronSimulator(seed=4), "127.0.0.1", broker_port, period=0.2)
    applied = threading.Event()
    threads: list[str] = []

    def fail(simulator: CauldronSimulator) -> None:
        raise ValueError("an ingredient that does not exist")

    def switch_heater_off(simulator: CauldronSimulator) -> None:
        simulator.cauldron.heater_enabled = False
        threads.append(threading.current_thread().name)
        applied.set()

    runner.start()
    try:
        runner.command(fail)
        runner.command(switch_heater_off)
        assert applied.wait(WAIT_S)
        live = Subscriber(broker_port)
        live.wait_for(_telemetry_from_every_device)
        live.close()
    finally:
        runner.stop()
    assert threads == ["cauldron-simulator"]
    assert not runner.simulator.cauldron.heater_on
