"""The network process's relay: what reaches the app, in which frames and in which order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from phantom_gui.core.channel import Channel
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.mqtt.network_process import DONE, EVENT, PUBLISHED, RelayHub

from support.channels import channel_pair


def _message(number: int) -> MqttMessage:
    return MqttMessage("test", f"tele/dev-{number}/SENSOR", b"21.5", 1, False, 1e9 + number)


@pytest.fixture
def ends() -> Iterator[tuple[Channel, Channel]]:
    """The network process's end of a channel, and the app's."""
    with channel_pair() as pair:
        yield pair


def _frames(app: Channel) -> list[list[tuple[object, ...]]]:
    """The frames the relay has sent so far."""
    frames = []
    while app.poll(0):
        frames.append(app.receive())
    return frames


def test_messages_gather_until_flushed_and_then_travel_as_one_frame(
    ends: tuple[Channel, Channel],
) -> None:
    out, app = ends
    relay = RelayHub(out)
    for number in range(3):
        relay.publish_threadsafe("mqtt/test/message", _message(number), source="mqtt:test")
    assert relay.gathered == 3
    assert _frames(app) == []

    relay.flush()

    assert relay.gathered == 0
    (frame,) = _frames(app)
    assert [item[2] for item in frame] == [_message(number) for number in range(3)]
    assert all(item[0] == EVENT and item[1] == "mqtt/test/message" for item in frame)


def test_a_state_goes_at_once_after_the_messages_received_before_it(
    ends: tuple[Channel, Channel],
) -> None:
    out, app = ends
    relay = RelayHub(out)
    relay.publish_threadsafe("mqtt/test/message", _message(1), source="mqtt:test")
    relay.publish_threadsafe("mqtt/test/state", {"state": "disconnected"}, source="mqtt:test")
    relay.published(7, None)

    frames = _frames(app)
    items = [item for frame in frames for item in frame]
    assert [item[0] for item in items] == [EVENT, EVENT, PUBLISHED]
    assert items[0][2] == _message(1)
    assert items[1][1] == "mqtt/test/state"
    assert items[2] == (PUBLISHED, 7, None)
    assert relay.gathered == 0


def test_closing_sends_what_was_gathered_then_the_end(ends: tuple[Channel, Channel]) -> None:
    out, app = ends
    relay = RelayHub(out)
    relay.publish_threadsafe("mqtt/test/message", _message(1), source="mqtt:test")
    relay.close()

    items = [item for frame in _frames(app) for item in frame]
    assert items[-1] == (DONE,)
    assert items[0][2] == _message(1)


def test_an_app_that_is_gone_neither_stops_the_relay_nor_grows_it(
    ends: tuple[Channel, Channel],
) -> None:
    out, app = ends
    app.close()
    relay = RelayHub(out)
    for number in range(1000):
        relay.publish_threadsafe("mqtt/test/message", _message(number), source="mqtt:test")
        relay.flush()
    relay.published(1, None)
    relay.close()
    assert relay.gathered == 0
