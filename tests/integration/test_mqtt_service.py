"""The MQTT service in a run: saved and session connections, profile changes, the audit log,
and plugins reaching it as the ``mqtt`` service."""

from __future__ import annotations

import asyncio
import logging
import textwrap
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from phantom_gui.core.settings import Settings
from phantom_gui.coven.limits import LimitSettings
from phantom_gui.mqtt.config import ConnectionConfig, parse_broker_url
from phantom_gui.mqtt.profiles import MqttSettings
from phantom_gui.mqtt.states import CONNECTIONS_KEY
from phantom_gui.runtime import Services

from support.mosquitto import MosquittoBroker
from support.waiting import until


def _run(loop: asyncio.AbstractEventLoop, scenario: Coroutine[Any, Any, None]) -> None:
    loop.run_until_complete(asyncio.wait_for(scenario, 60))


def _states(services: Services, connection: str) -> list[str]:
    """The state of `connection` as the blackboard shows it to views (none if it is gone)."""
    state = services.hub.get_state(CONNECTIONS_KEY).get(connection)
    return [] if state is None else [state.status]


def test_saved_and_command_line_connections_run_and_are_audited(
    make_mosquitto: Callable[..., MosquittoBroker],
    asyncio_loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
) -> None:
    saved_broker, cli_broker = make_mosquitto(), make_mosquitto()
    data = tmp_path / "data"
    data.mkdir()
    Settings(data / "settings.json").save(
        MqttSettings(
            connections=(saved_broker.config(id="lab", name="Lab").model_dump(mode="json"),)
        )
    )
    services = Services.create(
        data_dir=data,
        config_file=data / "settings.json",
        broker=parse_broker_url(f"mqtt://127.0.0.1:{cli_broker.port}"),
    )
    assert services.mqtt.has_broker
    threads_before = set(threading.enumerate())

    async def scenario() -> None:
        services.start(asyncio.get_running_loop())
        await until(lambda: services.mqtt.connections.summary().text == "MQTT: 2 connected")
        assert services.mqtt.is_saved("lab") and not services.mqtt.is_saved("cli")
        await services.stop()

    _run(asyncio_loop, scenario())
    asyncio_loop.run_until_complete(asyncio_loop.shutdown_default_executor())
    assert set(threading.enumerate()) <= threads_before
    recorded = [
        (event["topic"], event["data"].get("status") or event["data"].get("pattern"))
        for event in services.audit.storage.get_events()
        if (event["topic"] or "").startswith("mqtt/lab/")
    ]
    assert recorded == [
        ("mqtt/lab/state", "connecting"),
        ("mqtt/lab/state", "connected"),
        ("mqtt/lab/subscription", "#"),
        ("mqtt/lab/state", "disconnected"),
    ]


def test_profiles_are_added_changed_and_removed_while_running(
    make_mosquitto: Callable[..., MosquittoBroker],
    asyncio_loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
) -> None:
    first, second = make_mosquitto(), make_mosquitto()
    services = Services.create(data_dir=tmp_path / "data")
    mqtt = services.mqtt
    assert not mqtt.has_broker

    async def scenario() -> None:
        services.start(asyncio.get_running_loop())
        await mqtt.save(first.config(id="lab", name="Lab"))
        await until(lambda: _states(services, "lab") == ["connected"])
        assert mqtt.connection("lab").config.port == first.port

        await mqtt.save(first.config(id="lab", name="Lab", port=second.port))
        await until(lambda: _states(services, "lab") == ["connected"])
        assert mqtt.connection("lab").config.port == second.port

        await mqtt.remove("lab")
        assert not mqtt.has_broker and mqtt.connections.summary().text == "MQTT: no connection"
        await services.stop()

    _run(asyncio_loop, scenario())
    assert services.settings.load(MqttSettings).connections == ()


def test_a_failed_connection_connects_again_when_asked(
    make_mosquitto: Callable[..., MosquittoBroker],
    asyncio_loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
) -> None:
    broker = make_mosquitto(users={"alice": "right"})
    services = Services.create(data_dir=tmp_path / "data")
    mqtt = services.mqtt

    async def scenario() -> None:
        services.start(asyncio.get_running_loop())
        mqtt.add_session(broker.config(username="alice", password="wrong"))
        await until(lambda: _states(services, "test") == ["failed"])
        await mqtt.disconnect("test")
        assert _states(services, "test") == ["disconnected"]
        mqtt.connect("test")
        await until(lambda: _states(services, "test") == ["failed"])
        assert "password" in mqtt.connections.get("test").reason
        await services.stop()

    _run(asyncio_loop, scenario())


def test_a_plugin_granted_mqtt_reaches_the_service(
    asyncio_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    package = tmp_path / "plugins" / "mqtt_probe"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(
        textwrap.dedent(
            """
            from phantom_gui.plugins.contract import Plugin

            class Probe(Plugin):
                def init(self, context):
                    super().init(context)
                    self.mqtt = context.service("mqtt")
            """
        )
    )
    (package / "phantom-plugin.toml").write_text(
        textwrap.dedent(
            """
            schema_version = 1
            [plugin]
            id = "mqtt_probe"
            name = "MQTT probe"
            version = "1.0.0"
            description = "Asks for the mqtt service."
            entry = "mqtt_probe.plugin:Probe"
            permissions = ["mqtt"]
            """
        )
    )
    services = Services.create(data_dir=tmp_path / "data", plugin_dirs=(tmp_path / "plugins",))
    services.mqtt.add_session(ConnectionConfig(id="cli", name="Nowhere", host="127.0.0.1", port=1))

    async def scenario() -> None:
        services.start(asyncio.get_running_loop())
        record = await services.plugins.activate("mqtt_probe")
        assert record.instance is not None
        assert record.instance.mqtt is services.mqtt  # type: ignore[attr-defined]
        assert record.instance.mqtt.has_broker  # type: ignore[attr-defined]
        await services.stop()

    _run(asyncio_loop, scenario())


def test_a_flooded_topic_is_logged_naming_the_connection_but_an_internal_ones_is_not(
    make_mosquitto: Callable[..., MosquittoBroker],
    asyncio_loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = make_mosquitto(settings=["max_queued_messages 0"])
    data = tmp_path / "data"
    data.mkdir()
    Settings(data / "settings.json").save(LimitSettings(topic_rate_per_s=10, topic_burst=10))
    services = Services.create(
        data_dir=data,
        config_file=data / "settings.json",
        broker=parse_broker_url(f"mqtt://127.0.0.1:{broker.port}"),
    )
    services.mqtt.add_session(broker.config(id="quiet"), internal=True)
    flood = Client(CallbackAPIVersion.VERSION2, client_id="flood")

    async def scenario() -> None:
        services.start(asyncio.get_running_loop())
        await until(lambda: services.mqtt.connections.summary().text == "MQTT: 2 connected")
        flood.connect(broker.host, broker.port)
        flood.loop_start()
        for number in range(300):
            flood.publish("flood/sensor", str(number), qos=1).wait_for_publish(10)
        await until(lambda: "dropped" in caplog.text, timeout=10)
        await services.stop()

    try:
        with caplog.at_level(logging.WARNING, logger="phantom.mqtt"):
            _run(asyncio_loop, scenario())
    finally:
        flood.disconnect()
        flood.loop_stop()
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert warnings and all(w.startswith("MQTT connection cli: dropped ") for w in warnings)
    assert all("of flood/sensor, which came faster than its limit" in w for w in warnings)
