"""The cauldron end to end against a real mosquitto: device payload → hub → chart buffers.

The app's own services run on an asyncio loop with the built-in Cauldron plugin active
and a `--broker`-style session connection to the test's broker; a plain paho client
plays the devices.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from phantom_cauldron.plugin import Cauldron
from phantom_cauldron.readings import SensorReading
from phantom_cauldron.series import Series
from phantom_cauldron.settings import CauldronSettings
from phantom_gui.core.settings import Settings
from phantom_gui.mqtt.states import SubscriptionOutcome
from phantom_gui.runtime import Services

SECTION = "plugin/phantom_cauldron"


@dataclass
class RunningCauldron:
    """The app's services with the Cauldron active, and what it put on the hub."""

    loop: asyncio.AbstractEventLoop
    services: Services
    readings: list[SensorReading] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    subscribed: list[SubscriptionOutcome] = field(default_factory=list)

    def open_cauldron(self) -> None:
        """Activate the Cauldron, as a user opening it from the menu (or a restored session)."""
        self.loop.run_until_complete(self.services.plugins.activate("phantom_cauldron"))

    @property
    def plugin(self) -> Cauldron:
        instance = self.services.plugins.records["phantom_cauldron"].instance
        assert isinstance(instance, Cauldron)
        return instance

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            self.loop.run_until_complete(asyncio.sleep(0.01))

    def wait_until_subscribed(self, times: int = 1) -> None:
        """Until the broker has granted the devices subscription `times` times (from then on
        nothing a device publishes is missed)."""
        self.wait_for(lambda: sum(event.granted for event in self.subscribed) >= times, 30)

    def series_with(self, quantity: str, value: float) -> Series:
        """The chart series of `quantity` that holds a point of `value`."""
        found: list[Series] = []

        def holds() -> bool:
            found[:] = [
                series
                for series in self.plugin.ingest.store
                if series.quantity == quantity and value in series.recent().values.tolist()
            ]
            return bool(found)

        self.wait_for(holds)
        [series] = found
        return series


@pytest.fixture
def mosquitto(make_mosquitto: Callable[..., Any]) -> Any:
    """A real mosquitto that queues any number of QoS 1 messages for a subscriber that falls
    behind (by default it keeps 1,000 and drops the rest, which the flood would hit)."""
    return make_mosquitto(settings=["max_queued_messages 0"])


@pytest.fixture
def start_cauldron(tmp_path: Path, mosquitto: Any) -> Iterator[Callable[..., RunningCauldron]]:
    """Start the app's services on the test broker and load the Cauldron, unless `opened` is
    False (stopped after)."""
    started: list[RunningCauldron] = []

    def start(opened: bool = True) -> RunningCauldron:
        loop = asyncio.new_event_loop()
        learn_by_readings_alone(tmp_path / "data")
        services = Services.create(
            tmp_path / "data",
            broker=mosquitto.config(id="devices", name="Devices", client_id=""),
        )
        services.start(loop)
        running = RunningCauldron(loop, services)
        started.append(running)
        hub = services.hub
        hub.on("cauldron/reading/#").subscribe(lambda e: running.readings.append(e.data))
        hub.on("cauldron/anomaly/#").subscribe(lambda e: running.anomalies.append(e.data))
        hub.on("cauldron/parser/#").subscribe(lambda e: running.problems.append(e.data))
        hub.on("mqtt/devices/subscription").subscribe(lambda e: running.subscribed.append(e.data))
        if opened:
            running.open_cauldron()
        running.wait_until_subscribed()
        return running

    yield start
    for running in started:
        running.loop.run_until_complete(running.services.stop())
        running.loop.close()


def learn_by_readings_alone(data: Path) -> None:
    """Set the Cauldron's learning period to no time at all, as a user may in the settings
    file, so that a new sensor's warm-up is its first readings."""
    data.mkdir(exist_ok=True)
    Settings(data / "settings.json").save(CauldronSettings(learning_s=0.0), section=SECTION)


@pytest.fixture
def device(mosquitto: Any) -> Iterator[mqtt.Client]:
    """A paho client publishing as the sensors would."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-device")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def send(client: mqtt.Client, topic: str, payload: str | bytes, retain: bool = False) -> None:
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)


FAMILIES = {
    "plain number": [("lab/freezer/temperature", "-18.5")],
    "tasmota": [
        (
            "tele/kitchen/SENSOR",
            '{"Time":"2026-11-22T10:00:00","BME280":{"Temperature":-18.5,"Humidity":41.0,'
            '"Pressure":1012.3},"PressureUnit":"hPa","TempUnit":"C"}',
        )
    ],
    "zigbee2mqtt": [("zigbee2mqtt/Attic sensor", '{"temperature":-18.5,"linkquality":120}')],
    "esphome": [("esp-cauldron/sensor/water_temperature/state", "-18.5")],
    "home assistant discovery": [
        (
            "homeassistant/sensor/brewery/vat/config",
            '{"name":"Vat","uniq_id":"vat-temp","stat_t":"brewery/vat/state",'
            '"unit_of_meas":"°C","dev_cla":"temperature","val_tpl":"{{ value_json.t }}"}',
        ),
        ("brewery/vat/state", '{"t": -18.5}'),
    ],
    "shelly gen1": [("shellies/shellyht-1/sensor/temperature", "-18.5")],
    "shelly gen2": [
        (
            "shellyplusht-1/events/rpc",
            '{"src":"shellyplusht-1","method":"NotifyStatus",'
            '"params":{"ts":1.0,"temperature:0":{"id":0,"tC":-18.5}}}',
        )
    ],
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_payload_family_reaches_the_hub_and_the_charts(
    family: str, start_cauldron: Callable[[], RunningCauldron], device: mqtt.Client
) -> None:
    cauldron = start_cauldron()
    for topic, payload in FAMILIES[family]:
        send(device, topic, payload)

    series = cauldron.series_with("temperature", -18.5)

    def heard() -> list[SensorReading]:
        return [
            r
            for r in cauldron.readings
            if (r.sensor_id, r.type) == (series.sensor_id, "temperature")
        ]

    cauldron.wait_for(lambda: bool(heard()))
    [reading] = heard()
    assert (reading.type, reading.value) == ("temperature", -18.5)
    assert reading.anomaly_score is not None and 0.0 <= reading.anomaly_score <= 1.0
    assert series.topic == FAMILIES[family][-1][0]
    assert cauldron.plugin.ingest.parser.problems.total == 0


def test_retained_readings_reach_a_cauldron_started_later(
    start_cauldron: Callable[[], RunningCauldron], device: mqtt.Client
) -> None:
    send(device, "greenhouse/soil/humidity", "63.5", retain=True)
    cauldron = start_cauldron()
    series = cauldron.series_with("humidity", 63.5)
    assert series.sensor_id == "greenhouse/soil/humidity"
    node = cauldron.plugin.ingest.topics.find("greenhouse/soil/humidity")
    assert node is not None and node.stats is not None and node.stats.retained


GREENHOUSE_DISCOVERY = {
    "homeassistant/sensor/greenhouse/temperature/config": {
        "name": "Greenhouse temperature",
        "uniq_id": "greenhouse-temperature",
        "stat_t": "greenhouse/climate/state",
        "val_tpl": "{{ value_json.temperature }}",
        "unit_of_meas": "°C",
        "dev_cla": "temperature",
    },
    "homeassistant/sensor/greenhouse/humidity/config": {
        "name": "Greenhouse humidity",
        "uniq_id": "greenhouse-humidity",
        "stat_t": "greenhouse/climate/state",
        "val_tpl": "{{ value_json.humidity }}",
        "unit_of_meas": "%",
        "dev_cla": "humidity",
    },
}
CAULDRON_OPENS_AFTER_S = 2.0
"""How long after the retained messages arrived the Cauldron opens (60 for a minute)."""


@pytest.mark.parametrize("opens_after_s", [CAULDRON_OPENS_AFTER_S])
def test_retained_discovery_and_states_reach_a_cauldron_opened_long_after_they_arrived(
    start_cauldron: Callable[..., RunningCauldron], device: mqtt.Client, opens_after_s: float
) -> None:
    for topic, config in GREENHOUSE_DISCOVERY.items():
        send(device, topic, json.dumps(config), retain=True)
    send(device, "greenhouse/climate/state", '{"temperature": 23.5, "humidity": 61.0}', True)
    send(device, "cellar/barrel/temperature", "12.5", retain=True)

    app = start_cauldron(opened=False)
    mqtt_service = app.services.mqtt
    app.wait_for(lambda: mqtt_service.retained("devices").topics == 4)
    arrived = time.monotonic()
    arrived_by = time.time()
    assert not [
        letter for letter in app.services.hub.dead_letters if letter.event.topic.startswith("mqtt/")
    ], "no retained message is a dead letter"
    app.loop.run_until_complete(asyncio.sleep(opens_after_s))
    app.open_cauldron()
    assert time.monotonic() - arrived >= opens_after_s

    parser = app.plugin.ingest.parser
    assert {(sensor.sensor_id, sensor.name) for sensor in parser.discovered} == {
        ("greenhouse-temperature", "Greenhouse temperature"),
        ("greenhouse-humidity", "Greenhouse humidity"),
    }
    temperature = app.series_with("temperature", 23.5)
    humidity = app.series_with("humidity", 61.0)
    assert (temperature.sensor_id, humidity.sensor_id) == (
        "greenhouse-temperature",
        "greenhouse-humidity",
    )
    assert app.series_with("temperature", 12.5).sensor_id == "cellar/barrel/temperature"
    assert temperature.recent().times[0] <= arrived_by, "stamped when it arrived, not when read"
    assert parser.problems.total == 0, "nothing refused as needing a field path"

    send(device, "greenhouse/climate/state", '{"temperature": 24.0, "humidity": 60.0}')
    assert app.series_with("temperature", 24.0) is temperature
    assert temperature.recent().values.tolist() == [23.5, 24.0], "each reading once"


def test_discovery_arriving_after_state_messages_names_the_same_series(
    start_cauldron: Callable[[], RunningCauldron], device: mqtt.Client
) -> None:
    cauldron = start_cauldron()
    send(device, "tele/vat/SENSOR", '{"DS18B20":{"Temperature":61.5},"TempUnit":"C"}')
    before = cauldron.series_with("temperature", 61.5)
    send(
        device,
        "homeassistant/sensor/vat/ds18b20/config",
        json.dumps(
            {
                "name": "Vat temperature",
                "unique_id": "vat-ds18b20",
                "state_topic": "tele/vat/SENSOR",
                "value_template": "{{ value_json.DS18B20.Temperature }}",
                "unit_of_measurement": "°C",
                "device_class": "temperature",
            }
        ),
        retain=True,
    )
    cauldron.wait_for(lambda: bool(cauldron.plugin.ingest.parser.discovered))
    send(device, "tele/vat/SENSOR", '{"DS18B20":{"Temperature":62.5},"TempUnit":"C"}')

    after = cauldron.series_with("temperature", 62.5)
    assert after is before and after.sensor_id == "vat/DS18B20"
    assert after.recent().values.tolist()[-2:] == [61.5, 62.5]
    info = cauldron.plugin.ingest.parser.sensors.get("vat/DS18B20", "temperature")
    assert info is not None and info.name == "Vat temperature"


def test_after_a_broker_restart_the_charts_go_on_in_the_same_series(
    start_cauldron: Callable[[], RunningCauldron], mosquitto: Any
) -> None:
    cauldron = start_cauldron()
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="restart-device")
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    try:
        send(publisher, "cellar/barrel/temperature", "12.0")
        cauldron.series_with("temperature", 12.0)
        connection = cauldron.services.mqtt.connection("devices")

        mosquitto.restart()
        cauldron.wait_for(lambda: connection.state.status != "connected")
        cauldron.wait_until_subscribed(times=2)
        publisher.reconnect()
        send(publisher, "cellar/barrel/temperature", "13.0")

        series = cauldron.series_with("temperature", 13.0)
        assert series.recent().values.tolist()[-2:] == [12.0, 13.0]
        assert len(cauldron.plugin.ingest.store) == 1
    finally:
        publisher.disconnect()
        publisher.loop_stop()


MALFORMED = [
    (b"nan", "not_finite"),
    (b"unavailable", "no_value"),
    (b"", "empty"),
    (b"\xff\xfe\x00", "not_utf8"),
    (b'{"temperature": 21', "invalid_json"),
    (b'{"temperature": NaN}', "invalid_json"),
    (b"warm", "not_a_number"),
]


def test_a_flood_of_malformed_payloads_is_counted_and_never_charted(
    start_cauldron: Callable[[], RunningCauldron], device: mqtt.Client
) -> None:
    cauldron = start_cauldron()
    per_kind = 1250
    pending = []
    for _ in range(per_kind):
        for index, (payload, _reason) in enumerate(MALFORMED):
            pending.append(device.publish(f"flood/{index}/temperature", payload, qos=1))
            if len(pending) > 2_000:
                pending.pop(0).wait_for_publish(10)
    for info in pending:
        info.wait_for_publish(10)

    problems = cauldron.plugin.ingest.parser.problems
    cauldron.wait_for(lambda: problems.total == per_kind * len(MALFORMED), timeout=60)
    counted = {str(reason): count for reason, count in problems.by_reason().items()}
    expected: dict[str, int] = {}
    for _, reason in MALFORMED:
        expected[reason] = expected.get(reason, 0) + per_kind
    assert counted == expected
    assert len(cauldron.plugin.ingest.store) == 0 and cauldron.readings == []
    reported = {(p["topic"], p["reason"]) for p in cauldron.problems}
    assert ("flood/0/temperature", "not_finite") in reported
    assert len(cauldron.problems) <= 2 * len(MALFORMED)  # throttled, not one per payload


def test_an_anomaly_raises_an_alarm_on_the_hub_and_in_the_audit_log(
    start_cauldron: Callable[[], RunningCauldron], device: mqtt.Client
) -> None:
    cauldron = start_cauldron()
    for step in range(200):  # past the detector's warm-up
        send(device, "vat/probe/temperature", f"{60 + 0.1 * (step % 3):.1f}")
    cauldron.wait_for(
        lambda: sum(r.sensor_id == "vat/probe/temperature" for r in cauldron.readings) == 200
    )
    assert cauldron.anomalies == []

    send(device, "vat/probe/temperature", "95.0")
    cauldron.wait_for(lambda: bool(cauldron.anomalies))
    [alarm] = cauldron.anomalies
    assert alarm["state"] == "raised" and alarm["value"] == 95.0
    assert alarm["sensor_id"] == "vat/probe/temperature"
    series = cauldron.series_with("temperature", 95.0)
    assert [marker.value for marker in series.markers][-1] == 95.0

    audit = cauldron.services.audit
    assert audit.recorder is not None and audit.recorder.flush()
    recorded = audit.storage.get_events(event_type="anomaly")
    assert [event["data"]["value"] for event in recorded] == [95.0]
    samples = audit.storage.get_events(event_type="sensor_reading")
    assert samples and all(event["topic"].startswith("cauldron/sensor/") for event in samples)
    assert len(samples) < 201  # sampled, not every reading


def test_connection_states_have_their_own_type_in_the_audit_log_beside_parser_problems(
    start_cauldron: Callable[[], RunningCauldron], device: mqtt.Client
) -> None:
    cauldron = start_cauldron()
    send(device, "lab/ph", "unknown")
    cauldron.wait_for(lambda: bool(cauldron.problems))
    audit = cauldron.services.audit
    assert audit.recorder is not None and audit.recorder.flush()
    types = {event["topic"]: event["type"] for event in audit.storage.get_events()}
    assert types["mqtt/devices/state"] == "mqtt_connection"
    assert types["mqtt/devices/subscription"] == "mqtt_connection"
    assert "cauldron/parser/problem" in types
    connection_events = audit.storage.get_events(event_type="mqtt_connection")
    assert [event["data"]["status"] for event in connection_events[:2]] == [
        "connecting",
        "connected",
    ]


def test_without_a_broker_or_mosquitto_the_cauldron_loads_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phantom_gui.mqtt import embedded

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(embedded, "SYSTEM_FOLDERS", ())
    loop = asyncio.new_event_loop()
    services = Services.create(tmp_path / "data")
    services.start(loop)
    try:
        loop.run_until_complete(services.plugins.activate("phantom_cauldron"))
        plugin = services.plugins.records["phantom_cauldron"].instance
        assert isinstance(plugin, Cauldron)
        assert plugin.simulation is None
        assert "mosquitto" in plugin.source and "No MQTT broker configured" in plugin.source
        assert services.mqtt.configs() == []
    finally:
        loop.run_until_complete(services.stop())
        loop.close()


def test_a_devices_last_will_marks_it_offline_for_the_topic_tree(
    start_cauldron: Callable[[], RunningCauldron], device: mqtt.Client
) -> None:
    cauldron = start_cauldron()
    send(device, "tele/vat/LWT", "Online", retain=True)
    cauldron.wait_for(lambda: cauldron.plugin.online_devices() == [("tele/vat", True)])
    send(device, "tele/vat/LWT", "Offline", retain=True)
    cauldron.wait_for(lambda: cauldron.plugin.online_devices() == [("tele/vat", False)])
    assert cauldron.plugin.ingest.parser.problems.total == 0, "a last will is not refused"
