"""The event hub: routing, failures, dead letters, the blackboard and stream helpers."""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex.subject import Subject

from phantom_gui.core.events import SpectralEvent, new_event_id
from phantom_gui.core.hub import DISTURBANCE_TOPIC, EventHub


@pytest.fixture
def hub() -> EventHub:
    return EventHub()


def collect(observable: Observable[Any]) -> list[Any]:
    """Subscribe to `observable` and return the list its values are appended to."""
    seen: list[Any] = []
    observable.subscribe(seen.append)
    return seen


def topics_of(events: list[SpectralEvent]) -> list[str]:
    return [event.topic for event in events]


def test_publish_reaches_exact_and_wildcard_subscribers(hub: EventHub) -> None:
    exact = collect(hub.on("cauldron/sensor/1/reading"))
    one_level = collect(hub.on("cauldron/sensor/+/reading"))
    everything_below = collect(hub.on("seance/#"))
    everything = collect(hub.on("#"))

    hub.publish("cauldron/sensor/1/reading", 21.5, source="test")
    hub.publish("cauldron/sensor/2/reading", 22.0, source="test")
    hub.publish("cauldron/sensor/2/status", "ok", source="test")
    hub.publish("seance", "begin", source="test")
    hub.publish("seance/table/knock", 3, source="test")

    assert [event.data for event in exact] == [21.5]
    assert topics_of(one_level) == ["cauldron/sensor/1/reading", "cauldron/sensor/2/reading"]
    assert topics_of(everything_below) == ["seance", "seance/table/knock"]
    assert len(everything) == 5


def test_publish_returns_the_delivered_event(hub: EventHub) -> None:
    seen = collect(hub.on("a/b"))
    event = hub.publish(
        "a/b", {"level": 3}, source="spirit", metadata={"haunted": True, "intensity": 0.9}
    )
    assert seen == [event]
    assert event.topic == "a/b"
    assert event.data == {"level": 3}
    assert event.source == "spirit"
    assert event.metadata == {"haunted": True, "intensity": 0.9}
    assert hub.publish("a/b", source="spirit").metadata == {}
    assert hub.published_count == 2


def test_dollar_topics_are_not_matched_by_leading_wildcards(hub: EventHub) -> None:
    hash_all = collect(hub.on("#"))
    plus_first = collect(hub.on("+/uptime"))
    system = collect(hub.on("$SYS/#"))
    system_uptime = collect(hub.on("$SYS/+"))
    plain: list[SpectralEvent] = []
    hub.subscribe(plain.append)

    hub.publish("$SYS/uptime", 42, source="test")
    hub.publish("app/uptime", 43, source="test")

    assert topics_of(hash_all) == ["app/uptime"]
    assert topics_of(plus_first) == ["app/uptime"]
    assert topics_of(system) == ["$SYS/uptime"]
    assert topics_of(system_uptime) == ["$SYS/uptime"]
    assert topics_of(plain) == ["$SYS/uptime", "app/uptime"]


def test_a_failing_subscriber_does_not_stop_the_others(hub: EventHub) -> None:
    def explode(event: SpectralEvent) -> None:
        raise RuntimeError(f"boom on {event.data}")

    hub.on("x").subscribe(explode)
    later_exact = collect(hub.on("x"))
    wildcard = collect(hub.on("+"))
    plain: list[SpectralEvent] = []
    hub.subscribe(plain.append)
    disturbances = collect(hub.on(DISTURBANCE_TOPIC))

    first = hub.publish("x", 1, source="test")
    second = hub.publish("x", 2, source="test")

    assert [event.data for event in later_exact] == [1, 2]
    assert [event.data for event in wildcard] == [1, 2]
    assert [event for event in plain if event.topic == "x"] == [first, second]
    failures = [letter for letter in hub.dead_letters if letter.reason == "subscriber failed"]
    assert [letter.event for letter in failures] == [first, second]
    assert failures[0].error == "RuntimeError: boom on 1"
    assert "Traceback" in failures[0].traceback
    assert "boom on 1" in failures[0].traceback
    assert [event.data["event_id"] for event in disturbances] == [first.id, second.id]
    report = disturbances[0]
    assert report.source == "hub"
    assert report.data["where"] == "subscriber"
    assert report.data["topic"] == "x"
    assert report.data["error"] == "DisturbanceError"
    assert "boom on 1" in report.data["message"]


def test_a_failing_disturbance_subscriber_does_not_loop(hub: EventHub) -> None:
    def explode(event: SpectralEvent) -> None:
        raise ValueError("nope")

    hub.on("x").subscribe(explode)
    hub.on(DISTURBANCE_TOPIC).subscribe(explode)

    hub.publish("x", source="test")

    assert [(letter.event.topic, letter.reason) for letter in hub.dead_letters] == [
        ("x", "subscriber failed"),
        (DISTURBANCE_TOPIC, "subscriber failed"),
    ]


def test_unhandled_events_go_to_a_bounded_dead_letter_queue() -> None:
    hub = EventHub(dead_letter_capacity=3)
    events = [hub.publish(f"nobody/{index}", index, source="test") for index in range(5)]

    assert [letter.event for letter in hub.dead_letters] == events[2:]
    assert {letter.reason for letter in hub.dead_letters} == {"no subscriber"}
    assert hub.dead_letter_total == 5

    hub.publish("nobody/else", source="test")
    assert len(hub.dead_letters) == 3
    assert hub.dead_letter_total == 6


def test_a_subscriber_on_another_topic_does_not_count_as_handling(hub: EventHub) -> None:
    collect(hub.on("a/+"))
    hub.publish("b/c", source="test")
    assert [letter.event.topic for letter in hub.dead_letters] == ["b/c"]


def test_disposing_a_subscription_stops_delivery(hub: EventHub) -> None:
    seen: list[SpectralEvent] = []
    kept = collect(hub.on("a/+"))
    subscription = hub.on("a/+").subscribe(seen.append)
    exact = hub.on("a/b").subscribe(seen.append)
    assert hub.subscription_count == 3

    hub.publish("a/b", 1, source="test")
    subscription.dispose()
    exact.dispose()
    assert hub.subscription_count == 1
    hub.publish("a/b", 2, source="test")

    assert [event.data for event in seen] == [1, 1]
    assert [event.data for event in kept] == [1, 2]


def test_a_disposed_only_subscriber_leaves_events_unhandled(hub: EventHub) -> None:
    hub.on("a").subscribe(lambda _: None).dispose()
    assert hub.subscription_count == 0
    hub.publish("a", source="test")
    assert [letter.reason for letter in hub.dead_letters] == ["no subscriber"]


def test_select_starts_with_the_current_value_and_skips_repeats(hub: EventHub) -> None:
    hub.set_state("mood", "calm")
    moods = collect(hub.select("mood"))
    hub.set_state("mood", "calm")
    hub.set_state("weather", "storm")
    hub.set_state("mood", "restless")
    hub.set_state("mood", "restless")
    hub.set_state("mood", "calm")

    assert moods == ["calm", "restless", "calm"]
    assert hub.get_state("mood") == "calm"
    assert hub.get_state("missing", "default") == "default"


def test_select_of_an_unset_key_waits_for_the_first_value(hub: EventHub) -> None:
    values = collect(hub.select("ghosts"))
    assert values == []
    hub.set_state("ghosts", 0)
    hub.set_state("ghosts", 0)
    hub.set_state("ghosts", 2)
    assert values == [0, 2]
    late = collect(hub.select("ghosts"))
    assert late == [2]


def test_process_stream_turns_failing_items_into_disturbances(hub: EventHub) -> None:
    disturbances = collect(hub.on(DISTURBANCE_TOPIC))
    source: Subject[int] = Subject()

    def fn(item: int) -> Observable[int]:
        if item == 2:
            raise ValueError("two is cursed")
        if item == 3:
            return reactivex.concat(reactivex.of(30), reactivex.throw(KeyError("three")))
        return reactivex.of(item * 10)

    results: list[int] = []
    completed: list[bool] = []
    errors: list[Exception] = []
    hub.process_stream(source, fn).subscribe(
        results.append, errors.append, lambda: completed.append(True)
    )
    for item in range(1, 6):
        source.on_next(item)
    source.on_completed()

    assert results == [10, 30, 40, 50]
    assert completed == [True]
    assert errors == []
    assert [event.data["item"] for event in disturbances] == ["2", "3"]
    assert all(event.data["where"] == "stream item" for event in disturbances)
    assert all(event.data["error"] == "DisturbanceError" for event in disturbances)
    assert "ValueError: two is cursed" in disturbances[0].data["message"]
    assert "KeyError" in disturbances[1].data["message"]


def test_process_stream_passes_on_errors_of_the_source_itself(hub: EventHub) -> None:
    errors: list[Exception] = []
    boom = RuntimeError("source broke")
    hub.process_stream(reactivex.throw(boom), reactivex.of).subscribe(
        on_next=lambda _: None, on_error=errors.append
    )
    assert errors == [boom]


def test_fuse_streams_combines_the_latest_values(hub: EventHub) -> None:
    left: Subject[int] = Subject()
    right: Subject[str] = Subject()
    fused = collect(hub.fuse_streams(left, right))

    left.on_next(1)
    assert fused == []
    right.on_next("a")
    left.on_next(2)
    right.on_next("b")

    assert fused == [[1, "a"], [2, "a"], [2, "b"]]
    assert all(type(value) is list for value in fused)


def test_fuse_streams_of_hub_topics(hub: EventHub) -> None:
    def data(pattern: str) -> Observable[Any]:
        return hub.on(pattern).pipe(reactivex.operators.map(lambda event: event.data))

    fused = collect(EventHub.fuse_streams(data("t/1"), data("t/2"), data("t/3")))
    hub.publish("t/1", 1, source="test")
    hub.publish("t/2", 2, source="test")
    hub.publish("t/3", 3, source="test")
    hub.publish("t/2", 20, source="test")
    assert fused == [[1, 2, 3], [1, 20, 3]]


@pytest.mark.parametrize("topic", ["", "a/+", "a/#", "#", "a\x00b"])
def test_publish_validates_the_topic(hub: EventHub, topic: str) -> None:
    seen = collect(hub.on("#"))
    with pytest.raises(ValueError):
        hub.publish(topic, source="test")
    assert seen == []
    assert hub.published_count == 0
    assert hub.dead_letter_total == 0


@pytest.mark.parametrize("pattern", ["", "a/#/b", "a+/b", "a/b#"])
def test_on_validates_the_pattern(hub: EventHub, pattern: str) -> None:
    with pytest.raises(ValueError):
        hub.on(pattern)


def test_spectral_event_is_frozen_and_slotted(hub: EventHub) -> None:
    event = hub.publish("a", 1, source="test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.topic = "b"  # type: ignore[misc]
    assert "__slots__" in vars(SpectralEvent)
    assert not hasattr(event, "__dict__")


def test_spectral_event_keeps_given_fields_and_can_be_replaced() -> None:
    event = SpectralEvent("a", 1, "test", {"haunted": True}, timestamp=12.5, id="f" * 32)
    assert (event.topic, event.data, event.source) == ("a", 1, "test")
    assert (event.timestamp, event.id, event.metadata) == (12.5, "f" * 32, {"haunted": True})
    replayed = dataclasses.replace(event, metadata={"replayed": True})
    assert replayed.metadata == {"replayed": True}
    assert (replayed.id, replayed.timestamp, replayed.topic) == (event.id, 12.5, "a")
    assert replayed != event
    assert dataclasses.replace(replayed, metadata={"haunted": True}) == event


def test_spectral_event_id_is_a_uuid4_in_hex() -> None:
    ids = [SpectralEvent(topic="a", data=None, source="test").id for _ in range(200)]
    ids.extend(new_event_id() for _ in range(200))
    assert len(set(ids)) == len(ids)
    for event_id in ids:
        assert len(event_id) == 32
        assert event_id == event_id.lower()
        parsed = uuid.UUID(hex=event_id)
        assert parsed.hex == event_id
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert event_id[12] == "4"
        assert event_id[16] in "89ab"


def test_spectral_event_timestamp_is_the_publish_time(hub: EventHub) -> None:
    before = time.time()
    event = hub.publish("a", source="test")
    after = time.time()
    assert before <= event.timestamp <= after
