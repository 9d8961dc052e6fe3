"""paho clients made from a config."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from phantom_gui.mqtt.clients import MAX_INFLIGHT, new_client
from phantom_gui.mqtt.config import ConnectionConfig


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_client_keeps_more_messages_in_flight_than_paho_by_default(protocol: str) -> None:
    config = ConnectionConfig.parse(
        {"id": "c", "name": "c", "host": "127.0.0.1", "port": 1883, "protocol": protocol}
    )
    paho_default = Client(CallbackAPIVersion.VERSION2).max_inflight_messages
    assert new_client(config).max_inflight_messages == MAX_INFLIGHT > paho_default


def test_a_client_sends_each_packet_at_once(mosquitto: Any) -> None:
    config = ConnectionConfig.parse(
        {"id": "c", "name": "c", "host": "127.0.0.1", "port": mosquitto.port}
    )
    client = new_client(config)
    client.connect("127.0.0.1", mosquitto.port)
    try:
        sock = client.socket()
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        client.disconnect()
