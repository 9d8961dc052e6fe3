"""The audit recorder: what it journals from the hub, how it types and routes it, and that
neither the hub nor the log suffer when the disk does."""

from __future__ import annotations

import errno
import logging
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.audit.events import Event, EventType
from phantom_gui.audit.recorder import Recorder
from phantom_gui.audit.storage import AppendResult, AuditStorage
from phantom_gui.core.hub import EventHub

SESSION = "session-1"


@pytest.fixture
def hub() -> EventHub:
    return EventHub()


@pytest.fixture
def storage(tmp_path: Path) -> AuditStorage:
    return AuditStorage(tmp_path / "audit")


@pytest.fixture
def make_recorder(hub: EventHub) -> Iterator[Any]:
    """Recorders on `hub`, stopped after the test."""
    made: list[Recorder] = []

    def make(storage: AuditStorage, *patterns: str, **options: Any) -> Recorder:
        recorder = Recorder(hub, storage, SESSION, **options)
        recorder.start(patterns)
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.stop()


def _topics(storage: AuditStorage, **where: Any) -> list[str]:
    return [event["topic"] for event in storage.get_events(**where)]


def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# -- what is recorded ---------------------------------------------------------------------


def test_events_on_recorded_patterns_are_committed_and_others_are_not(
    hub: EventHub, storage: AuditStorage, make_recorder: Any
) -> None:
    recorder = make_recorder(storage, "cauldron/#", "app/started")
    hub.on("#").subscribe(lambda event: None)  # so unrecorded topics are not dead letters
    reading = hub.publish("cauldron/sensor/temp", {"value": 21.5, "unit": "°C"}, source="cauldron")
    hub.publish("seance/table/knock", 3, source="seance")
    hub.publish("app/started", {"version": "1"}, source="app")
    hub.publish("app/stopping", {}, source="app")
    assert recorder.flush()

    events = storage.get_events()
    assert [event["topic"] for event in events] == ["cauldron/sensor/temp", "app/started"]
    first = events[0]
    assert first["id"] == reading.id
    assert first["source"] == "cauldron"
    assert first["data"] == {"value": 21.5, "unit": "°C"}
    assert first["audit_id"] == SESSION
    recorded_at = datetime.fromisoformat(first["timestamp"])
    assert recorded_at.utcoffset() == timedelta(0)
    assert recorded_at.timestamp() == pytest.approx(reading.timestamp, abs=1e-6)
    assert recorder.status.recorded == 2
    assert recorder.status.pending == 0


def test_replayed_events_are_not_recorded_again(
    hub: EventHub, storage: AuditStorage, make_recorder: Any
) -> None:
    recorder = make_recorder(storage, "#")
    hub.publish("cauldron/sensor/temp", 20.0, source="audit-replay", metadata={"replayed": True})
    hub.publish("cauldron/sensor/temp", 21.0, source="cauldron")
    assert recorder.flush()
    assert [event["data"] for event in storage.get_events()] == [21.0]


@pytest.mark.parametrize(
    ("topic", "audit_type"),
    [
        ("app/error", "error"),
        ("hub/disturbance", "error"),
        ("plugin/lantern/error", "error"),
        ("security/permission-denied", "security"),
        ("security/plugin/lantern/denied", "security"),
        ("plugin/lantern/state", "plugin_lifecycle"),
        ("plugin/lantern/haunt", "haunt"),
        ("app/started", "app_lifecycle"),
        ("seance/anomaly/cold-spot", "anomaly"),
        ("cauldron/sensor/temp", "sensor_reading"),
        ("garden/generation/42", "generation"),
        ("mqtt/lab/state", "mqtt_connection"),
        ("mqtt/lab/subscription", "mqtt_connection"),
        ("mqtt/lab/message", "hub_event"),
        ("seance/table/knock", "hub_event"),
    ],
)
def test_audit_types_follow_the_topic(
    hub: EventHub, storage: AuditStorage, make_recorder: Any, topic: str, audit_type: str
) -> None:
    recorder = make_recorder(storage, "#")
    hub.publish(topic, {}, source="test")
    assert recorder.flush()
    assert [(event["topic"], event["type"]) for event in storage.get_events()] == [
        (topic, audit_type)
    ]
    assert _topics(storage, event_type=audit_type) == [topic]


def test_a_log_that_typed_connection_states_as_hub_events_still_reads_filters_and_verifies(
    hub: EventHub, storage: AuditStorage, make_recorder: Any
) -> None:
    before = Event(
        EventType.HUB_EVENT,
        SESSION,
        data={"connection": "lab", "status": "connected"},
        topic="mqtt/lab/state",
        source="mqtt:lab",
    )
    storage.append_event(before.to_dict())  # as Phantom recorded a state until now
    recorder = make_recorder(storage, "mqtt/+/state")
    hub.publish("mqtt/lab/state", {"connection": "lab", "status": "failed"}, source="mqtt:lab")
    assert recorder.flush()

    events = storage.get_events()
    assert [(event["type"], event["data"]["status"]) for event in events] == [
        ("hub_event", "connected"),
        ("mqtt_connection", "failed"),
    ]
    assert Event.from_dict(events[0]) == before
    assert _topics(storage, event_type="hub_event") == ["mqtt/lab/state"]
    assert _topics(storage, event_type="mqtt_connection") == ["mqtt/lab/state"]
    assert storage.verify().ok


def test_a_run_in_the_metadata_routes_the_event_to_that_run(
    hub: EventHub, storage: AuditStorage, make_recorder: Any
) -> None:
    recorder = make_recorder(storage, "cauldron/#")
    hub.publish("cauldron/brew/step", "mash", source="cauldron", metadata={"run": "brew-7"})
    hub.publish(
        "cauldron/brew/step", "boil", source="cauldron", metadata={"run": "brew-7", "phase": 2}
    )
    hub.publish("cauldron/sensor/temp", 64.0, source="cauldron")
    assert recorder.flush()

    brew = storage.get_events(audit_id="brew-7")
    assert [(event["data"], event["phase"]) for event in brew] == [("mash", None), ("boil", 2)]
    assert [event["data"] for event in storage.get_events(audit_id=SESSION)] == [64.0]


def test_an_event_with_a_malformed_phase_does_not_stop_the_recording(
    hub: EventHub, storage: AuditStorage, make_recorder: Any
) -> None:
    recorder = make_recorder(storage, "cauldron/#")
    hub.publish("cauldron/brew/step", "mash", source="cauldron", metadata={"phase": "mashing"})
    hub.publish("cauldron/sensor/temp", 64.0, source="cauldron")
    assert recorder.flush(timeout=5)
    assert recorder.status.error is None
    assert [event["data"] for event in storage.get_events()] == ["mash", 64.0]


# -- what is recorded, over time ------------------------------------------------------------


def test_record_returns_a_disposable_and_patterns_are_counted(
    hub: EventHub, storage: AuditStorage, make_recorder: Any
) -> None:
    recorder = make_recorder(storage)
    first = recorder.record("lantern/#")
    second = recorder.record("lantern/#")
    hub.publish("lantern/flicker", 1, source="lantern")
    first.dispose()
    hub.publish("lantern/flicker", 2, source="lantern")
    first.dispose()  # disposing twice does not release the other holder
    hub.publish("lantern/flicker", 3, source="lantern")
    second.dispose()
    hub.on("#").subscribe(lambda event: None)
    hub.publish("lantern/flicker", 4, source="lantern")
    assert recorder.flush()
    assert [event["data"] for event in storage.get_events()] == [1, 2, 3]
    assert hub.subscription_count == 1  # only the catch-all above


def test_the_hub_is_never_blocked_by_the_writes(
    hub: EventHub, storage: AuditStorage, make_recorder: Any
) -> None:
    recorder = make_recorder(storage, "cauldron/#")
    for value in range(50_000):
        hub.publish("cauldron/sensor/temp", value, source="cauldron")
    right_after = recorder.status
    committed_then = storage.last_seq()

    assert right_after.pending > 0
    assert committed_then < 50_000
    assert recorder.flush(timeout=60)
    assert recorder.status.pending == 0
    assert recorder.status.recorded == 50_000
    assert storage.count_events() == 50_000


def test_stop_writes_everything_queued_and_records_nothing_after(
    hub: EventHub, storage: AuditStorage
) -> None:
    recorder = Recorder(hub, storage, SESSION, flush_interval=5.0)
    recorder.start(["cauldron/#"])
    for value in range(10_000):
        hub.publish("cauldron/sensor/temp", value, source="cauldron")
    assert recorder.stop()
    assert storage.count_events() == 10_000
    hub.on("#").subscribe(lambda event: None)
    hub.publish("cauldron/sensor/temp", -1, source="cauldron")
    time.sleep(0.1)
    assert storage.count_events() == 10_000
    assert recorder.status.pending == 0


def test_a_recorded_pattern_can_be_let_go_after_stop(hub: EventHub, storage: AuditStorage) -> None:
    recorder = Recorder(hub, storage, SESSION)
    recorder.start(["app/#"])
    held = recorder.record("lantern/#")
    assert recorder.stop()
    held.dispose()  # e.g. a plugin unloaded after the recorder stopped
    assert hub.subscription_count == 0


# -- when the disk fails ------------------------------------------------------------------------


class FlakyStorage(AuditStorage):
    """A real storage whose batch writes fail with ENOSPC while `full` is set.

    The real disk cannot be filled on demand here; `test_a_really_full_disk_...` does it
    with a tmpfs where mounting is allowed.
    """

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.full = threading.Event()
        self.failed_writes = 0

    def append_rows(self, rows: Sequence[tuple[Any, ...]]) -> AppendResult:
        if self.full.is_set():
            self.failed_writes += 1
            raise OSError(errno.ENOSPC, f"{self.database_path}: database or disk is full")
        return super().append_rows(rows)


def test_failing_writes_keep_the_events_and_lose_nothing_once_the_disk_recovers(
    hub: EventHub, tmp_path: Path, make_recorder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    storage = FlakyStorage(tmp_path / "audit")
    recorder = make_recorder(storage, "cauldron/#", batch_size=100)
    hub.publish("cauldron/sensor/temp", 0, source="cauldron")
    assert recorder.flush()
    storage.full.set()
    with caplog.at_level(logging.ERROR, "phantom.audit.recorder"):
        for value in range(1, 501):
            hub.publish("cauldron/sensor/temp", value, source="cauldron")
        _wait_for(lambda: storage.failed_writes >= 2)

        failing = recorder.status
        assert failing.error is not None and "disk is full" in failing.error
        assert failing.pending == 500
        assert failing.recorded == 1
        assert not recorder.flush(timeout=0.3)
    assert "audit write failed (500 pending)" in caplog.text

    storage.full.clear()
    assert recorder.flush(timeout=10)
    recovered = recorder.status
    assert recovered.error is None
    assert (recovered.recorded, recovered.pending) == (501, 0)
    assert [event["data"] for event in storage.get_events()] == list(range(501))
    assert storage.verify().ok


class SmallDisk:
    """A tmpfs of a chosen size: a disk that really fills up, and can be grown again."""

    def __init__(self, mount_point: Path) -> None:
        self.path = mount_point

    def resize(self, size: str) -> None:
        subprocess.run(
            ["mount", "-o", f"remount,size={size}", str(self.path)], check=True, timeout=10
        )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=384k", "tmpfs", str(mount_point)],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield SmallDisk(mount_point)
    subprocess.run(["umount", "--lazy", str(mount_point)], timeout=10)


def test_a_really_full_disk_keeps_the_events_until_there_is_room_again(
    hub: EventHub, small_disk: SmallDisk
) -> None:
    storage = AuditStorage(small_disk.path / "audit")
    recorder = Recorder(hub, storage, SESSION, batch_size=200)
    recorder.record("cauldron/#")
    count = 3_000
    padding = "ectoplasm " * 20
    published = [
        hub.publish("cauldron/sensor/temp", {"n": n, "pad": padding}, source="cauldron").id
        for n in range(count)
    ]
    recorder.start([])
    try:
        _wait_for(lambda: recorder.status.error is not None)
        failing = recorder.status
        assert "SQLITE_FULL" in (failing.error or "")  # told by SQLite's result code
        assert failing.pending > 0
        assert failing.recorded + failing.pending == count

        small_disk.resize("64m")
        assert recorder.flush(timeout=20)
        assert recorder.status.error is None
        assert recorder.status.pending == 0
        events = storage.get_events()
        assert [event["id"] for event in events] == published  # each once, in order
        assert storage.verify().ok
    finally:
        recorder.stop()
        storage.close()


def test_an_event_whose_payload_cannot_be_stored_is_dropped_and_the_rest_recorded(
    hub: EventHub, storage: AuditStorage, make_recorder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = make_recorder(storage, "cauldron/#")
    with caplog.at_level(logging.ERROR, "phantom.audit.recorder"):
        hub.publish("cauldron/sensor/temp", 63.0, source="cauldron")
        hub.publish("cauldron/sensor/grid", {(0, 1): 20.5}, source="cauldron")  # tuple key
        hub.publish("cauldron/sensor/temp", 64.0, source="cauldron")
        assert recorder.flush(timeout=5)
    assert [event["data"] for event in storage.get_events()] == [63.0, 64.0]
    assert recorder.status == type(recorder.status)(recorded=2, pending=0, error=None)
    assert "'cauldron/sensor/grid' dropped" in caplog.text
    hub.publish("cauldron/sensor/temp", 65.0, source="cauldron")
    assert recorder.flush(timeout=5)
    assert storage.count_events() == 3
