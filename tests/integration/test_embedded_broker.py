"""The embedded broker: a real mosquitto on a free loopback port, stopped by PID."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from phantom_gui.core.hub import EventHub
from phantom_gui.mqtt import embedded
from phantom_gui.mqtt.check import check_connection
from phantom_gui.mqtt.connection import Connection
from phantom_gui.mqtt.embedded import EmbeddedBroker, MosquittoNotFound, find_mosquitto

from support.waiting import until


def _accepts(port: int) -> bool:
    try:
        socket.create_connection((embedded.LOOPBACK, port), timeout=1).close()
    except OSError:
        return False
    return True


def test_it_listens_on_a_free_loopback_port_until_stopped() -> None:
    with EmbeddedBroker.start() as broker, EmbeddedBroker.start() as other:
        assert broker.port != other.port
        assert broker.host == "127.0.0.1" and broker.running
        folder, process = broker._folder, broker._process.process
        assert folder.is_dir() and _accepts(broker.port)
        config = broker.connection_config()
        assert (config.id, config.name, config.host, config.port) == (
            "embedded",
            "Embedded broker",
            "127.0.0.1",
            broker.port,
        )
        assert check_connection(config).ok
    assert process.returncode is not None
    assert not folder.exists()
    assert not _accepts(config.port)


def test_a_connection_to_it_carries_messages(asyncio_loop: asyncio.AbstractEventLoop) -> None:
    hub = EventHub(asyncio_loop)
    payloads: list[bytes] = []
    hub.on("mqtt/embedded/message").subscribe(lambda event: payloads.append(event.data.payload))

    with EmbeddedBroker.start() as broker:
        connection = Connection(broker.connection_config(), hub)
        subscribed: list[object] = []
        hub.on("mqtt/embedded/subscription").subscribe(subscribed.append)

        async def scenario() -> None:
            connection.connect()
            await until(lambda: subscribed)
            connection.publish("cauldron/bubbles", b"3").wait_for_publish(5)
            await until(lambda: payloads)

        try:
            asyncio_loop.run_until_complete(asyncio.wait_for(scenario(), 30))
        finally:
            connection.disconnect()
    assert payloads == [b"3"]


def test_without_mosquitto_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(embedded, "SYSTEM_FOLDERS", (str(tmp_path),))

    with pytest.raises(MosquittoNotFound, match=r"install Mosquitto .*apt install mosquitto"):
        EmbeddedBroker.start()


def test_mosquitto_is_found_off_the_path_in_a_system_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = find_mosquitto()  # /usr/sbin/mosquitto on Debian, not on a user's PATH
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(embedded, "SYSTEM_FOLDERS", ("/nonexistent", str(installed.parent)))

    assert find_mosquitto() == installed
