"""What the MQTT service keeps of retained messages, and how it hands them to a subscriber
that comes late: bounded and counted, cleared by an empty payload, each message once."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from phantom_gui.core.hub import DISTURBANCE_TOPIC, EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.messages import MqttMessage, message_topic
from phantom_gui.mqtt.retained import RetainedMessages, RetainedStats, RetainedTopics
from phantom_gui.mqtt.service import MqttService
from phantom_gui.mqtt.states import Status, connection_state, state_topic

LAB = ConnectionConfig(id="lab", name="Lab", host="broker")
SHED = ConnectionConfig(id="shed", name="Shed", host="10.0.0.9")


def message(
    topic: str, payload: bytes | str = b"21.5", *, retained: bool = True, connection: str = "lab"
) -> MqttMessage:
    data = payload.encode() if isinstance(payload, str) else payload
    return MqttMessage(connection, topic, data, 1, retained, 1_700_000_000.0)


def receive(hub: EventHub, *messages: MqttMessage) -> None:
    """As a connection's reader thread hands messages to the hub, delivered at once."""
    for each in messages:
        hub.publish(message_topic(each.connection), each, source=f"mqtt:{each.connection}")


def payloads(messages: list[MqttMessage]) -> list[tuple[str, bytes]]:
    return [(each.topic, each.payload) for each in messages]


# -- the cache --------------------------------------------------------------------------------


def test_the_last_retained_message_of_each_topic_is_kept_in_the_order_topics_arrived() -> None:
    kept = RetainedTopics()
    kept.keep(message("garden/soil", "40"))
    kept.keep(message("garden/air", "18"))
    kept.keep(message("garden/soil", "41"))
    assert payloads(list(kept.messages())) == [("garden/soil", b"41"), ("garden/air", b"18")]
    assert kept.stats == RetainedStats(topics=2, bytes=len("garden/soil41garden/air18"))


def test_an_empty_retained_payload_removes_its_topic_as_a_broker_does() -> None:
    kept = RetainedTopics()
    kept.keep(message("homeassistant/sensor/vat/config", '{"name": "Vat"}'))
    kept.keep(message("vat/state", "61.5"))
    assert kept.keep(message("homeassistant/sensor/vat/config", b""))
    assert payloads(list(kept.messages())) == [("vat/state", b"61.5")]
    assert kept.stats == RetainedStats(topics=1, bytes=len("vat/state61.5"))
    kept.keep(message("never/kept", b""))
    assert kept.stats.topics == 1 and kept.stats.dropped == 0


def test_topics_beyond_the_cap_are_dropped_and_counted_while_kept_ones_still_update() -> None:
    kept = RetainedTopics(max_topics=2)
    for index in range(5):
        kept.keep(message(f"probe/{index}", "1"))
    assert [each.topic for each in kept.messages()] == ["probe/0", "probe/1"]
    assert (kept.stats.topics, kept.stats.dropped) == (2, 3)
    assert kept.keep(message("probe/1", "2"))
    assert payloads(list(kept.messages()))[-1] == ("probe/1", b"2")
    kept.keep(message("probe/0", b""))
    assert kept.keep(message("probe/4", "3")), "a removed topic frees its place"
    assert [each.topic for each in kept.messages()] == ["probe/1", "probe/4"]


def test_bytes_beyond_the_cap_are_dropped_with_the_copy_they_outdate() -> None:
    kept = RetainedTopics(max_bytes=40)
    assert kept.keep(message("a/config", "x" * 20))  # 28 bytes
    assert not kept.keep(message("b/config", "y" * 20)), "56 bytes would not fit"
    assert not kept.keep(message("a/config", "z" * 40)), "its newer copy does not fit"
    assert kept.stats == RetainedStats(topics=0, bytes=0, dropped=2)
    assert kept.keep(message("b/config", "y" * 20))
    assert kept.stats == RetainedStats(topics=1, bytes=28, dropped=2)


def test_the_stats_read_as_a_sentence() -> None:
    assert RetainedStats(1, 2048).sentence() == (
        "Retained messages kept for new subscribers: 1 topic, 2.0 KiB."
    )
    assert RetainedStats(20_000, 10_240, 7).sentence() == (
        "Retained messages kept for new subscribers: 20,000 topics, 10.0 KiB; "
        "7 not kept, beyond the limits."
    )


# -- what the hub carries -----------------------------------------------------------------------


def test_only_retained_messages_and_later_ones_on_their_topics_are_kept() -> None:
    hub = EventHub()
    retained = RetainedMessages(hub)
    receive(
        hub,
        message("tele/vat/SENSOR", '{"T": 1}', retained=False),
        message("vat/state", "60.0"),
        message("vat/state", "61.0", retained=False),  # the broker's newer copy, flag cleared
        message("tele/vat/SENSOR", '{"T": 2}', retained=False),
    )
    late: list[MqttMessage] = []
    retained.messages().subscribe(late.append)
    assert payloads(late) == [("vat/state", b"61.0")]

    receive(hub, message("vat/state", b"", retained=False))  # cleared on the broker
    later: list[MqttMessage] = []
    retained.messages().subscribe(later.append)
    assert later == [] and retained.stats("lab") == RetainedStats()
    assert payloads(late)[1:] == [("vat/state", b"")], "the live stream goes on as received"


def test_each_connection_keeps_its_own_and_a_subscriber_may_pick_one() -> None:
    hub = EventHub()
    retained = RetainedMessages(hub)
    receive(hub, message("soil", "40"), message("soil", "7", connection="shed"))
    shed: list[MqttMessage] = []
    everything: list[MqttMessage] = []
    retained.messages("shed").subscribe(shed.append)
    retained.messages().subscribe(everything.append)
    receive(hub, message("air", "18", retained=False), message("air", "9", connection="shed"))
    assert [(m.connection, m.payload) for m in shed] == [("shed", b"7"), ("shed", b"9")]
    assert [(m.connection, m.payload) for m in everything] == [
        ("lab", b"40"),
        ("shed", b"7"),
        ("lab", b"18"),
        ("shed", b"9"),
    ]
    assert retained.stats("lab").topics == 1 and retained.stats("shed").topics == 2
    retained.forget("shed")
    assert retained.stats("shed") == RetainedStats()


def test_a_late_subscriber_gets_each_message_once_while_a_reader_thread_keeps_publishing(
    asyncio_loop: asyncio.AbstractEventLoop,
) -> None:
    """The handover from what was kept to the live stream, under a stream from another
    thread: every topic's retained value arrives exactly once and the live ones follow in
    order, whenever the subscriber joins."""
    hub = EventHub()
    hub.bind_loop(asyncio_loop)
    retained = RetainedMessages(hub)
    count = 4000
    done = asyncio_loop.create_future()
    first: list[MqttMessage] = []
    under_way = threading.Event()

    def first_received(each: MqttMessage) -> None:
        first.append(each)
        if len(first) == 100:
            under_way.set()
        if len(first) == count and not done.done():
            done.set_result(None)

    retained.messages().subscribe(first_received)
    late: list[MqttMessage] = []
    joined = asyncio_loop.create_future()

    def join_late() -> None:
        retained.messages().subscribe(late.append)
        joined.set_result(len(first))

    def reader_thread() -> None:
        for index in range(count):
            each = message(f"probe/{index % 50}", str(index), retained=index < 50)
            hub.publish_threadsafe(message_topic("lab"), each, source="mqtt:lab")
            if index == count // 2:
                under_way.wait(30)
                asyncio_loop.call_soon_threadsafe(join_late)

    thread = threading.Thread(target=reader_thread)
    thread.start()
    asyncio_loop.run_until_complete(asyncio.wait_for(done, 60))
    thread.join()

    before = joined.result()
    assert 50 <= before < count
    kept, live = late[:50], late[50:]
    assert [each.topic for each in kept] == [f"probe/{index}" for index in range(50)]
    newest = {each.topic: each.payload for each in first[:before]}
    assert [each.payload for each in kept] == [newest[each.topic] for each in kept]
    assert live == first[before:], "the live stream starts right after what was kept"


def test_a_subscriber_joining_while_a_retained_message_is_delivered_gets_it_once() -> None:
    hub = EventHub()
    retained = RetainedMessages(hub)
    joined: list[MqttMessage] = []
    subscriptions = []

    def join_now(_: MqttMessage) -> None:
        if not subscriptions:
            subscriptions.append(retained.messages().subscribe(joined.append))

    retained.messages().subscribe(join_now)
    receive(hub, message("vat/state", "60.0"))
    receive(hub, message("vat/state", "61.0", retained=False))
    assert payloads(joined) == [("vat/state", b"60.0"), ("vat/state", b"61.0")]


def test_a_failing_subscriber_is_reported_by_the_hub_and_the_others_still_get_the_message() -> None:
    hub = EventHub()
    retained = RetainedMessages(hub)
    disturbances = []
    hub.on(DISTURBANCE_TOPIC).subscribe(disturbances.append)
    good: list[MqttMessage] = []

    def broken(_: MqttMessage) -> None:
        raise ValueError("cannot read this")

    retained.messages().subscribe(broken)
    retained.messages("lab").subscribe(good.append)
    receive(hub, message("vat/state", "60.0"), message("vat/state", "61.0"))
    assert [each.payload for each in good] == [b"60.0", b"61.0"]
    failed = [letter for letter in hub.dead_letters if letter.reason == "subscriber failed"]
    assert len(failed) == 2 and "cannot read this" in failed[0].error
    assert len(disturbances) == 2


def test_a_disposed_subscription_hears_nothing_more_and_replayed_events_are_ignored() -> None:
    hub = EventHub()
    retained = RetainedMessages(hub)
    heard: list[MqttMessage] = []
    subscription = retained.messages().subscribe(heard.append)
    replayed = {"connection": "lab", "topic": "vat/state", "payload": "60", "retained": True}
    hub.publish(message_topic("lab"), replayed, source="replay")
    receive(hub, message("vat/state", "60.0"))
    subscription.dispose()
    receive(hub, message("vat/state", "61.0"))
    assert payloads(heard) == [("vat/state", b"60.0")]
    assert retained.stats("lab").topics == 1


def test_the_stream_ends_with_the_hub() -> None:
    hub = EventHub()
    retained = RetainedMessages(hub)
    ended: list[str] = []
    retained.messages().subscribe(on_completed=lambda: ended.append("everything"))
    retained.messages("lab").subscribe(on_completed=lambda: ended.append("lab"))
    hub.on_completed()
    assert ended == ["everything", "lab"]


# -- in the service -----------------------------------------------------------------------------


@pytest.fixture
def service(tmp_path: Path) -> MqttService:
    hub = EventHub()
    mqtt = MqttService(
        hub, Settings(tmp_path / "settings.json"), keyring_available=False, max_retained_topics=2
    )
    mqtt.add_session(LAB)
    mqtt.add_session(SHED)
    return mqtt


def test_the_service_lets_go_of_what_a_connection_kept_when_it_connects_again(
    service: MqttService,
) -> None:
    hub = service._hub
    receive(hub, message("vat/state", "60.0"), message("soil", "7", connection="shed"))
    assert service.retained("lab").topics == 1
    hub.publish(state_topic("lab"), connection_state(LAB, Status.CONNECTED), source="mqtt:lab")
    assert service.retained("lab") == RetainedStats(), "the broker sends them again"
    assert service.retained("shed").topics == 1


def test_the_service_counts_what_its_caps_dropped_and_forgets_a_removed_connection(
    service: MqttService, asyncio_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    hub = service._hub
    receive(hub, *(message(f"probe/{index}", "1") for index in range(4)))
    assert service.retained("lab") == RetainedStats(topics=2, bytes=16, dropped=2)
    [warning] = [record.getMessage() for record in caplog.records if "retained" in record.message]
    assert "lab" in warning and "2 topics" in warning
    late: list[MqttMessage] = []
    service.messages("lab").subscribe(late.append)
    assert [each.topic for each in late] == ["probe/0", "probe/1"]

    asyncio_loop.run_until_complete(service.remove("lab"))
    assert service.retained("lab") == RetainedStats()


def test_an_internal_connections_messages_reach_only_its_own_subscribers(
    tmp_path: Path, asyncio_loop: asyncio.AbstractEventLoop
) -> None:
    hub = EventHub()
    mqtt = MqttService(hub, Settings(tmp_path / "settings.json"), keyring_available=False)
    mqtt.add_session(LAB)
    coven = ConnectionConfig(id="coven", name="Coven", host="broker")
    mqtt.add_session(coven, internal=True)
    receive(hub, message("phantom/coven/lab/members/a", "{}", connection="coven"))
    everything: list[MqttMessage] = []
    own: list[MqttMessage] = []
    mqtt.messages().subscribe(everything.append)
    mqtt.messages("coven").subscribe(own.append)
    receive(
        hub,
        message("vat/state", "61.5", retained=False),
        message("phantom/coven/lab/events/a", "{}", retained=False, connection="coven"),
    )
    assert [(m.connection, m.topic) for m in everything] == [("lab", "vat/state")]
    assert [m.topic for m in own] == ["phantom/coven/lab/members/a", "phantom/coven/lab/events/a"]

    asyncio_loop.run_until_complete(mqtt.remove("coven"))
    mqtt.add_session(coven)
    receive(hub, message("chat/x", "1", retained=False, connection="coven"))
    assert [m.topic for m in everything][-1] == "chat/x", "added again, not internal"
