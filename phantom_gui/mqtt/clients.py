"""paho clients set up from a `ConnectionConfig`: protocol, session, credentials and TLS."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from phantom_gui.mqtt.config import ConnectionConfig

PERSISTENT_SESSION_EXPIRY_S = 0xFFFFFFFF
"""MQTT 5 keeps a session only as long as asked; this value means "never expires",
as a persistent session does in MQTT 3.1.1."""
MAX_INFLIGHT = 200
"""QoS 1 and 2 messages sent and not yet acknowledged, at most. paho's default (20) caps a
connection at 20 messages per round trip, and what waits beyond them is walked on every
acknowledgement: at 1,000 messages/s a loaded machine's publisher falls seconds behind."""


class _WaitingIsNotAnError(logging.Filter):
    """paho logs an error on each pass of its loop while it waits to reconnect: a state
    that the connection already reports, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Client is not connected")


PAHO_LOG = logging.getLogger("phantom.mqtt.paho")
PAHO_LOG.addFilter(_WaitingIsNotAnError())


def send_at_once(_client: Client, _userdata: Any, sock: Any) -> None:
    """paho's `on_socket_open`: turn Nagle's algorithm off on the new connection.

    With Nagle on, a client that both publishes and receives at QoS 1 sends a small
    acknowledgement, then holds its next publish until the broker acknowledges that
    segment, which the broker's TCP delays by up to 40 ms: tens of milliseconds on every
    message of a steady stream.
    """
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def new_client(config: ConnectionConfig, client_class: Callable[..., Client] = Client) -> Client:
    """A paho client (callback API 2) for `config`, not yet connected, with its last will if
    it has one; `client_class` makes it (`Client` or a subclass).

    Raises `OSError` or `ssl.SSLError` when a TLS file cannot be read or used.
    """
    version5 = config.protocol == "5"
    client = client_class(
        CallbackAPIVersion.VERSION2,
        client_id=config.client_id,
        clean_session=None if version5 else config.clean_session,
        protocol=MQTTProtocolVersion.MQTTv5 if version5 else MQTTProtocolVersion.MQTTv311,
    )
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.on_socket_open = send_at_once
    client.suppress_exceptions = True  # a failing callback is logged; the network loop goes on
    client.enable_logger(PAHO_LOG)
    if config.username is not None or config.password is not None:
        client.username_pw_set(config.username, config.password_text())
    will = config.will
    if will is not None:
        client.will_set(will.topic, will.payload, will.qos, will.retain)
    tls = config.tls
    if tls.enabled:
        for path in (tls.ca_file, tls.cert_file, tls.key_file):
            if path is not None:
                path.open("rb").close()  # an unreadable file fails here, and by its name
        client.tls_set(
            ca_certs=None if tls.ca_file is None else str(tls.ca_file),
            certfile=None if tls.cert_file is None else str(tls.cert_file),
            keyfile=None if tls.key_file is None else str(tls.key_file),
            cert_reqs=ssl.CERT_NONE if tls.insecure else ssl.CERT_REQUIRED,
        )
    return client


def connect_options(config: ConnectionConfig) -> dict[str, Any]:
    """The session arguments of `Client.connect` (MQTT 5 sets them per connection)."""
    if config.protocol != "5":
        return {}
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if not config.clean_session:
        properties.SessionExpiryInterval = PERSISTENT_SESSION_EXPIRY_S
    return {"clean_start": config.clean_session, "properties": properties}
