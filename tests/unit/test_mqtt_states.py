"""Connection states as the hub and the status bar carry them, and why a broker said no."""

from __future__ import annotations

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.failures import refusal
from phantom_gui.mqtt.states import Status, state_event, summarize

LAB = ConnectionConfig(id="lab", name="Lab", host="broker", port=1884, client_id="phantom")
SHED = ConnectionConfig(id="shed", name="Shed", host="10.0.0.9")


def test_each_state_reads_as_a_sentence() -> None:
    assert state_event(LAB, Status.CONNECTING)["message"] == "Connecting to broker:1884…"
    assert state_event(LAB, Status.CONNECTED)["message"] == "Connected to broker:1884"
    waiting = state_event(LAB, Status.RECONNECTING, "the connection was lost", 4.0)
    assert waiting["message"] == "Reconnecting in 4 s: the connection was lost"
    assert waiting["retry_in"] == 4.0
    failed = state_event(LAB, Status.FAILED, "the broker refused the user name or password")
    assert failed == {
        "connection": "lab",
        "name": "Lab",
        "broker": "broker:1884",
        "state": "failed",
        "message": "Failed: the broker refused the user name or password",
        "reason": "the broker refused the user name or password",
        "retry_in": None,
    }


def test_the_summary_counts_connections_and_alarms_only_on_trouble() -> None:
    assert summarize([]).text == "MQTT: no connection"
    calm = summarize([state_event(LAB, Status.CONNECTED), state_event(SHED, Status.CONNECTED)])
    assert (calm.text, calm.alarming) == ("MQTT: 2 connected", False)

    troubled = summarize(
        [state_event(LAB, Status.CONNECTED), state_event(SHED, Status.RECONNECTING, "lost", 2.0)]
    )

    assert troubled.text == "MQTT: 1 reconnecting… · 1 connected"
    assert troubled.alarming
    assert troubled.detail.splitlines() == [
        "Lab (broker:1884): Connected to broker:1884",
        "Shed (10.0.0.9:1883): Reconnecting in 2 s: lost",
    ]
    assert not summarize([state_event(LAB, Status.DISCONNECTED, "closed by the user")]).alarming


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
