"""Replaying a recorded run into the hub, in virtual time: 1×, N×, step by step, paused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reactivex.testing import TestScheduler

from phantom_gui.audit.recorder import Recorder
from phantom_gui.audit.replay import REPLAY_SOURCE, ReplaySession
from phantom_gui.audit.storage import AuditStorage, EventFilter
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import DeadLetter, EventHub
from phantom_gui.mqtt.messages import MqttMessage

START = datetime(2025, 10, 31, 23, 59, 0, tzinfo=UTC)
RUN = "seance-13"
OFFSETS = [0.0, 1.0, 1.5, 4.0, 4.25]
"""Seconds after START at which the run's events were recorded."""


@pytest.fixture
def storage(tmp_path: Path) -> AuditStorage:
    """A log holding RUN (five events with known times) and, interleaved, another run."""
    storage = AuditStorage(tmp_path / "audit")
    records = []
    for index, offset in enumerate(OFFSETS):
        moment = START + timedelta(seconds=offset)
        records.append(
            {
                "id": f"original-{index}",
                "type": "sensor_reading" if index % 2 else "haunt",
                "topic": f"seance/table/{'knock' if index % 2 else 'whisper'}",
                "source": "seance" if index != 2 else "ouija",
                "timestamp": moment.isoformat(timespec="microseconds"),
                "audit_id": RUN,
                "data": {"n": index, "words": ["boo"] * index},
            }
        )
        records.append(
            {
                "type": "sensor_reading",
                "topic": "cauldron/sensor/temp",
                "source": "cauldron",
                "timestamp": (moment + timedelta(seconds=0.1)).isoformat(),
                "audit_id": "brew-1",
                "data": 60 + index,
            }
        )
    storage.append_events(records)
    return storage


class Watcher:
    """Everything the hub delivers, with the virtual time it arrived at."""

    def __init__(self, hub: EventHub, scheduler: TestScheduler) -> None:
        self.seen: list[tuple[float, SpectralEvent]] = []
        hub.on("#").subscribe(lambda event: self.seen.append((float(scheduler.clock), event)))

    @property
    def times(self) -> list[float]:
        return [when for when, _ in self.seen]

    @property
    def numbers(self) -> list[int]:
        return [event.data["n"] for _, event in self.seen]


def _session(
    storage: AuditStorage, hub: EventHub, scheduler: TestScheduler, **options: Any
) -> ReplaySession:
    return ReplaySession(storage, hub, scheduler, EventFilter(audit_id=RUN), **options)


@pytest.mark.parametrize("speed", [1.0, 10.0])
def test_a_run_is_republished_in_order_with_its_recorded_gaps(
    storage: AuditStorage, speed: float
) -> None:
    hub = EventHub()
    scheduler = TestScheduler()
    watcher = Watcher(hub, scheduler)
    done: list[float] = []
    session = _session(storage, hub, scheduler, speed=speed, on_done=lambda: done.append(1))
    assert session.total == len(OFFSETS)

    session.start()
    scheduler.advance_to(100.0)

    assert watcher.numbers == [0, 1, 2, 3, 4]
    assert watcher.times == pytest.approx([offset / speed for offset in OFFSETS])
    assert done == [1]
    assert session.finished and session.published == len(OFFSETS)


def test_replayed_events_keep_topic_source_and_data_and_say_where_they_come_from(
    storage: AuditStorage,
) -> None:
    hub = EventHub()
    scheduler = TestScheduler()
    watcher = Watcher(hub, scheduler)
    _session(storage, hub, scheduler).start()
    scheduler.advance_to(100.0)

    originals = storage.get_events(audit_id=RUN)
    replayed = [event for _, event in watcher.seen]
    assert [(e.topic, e.source, e.data) for e in replayed] == [
        (o["topic"], o["source"], o["data"]) for o in originals
    ]
    assert [e.metadata for e in replayed] == [
        {"replayed": True, "correlation_id": f"original-{n}"} for n in range(len(OFFSETS))
    ]
    assert all(e.id not in {o["id"] for o in originals} for e in replayed)  # new events


def test_step_mode_publishes_one_event_per_step(storage: AuditStorage) -> None:
    hub = EventHub()
    scheduler = TestScheduler()
    watcher = Watcher(hub, scheduler)
    done: list[int] = []
    session = _session(storage, hub, scheduler, speed=None, on_done=lambda: done.append(1))
    session.start()
    scheduler.advance_to(100.0)
    assert watcher.seen == []

    assert session.step()
    assert watcher.numbers == [0]
    scheduler.advance_to(200.0)
    assert watcher.numbers == [0]  # time alone moves nothing
    assert session.step() and session.step()
    assert watcher.numbers == [0, 1, 2]
    assert done == []
    assert session.step() and session.step()
    assert done == [1]
    assert not session.step()
    assert watcher.numbers == [0, 1, 2, 3, 4]
    assert done == [1]


def test_pause_holds_resume_goes_on_and_stop_ends(storage: AuditStorage) -> None:
    hub = EventHub()
    scheduler = TestScheduler()
    watcher = Watcher(hub, scheduler)
    done: list[int] = []
    session = _session(storage, hub, scheduler, on_done=lambda: done.append(1))
    session.start()
    scheduler.advance_to(1.2)
    assert watcher.numbers == [0, 1]

    session.pause()
    scheduler.advance_to(30.0)
    assert watcher.numbers == [0, 1]

    session.resume()
    scheduler.advance_to(31.0)  # the next goes at once; the one after keeps its 2.5 s gap...
    assert watcher.numbers == [0, 1, 2]
    assert watcher.times[-1] == pytest.approx(30.0)

    session.resume(speed=5.0)  # ...but 1 s into it, 5× faster: the 1.5 s left take 0.3 s
    scheduler.advance_to(31.29)
    assert watcher.numbers == [0, 1, 2]
    scheduler.advance_to(31.32)
    assert watcher.numbers == [0, 1, 2, 3]
    assert watcher.times[-1] == pytest.approx(31.3)

    session.stop()
    scheduler.advance_to(100.0)
    assert watcher.numbers == [0, 1, 2, 3]
    assert not session.step()
    assert done == [1]
    session.stop()
    assert done == [1]


def test_a_recorder_on_the_same_hub_does_not_record_the_replay(
    storage: AuditStorage, tmp_path: Path
) -> None:
    hub = EventHub()
    scheduler = TestScheduler()
    journal = AuditStorage(tmp_path / "journal")
    recorder = Recorder(hub, journal, "session-2")
    recorder.start(["#"])
    try:
        _session(storage, hub, scheduler).start()
        scheduler.advance_to(100.0)
        hub.publish("seance/table/knock", {"n": 99}, source="seance")
        assert recorder.flush()
    finally:
        recorder.stop()
    assert [event["data"] for event in journal.get_events()] == [{"n": 99}]
    assert storage.count_events(EventFilter(audit_id=RUN)) == len(OFFSETS)


def test_events_without_a_topic_are_replayed_on_an_audit_topic(tmp_path: Path) -> None:
    storage = AuditStorage(tmp_path / "audit")
    storage.append_event({"type": "phase_started", "audit_id": "brew-2", "phase": 1, "data": {}})
    hub = EventHub()
    scheduler = TestScheduler()
    seen: list[SpectralEvent] = []
    hub.on("audit/#").subscribe(seen.append)
    ReplaySession(storage, hub, scheduler, EventFilter(audit_id="brew-2")).start()
    scheduler.advance_to(1.0)
    assert [(event.topic, event.source) for event in seen] == [
        ("audit/brew-2/phase_started", REPLAY_SOURCE)
    ]


def test_an_empty_selection_is_finished_at_once(storage: AuditStorage) -> None:
    hub = EventHub()
    scheduler = TestScheduler()
    session = ReplaySession(storage, hub, scheduler, EventFilter(audit_id="nobody"))
    session.start()
    scheduler.advance_to(10.0)
    assert session.finished and session.total == 0 and session.published == 0


def test_typed_event_data_is_recorded_as_objects_and_replayed_as_dicts(tmp_path: Path) -> None:
    """Services publish frozen dataclasses and named tuples on the hub; the journal keeps
    them readable (JSON objects) and a replay hands views plain dicts, never the types."""
    hub = EventHub()
    journal = AuditStorage(tmp_path / "journal")
    recorder = Recorder(hub, journal, RUN)
    recorder.start(["#"])
    message = MqttMessage("home", "cauldron/sensor/temp", b"21.5", 1, False, 1700000000.25)
    letter = DeadLetter(SpectralEvent("lost/topic", {"n": 1}, "test"), "no subscriber")
    try:
        hub.publish("mqtt/home/message", message, source="mqtt")
        hub.publish("hub/dead-letter", letter, source="hub")
        assert recorder.flush()
    finally:
        recorder.stop()
    message_record, letter_record = (record["data"] for record in journal.get_events())
    assert message_record == {
        "connection": "home",
        "topic": "cauldron/sensor/temp",
        "payload": repr(b"21.5"),
        "qos": 1,
        "retained": False,
        "received_at": 1700000000.25,
    }
    assert letter_record["reason"] == "no subscriber"
    assert letter_record["event"]["topic"] == "lost/topic"

    replayed: list[SpectralEvent] = []
    hub.on("#").subscribe(replayed.append)
    session = ReplaySession(journal, hub, TestScheduler(), EventFilter(audit_id=RUN), speed=None)
    assert session.step() and session.step() and not session.step()
    assert [type(event.data) for event in replayed] == [dict, dict]
    assert replayed[0].data == message_record


def test_the_logs_run_records_are_not_replayed(tmp_path: Path) -> None:
    storage = AuditStorage(tmp_path / "audit")
    storage.save_audit({"id": RUN, "kind": "seance"})
    storage.append_event({"type": "haunt", "audit_id": RUN, "topic": "seance/knock", "data": {}})
    storage.update_audit(RUN, {"status": "completed"})
    hub = EventHub()
    seen: list[SpectralEvent] = []
    hub.on("#").subscribe(seen.append)
    session = ReplaySession(storage, hub, TestScheduler(), EventFilter(audit_id=RUN), speed=None)
    assert session.total == 1 and session.step() and not session.step()
    assert [event.topic for event in seen] == ["seance/knock"]
