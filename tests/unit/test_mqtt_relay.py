"""The network process's relay: what reaches the app, in which frames and in which order."""

from __future__ import annotations

import io

from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.mqtt.network_process import DONE, EVENT, PUBLISHED, RelayHub, read_frame


def _message(number: int) -> MqttMessage:
    return MqttMessage("test", f"tele/dev-{number}/SENSOR", b"21.5", 1, False, 1e9 + number)


def _frames(out: io.BytesIO) -> list[list[tuple[object, ...]]]:
    stream = io.BytesIO(out.getvalue())
    frames = []
    while stream.tell() < len(out.getvalue()):
        frames.append(read_frame(stream))
    return frames


def test_messages_gather_until_flushed_and_then_travel_as_one_frame() -> None:
    out = io.BytesIO()
    relay = RelayHub(out)
    for number in range(3):
        relay.publish_threadsafe("mqtt/test/message", _message(number), source="mqtt:test")
    assert relay.gathered == 3
    assert _frames(out) == []

    relay.flush()

    assert relay.gathered == 0
    (frame,) = _frames(out)
    assert [item[2] for item in frame] == [_message(number) for number in range(3)]
    assert all(item[0] == EVENT and item[1] == "mqtt/test/message" for item in frame)


def test_a_state_goes_at_once_after_the_messages_received_before_it() -> None:
    out = io.BytesIO()
    relay = RelayHub(out)
    relay.publish_threadsafe("mqtt/test/message", _message(1), source="mqtt:test")
    relay.publish_threadsafe("mqtt/test/state", {"state": "disconnected"}, source="mqtt:test")
    relay.published(7, None)

    frames = _frames(out)
    items = [item for frame in frames for item in frame]
    assert [item[0] for item in items] == [EVENT, EVENT, PUBLISHED]
    assert items[0][2] == _message(1)
    assert items[1][1] == "mqtt/test/state"
    assert items[2] == (PUBLISHED, 7, None)
    assert relay.gathered == 0


def test_closing_sends_what_was_gathered_then_the_end() -> None:
    out = io.BytesIO()
    relay = RelayHub(out)
    relay.publish_threadsafe("mqtt/test/message", _message(1), source="mqtt:test")
    relay.close()

    items = [item for frame in _frames(out) for item in frame]
    assert items[-1] == (DONE,)
    assert items[0][2] == _message(1)


class _GonePipe(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, _data: object) -> int:
        raise BrokenPipeError("the app is gone")


def test_an_app_that_is_gone_neither_stops_the_relay_nor_grows_it() -> None:
    relay = RelayHub(_GonePipe())  # type: ignore[arg-type]
    for number in range(1000):
        relay.publish_threadsafe("mqtt/test/message", _message(number), source="mqtt:test")
        relay.flush()
    relay.published(1, None)
    relay.close()
    assert relay.gathered == 0
