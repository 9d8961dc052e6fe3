"""Connection states as the hub, its blackboard and the status bar carry them, and why a
broker said no."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.failures import refusal
from phantom_gui.mqtt.service import MqttService
from phantom_gui.mqtt.states import (
    CONNECTIONS_KEY,
    ConnectionState,
    MqttConnections,
    Status,
    StatusSummary,
    SubscriptionOutcome,
    Trouble,
    connection_state,
    state_topic,
)

LAB = ConnectionConfig(id="lab", name="Lab", host="broker", port=1884, client_id="phantom")
SHED = ConnectionConfig(id="shed", name="Shed", host="10.0.0.9")


def test_each_state_reads_as_a_sentence() -> None:
    assert connection_state(LAB, Status.CONNECTING).message == "Connecting to broker:1884…"
    assert connection_state(LAB, Status.CONNECTED).message == "Connected to broker:1884"
    waiting = connection_state(LAB, Status.RECONNECTING, "the connection was lost", 4.0)
    assert waiting.message == "Reconnecting in 4 s: the connection was lost"
    assert waiting.retry_in == 4.0
    failed = connection_state(LAB, Status.FAILED, "the broker refused the user name or password")
    assert failed == ConnectionState(
        connection="lab",
        name="Lab",
        broker="broker:1884",
        status=Status.FAILED,
        message="Failed: the broker refused the user name or password",
        reason="the broker refused the user name or password",
        retry_in=None,
    )
    assert failed.troubled and not failed.active


def test_states_and_subscription_outcomes_survive_the_trip_from_the_network_process() -> None:
    state = connection_state(LAB, Status.RECONNECTING, "lost", 2.0)
    outcome = SubscriptionOutcome("lab", "tele/#", 2, True, 1)
    for value in (state, outcome):
        assert pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)) == value
    with pytest.raises(AttributeError):
        state.status = Status.CONNECTED  # type: ignore[misc]


def test_the_summary_counts_connections_names_one_in_trouble_and_alarms_only_then() -> None:
    def summary(*states: ConnectionState) -> StatusSummary:
        return MqttConnections(states).summary()

    assert MqttConnections().summary().text == "MQTT: no connection"
    calm = summary(
        connection_state(LAB, Status.CONNECTED), connection_state(SHED, Status.CONNECTED)
    )
    assert (calm.text, calm.alarming, calm.focus) == ("MQTT: 2 connected", False, "lab")

    troubled = summary(
        connection_state(LAB, Status.CONNECTED),
        connection_state(SHED, Status.RECONNECTING, "lost", 2.0),
    )

    assert troubled.text == "MQTT: Shed reconnecting… · 1 connected"
    assert troubled.alarming
    assert troubled.focus == "shed", "a click on the label opens the connection in trouble"
    assert troubled.detail.splitlines() == [
        "Lab (broker:1884): Connected to broker:1884",
        "Shed (10.0.0.9:1883): Reconnecting in 2 s: lost",
    ]
    both = summary(
        connection_state(LAB, Status.RECONNECTING, "refused", 1.0),
        connection_state(SHED, Status.RECONNECTING, "lost", 2.0),
    )
    assert (both.text, both.focus) == ("MQTT: 2 reconnecting…", "lab")
    assert not summary(connection_state(LAB, Status.DISCONNECTED, "closed by the user")).alarming


def test_trouble_names_the_connections_that_fail_or_reconnect_with_their_reasons() -> None:
    calm = (connection_state(LAB, Status.CONNECTED), connection_state(SHED, Status.DISCONNECTED))
    assert MqttConnections(calm).trouble() is None

    one = MqttConnections(
        (
            connection_state(LAB, Status.CONNECTED),
            connection_state(SHED, Status.RECONNECTING, "10.0.0.9:1883 refused the connection", 4),
        )
    ).trouble()
    assert one == Trouble(
        "Shed (10.0.0.9:1883) is not connected: reconnecting…",
        "Shed (10.0.0.9:1883): Reconnecting in 4 s: 10.0.0.9:1883 refused the connection",
        "shed",
    )

    two = MqttConnections(
        (
            connection_state(LAB, Status.FAILED, "the broker refused the user name or password"),
            connection_state(SHED, Status.RECONNECTING, "lost", 2.0),
        )
    ).trouble()
    assert two is not None
    assert two.text == "2 MQTT connections are not connected: Lab, Shed"
    assert two.detail.splitlines() == [
        "Lab (broker:1884): Failed: the broker refused the user name or password",
        "Shed (10.0.0.9:1883): Reconnecting in 2 s: lost",
    ]
    assert two.connection == "lab"


def test_the_blackboard_holds_every_connections_state_as_the_hub_delivers_them(
    tmp_path: Path, asyncio_loop: asyncio.AbstractEventLoop
) -> None:
    hub = EventHub(asyncio_loop)
    mqtt = MqttService(hub, Settings(tmp_path / "settings.json"), keyring_available=False)
    seen: list[MqttConnections] = []
    hub.select(CONNECTIONS_KEY).subscribe(seen.append)
    assert seen == [MqttConnections()]

    mqtt.add_session(LAB)
    assert seen[-1].ids == ("lab",) and seen[-1].session_only == {"lab"}
    assert seen[-1].get("lab") == connection_state(LAB, Status.DISCONNECTED, "not connected yet")

    connected = connection_state(LAB, Status.CONNECTED)
    hub.publish(state_topic("lab"), connected, source="mqtt:lab")
    assert seen[-1].get("lab") is connected
    assert mqtt.connections is seen[-1]

    replayed = {"connection": "lab", "status": "failed", "message": "Failed: long ago"}
    hub.publish(state_topic("lab"), replayed, source="replay")
    assert seen[-1].get("lab") is connected

    asyncio_loop.run_until_complete(mqtt.remove("lab"))
    hub.publish(state_topic("lab"), connection_state(LAB, Status.DISCONNECTED), source="mqtt:lab")
    assert seen[-1] == MqttConnections()
    assert mqtt.connections.summary().text == "MQTT: no connection"


@pytest.mark.parametrize(
    ("name", "words", "permanent"),
    [
        ("Bad user name or password", "refused the user name or password", True),
        ("Not authorized", "check the user name and password", True),
        ("Client identifier not valid", "refused the client id 'phantom'", True),
        ("Unsupported protocol version", "does not speak MQTT 3.1.1", True),
        ("Server unavailable", "not taking connections now", False),
        ("Quota exceeded", "refused the connection (Quota exceeded)", False),
    ],
)
def test_a_refusal_explains_itself_and_says_whether_retrying_helps(
    name: str, words: str, permanent: bool
) -> None:
    failure = refusal(ReasonCode(PacketTypes.CONNACK, name), LAB)
    assert words in failure.message
    assert failure.permanent is permanent
