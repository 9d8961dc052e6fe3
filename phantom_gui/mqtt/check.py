"""A one-shot connection check: connect, wait for the broker's answer, disconnect."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from paho.mqtt.client import Client, ConnectFlags
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from phantom_gui.mqtt.clients import connect_options, new_client
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.failures import connect_failure, refusal, setup_failure

POLL_S = 0.05


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of `check_connection`: whether the broker let us in, and a sentence."""

    ok: bool
    message: str


def check_connection(config: ConnectionConfig, timeout: float = 5.0) -> ConnectionCheck:
    """Try `config` once and report; blocks up to about `timeout` seconds (run it off the
    GUI thread). Touches no hub and no running connection."""
    try:
        client = new_client(config)
    except (OSError, ValueError) as error:
        return ConnectionCheck(False, setup_failure(error).message)
    answers: list[ConnectionCheck] = []

    def answered(
        _client: Client, _userdata: Any, _flags: ConnectFlags, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            answers.append(ConnectionCheck(False, refusal(reason, config).message))
        else:
            answers.append(ConnectionCheck(True, f"Connected to {config.broker}"))

    client.on_connect = answered
    client.connect_timeout = timeout
    deadline = time.monotonic() + timeout
    try:
        client.connect(config.host, config.port, config.keepalive, **connect_options(config))
    except OSError as error:
        return ConnectionCheck(False, connect_failure(error, config).message)
    try:
        while not answers:
            if client.loop(POLL_S) != MQTTErrorCode.MQTT_ERR_SUCCESS and not answers:
                return ConnectionCheck(
                    False, f"{config.broker} closed the connection without answering"
                )
            if time.monotonic() > deadline:
                return ConnectionCheck(
                    False, f"{config.broker} did not answer within {timeout:g} s"
                )
        return answers[0]
    finally:
        client.disconnect()
        client.loop(POLL_S)
