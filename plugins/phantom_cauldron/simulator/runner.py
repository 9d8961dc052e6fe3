"""Runs the simulated cauldron in real time on an MQTT broker, one client per device."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from paho.mqtt.client import Client, ConnectFlags
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from phantom_cauldron.simulator import messages
from phantom_cauldron.simulator.messages import Publication
from phantom_cauldron.simulator.model import CauldronSimulator
from phantom_gui.mqtt.clients import PAHO_LOG

LOG = logging.getLogger("phantom.cauldron.simulator")
KEEPALIVE_S = 30
GOODBYE_TIMEOUT_S = 2.0
"""How long `stop` waits for each device's `Offline` to reach the broker."""

Command = Callable[[CauldronSimulator], object]
Stepper = Callable[[CauldronSimulator, float], object]
"""Advances a simulator by some seconds (a brew's follower acts on the way)."""


class _Device:
    """One simulated device's own connection, with its last will: `Offline`."""

    def __init__(self, name: str, client_id: str, on_connect: Callable[[_Device], None]) -> None:
        self.name = name
        self.client = Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.enable_logger(PAHO_LOG)
        goodbye = messages.availability(name, online=False)
        self.client.will_set(goodbye.topic, goodbye.payload, goodbye.qos, goodbye.retain)
        self._on_connect = on_connect
        self.client.on_connect = self._connected

    def _connected(
        self,
        client: Client,
        userdata: object,
        flags: ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not reason.is_failure:
            self._on_connect(self)

    def publish(self, publication: Publication) -> None:
        """Send `publication` (queued by paho while disconnected, if QoS > 0)."""
        self.client.publish(
            publication.topic, publication.payload, publication.qos, publication.retain
        )

    def close(self) -> None:
        """Say `Offline`, then disconnect cleanly and stop the network thread."""
        goodbye = messages.availability(self.name, online=False)
        info = self.client.publish(goodbye.topic, goodbye.payload, goodbye.qos, goodbye.retain)
        if self.client.is_connected():
            info.wait_for_publish(GOODBYE_TIMEOUT_S)
        self.client.disconnect()
        self.client.loop_stop()


class SimulatorRunner:
    """Publishes `simulator` on the broker at `host:port` as its devices would.

    On each connection a device announces itself (`Online` and its discovery configs,
    retained, QoS 1); then every `period` seconds of wall-clock time the simulator is
    advanced by `speed` times as many simulated seconds, through `stepper`, and each
    device sends its telemetry (stamped with the wall clock). `command` queues a change
    to the simulator (heater, ingredients) for the runner's thread to apply.
    """

    def __init__(
        self,
        simulator: CauldronSimulator,
        host: str,
        port: int,
        period: float = 1.0,
        client_prefix: str = "phantom-cauldron",
        *,
        speed: float = 1.0,
        stepper: Stepper = CauldronSimulator.step,
    ) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self.period = period
        self.speed = speed
        self._stepper = stepper
        self._devices = [
            _Device(name, f"{client_prefix}-{name}", self._announce)
            for name in messages.devices(simulator.sensors)
        ]
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Connect every device (paho retries in the background) and start publishing;
        a runner starts once."""
        if self._thread is not None or self._stopping.is_set():
            raise RuntimeError("a simulator runner starts once")
        for device in self._devices:
            device.client.connect_async(self.host, self.port, KEEPALIVE_S)
            device.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="cauldron-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing, say `Offline` for every device and disconnect."""
        self._stopping.set()
        if self._thread is None:
            return
        self._thread.join()
        self._thread = None
        for device in self._devices:
            device.close()

    def command(self, action: Command) -> None:
        """Apply `action` to the simulator on the runner's thread, before its next step."""
        self._commands.put(action)

    def _announce(self, device: _Device) -> None:
        device.publish(messages.availability(device.name, online=True))
        sensors = [sensor for sensor in self.simulator.sensors if sensor.device == device.name]
        for publication in messages.discovery(sensors):
            device.publish(publication)

    def _apply(self, action: Command) -> None:
        try:
            action(self.simulator)
        except Exception:
            LOG.exception("a command to the simulated cauldron failed")

    def _run(self) -> None:
        simulator = self.simulator
        by_topic = {messages.telemetry_topic(device.name): device for device in self._devices}
        last = time.monotonic()
        while not self._stopping.wait(max(0.0, last + self.period - time.monotonic())):
            now = time.monotonic()
            while not self._commands.empty():
                self._apply(self._commands.get())
            self._stepper(simulator, (now - last) * self.speed)
            last = now
            for publication in messages.telemetry(
                simulator.sensors, simulator.sample(), time.time()
            ):
                device = by_topic[publication.topic]
                if device.client.is_connected():
                    device.publish(publication)
