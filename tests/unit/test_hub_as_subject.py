"""The hub is a reactivex `Subject`: it observes observables and is observed like one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.internal import DisposedException
from reactivex.subject import Subject

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub

Notification = tuple[Any, ...]


class Recorder:
    """Records what an observer is told, as comparable tuples."""

    def __init__(self, name: str, log: list[Notification]) -> None:
        self.name = name
        self.log = log

    def on_next(self, value: Any) -> None:
        self.log.append((self.name, "next", value.data if hasattr(value, "data") else value))

    def on_error(self, error: Exception) -> None:
        self.log.append((self.name, "error", type(error).__name__, str(error)))

    def on_completed(self) -> None:
        self.log.append((self.name, "completed"))


def make_event(index: int) -> SpectralEvent:
    return SpectralEvent(topic=f"spirit/{index}", data=index, source="test")


def test_reactivex_observables_feed_the_hub() -> None:
    hub = EventHub()
    seen: list[SpectralEvent] = []
    completed: list[bool] = []
    hub.on("spirit/+").subscribe(seen.append, on_completed=lambda: completed.append(True))
    events = [make_event(index) for index in range(3)]

    reactivex.from_iterable(events).subscribe(hub)

    assert seen == events
    assert completed == [True]
    assert hub.published_count == 3


def test_the_hub_feeds_reactivex_operators() -> None:
    hub = EventHub()
    doubled: list[int] = []
    hub.pipe(
        ops.filter(lambda event: event.topic.startswith("spirit/")),
        ops.map(lambda event: event.data * 2),
    ).subscribe(doubled.append)

    hub.publish("spirit/1", 1, source="test")
    hub.publish("other", 5, source="test")
    hub.publish("spirit/2", 2, source="test")

    assert doubled == [2, 4]


def test_one_hub_relays_into_another() -> None:
    upstream, downstream = EventHub(), EventHub()
    seen: list[SpectralEvent] = []
    downstream.on("relay/#").subscribe(seen.append)
    upstream.subscribe(downstream)

    sent = upstream.publish("relay/a", "hello", source="test")

    assert seen == [sent]
    assert list(upstream.dead_letters) == []


def test_a_plain_observer_sees_every_event() -> None:
    hub = EventHub()
    plain: list[SpectralEvent] = []
    hub.subscribe(plain.append)
    collect_some: list[SpectralEvent] = []
    hub.on("a/#").subscribe(collect_some.append)

    sent = [hub.publish(topic, source="test") for topic in ["a", "a/b", "b", "$SYS/x", "/", "a//"]]

    assert plain == sent
    assert len(collect_some) == 3
    assert list(hub.dead_letters) == []


def test_on_completed_completes_everyone_and_stops_the_hub() -> None:
    hub = EventHub()
    log: list[Notification] = []
    hub.subscribe(Recorder("plain", log))
    hub.on("a").subscribe(Recorder("on", log))
    hub.publish("a", 1, source="test")

    hub.on_completed()
    hub.publish("a", 2, source="test")
    hub.subscribe(Recorder("late plain", log))
    hub.on("a").subscribe(Recorder("late on", log))

    assert set(log[:2]) == {("on", "next", 1), ("plain", "next", 1)}
    assert set(log[2:4]) == {("on", "completed"), ("plain", "completed")}
    assert log[4:] == [("late plain", "completed"), ("late on", "completed")]
    assert hub.subscription_count == 0
    assert hub.published_count == 1
    assert list(hub.dead_letters) == []


def test_on_error_errors_everyone_and_stops_the_hub() -> None:
    hub = EventHub()
    log: list[Notification] = []
    hub.subscribe(Recorder("plain", log))
    hub.on("#").subscribe(Recorder("on", log))
    hub.publish("a", 1, source="test")

    hub.on_error(RuntimeError("the realm collapsed"))
    hub.publish("a", 2, source="test")
    hub.subscribe(Recorder("late plain", log))
    hub.on("a").subscribe(Recorder("late on", log))

    failure = ("error", "RuntimeError", "the realm collapsed")
    assert set(log[:2]) == {("on", "next", 1), ("plain", "next", 1)}
    assert set(log[2:4]) == {("on", *failure), ("plain", *failure)}
    assert log[4:] == [("late plain", *failure), ("late on", *failure)]
    assert hub.subscription_count == 0


def test_after_dispose_publish_and_subscribe_raise() -> None:
    hub = EventHub()
    seen: list[SpectralEvent] = []
    hub.on("a").subscribe(seen.append)
    hub.dispose()

    assert hub.subscription_count == 0
    with pytest.raises(DisposedException):
        hub.publish("a", source="test")
    with pytest.raises(DisposedException):
        hub.subscribe(seen.append)
    with pytest.raises(DisposedException):
        hub.on("a").subscribe(seen.append)
    assert seen == []


def complete_scenario(subject: Any, log: list[Notification]) -> None:
    subject.subscribe(Recorder("first", log))
    subject.on_next(make_event(1))
    subject.subscribe(Recorder("second", log))
    subject.on_next(make_event(2))
    subject.on_completed()
    subject.on_next(make_event(3))
    subject.on_completed()
    subject.on_error(ValueError("too late"))
    subject.subscribe(Recorder("late", log))


def error_scenario(subject: Any, log: list[Notification]) -> None:
    subject.subscribe(Recorder("first", log))
    subject.on_next(make_event(1))
    subject.on_error(ValueError("haunted"))
    subject.on_next(make_event(2))
    subject.on_completed()
    subject.subscribe(Recorder("late", log))


def dispose_scenario(subject: Any, log: list[Notification]) -> None:
    subject.subscribe(Recorder("first", log))
    subject.on_next(make_event(1))
    subject.dispose()
    for name, call in [
        ("on_next", lambda: subject.on_next(make_event(2))),
        ("on_completed", subject.on_completed),
        ("on_error", lambda: subject.on_error(ValueError("after"))),
        ("subscribe", lambda: subject.subscribe(lambda _: None)),
    ]:
        try:
            call()
        except Exception as exc:
            log.append((name, "raised", type(exc).__name__))
    subject.subscribe(Recorder("late", log))


def unsubscribe_scenario(subject: Any, log: list[Notification]) -> None:
    subscription = subject.subscribe(Recorder("leaving", log))
    subject.subscribe(Recorder("staying", log))
    subject.on_next(make_event(1))
    subscription.dispose()
    subject.on_next(make_event(2))
    subject.on_completed()


def operator_scenario(subject: Any, log: list[Notification]) -> None:
    subject.pipe(ops.map(lambda event: event.data), ops.take(2)).subscribe(Recorder("take", log))
    reactivex.from_iterable([make_event(index) for index in range(4)]).subscribe(subject)


SCENARIOS: dict[str, Callable[[Any, list[Notification]], None]] = {
    "complete": complete_scenario,
    "error": error_scenario,
    "dispose": dispose_scenario,
    "unsubscribe": unsubscribe_scenario,
    "operator": operator_scenario,
}


def run_scenario(name: str, subject: Any) -> list[Notification]:
    log: list[Notification] = []
    SCENARIOS[name](subject, log)
    return log


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_hub_behaves_like_a_subject(scenario: str) -> None:
    expected = run_scenario(scenario, Subject())
    assert expected
    assert run_scenario(scenario, EventHub()) == expected


def test_the_dispose_scenario_raises_disposed_exception() -> None:
    log = run_scenario("dispose", EventHub())
    assert ("on_next", "raised", "DisposedException") in log
    assert ("subscribe", "raised", "DisposedException") in log
    assert ("late", "error", "DisposedException", str(DisposedException())) in log
