"""The seed's EventEmitter (dry run included), recorded runs with their phases, and the
audit service's fallback to a log in memory."""

from __future__ import annotations

import errno
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.audit.custody import KEYRING_SERVICE
from phantom_gui.audit.emitter import EventEmitter
from phantom_gui.audit.events import Event, EventType
from phantom_gui.audit.keys import VerificationKey
from phantom_gui.audit.runs import Run
from phantom_gui.audit.service import AUDIT_STATUS_KEY, AuditService, AuditStatus
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.cli import main
from phantom_gui.core.hub import EventHub


@pytest.fixture
def storage(tmp_path: Path) -> AuditStorage:
    return AuditStorage(tmp_path / "audit")


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _stored(storage: AuditStorage, audit_id: str) -> list[tuple[str, int | None, Any]]:
    return [
        (event["type"], event["phase"], event["data"])
        for event in storage.get_events(audit_id=audit_id)
    ]


# -- emit, subscribe ----------------------------------------------------------------------


def test_emit_stores_the_event_and_tells_the_subscribers(storage: AuditStorage) -> None:
    emitter = EventEmitter(storage, source="cauldron")
    seen: list[Event] = []
    emitter.subscribe(seen.append)

    event = emitter.emit("phase_started", "brew-1", 1, name="mash", temperature=67.5)

    assert seen == [event]
    assert (event.type, event.audit_id, event.phase) == (EventType.PHASE_STARTED, "brew-1", 1)
    [record] = storage.get_events(audit_id="brew-1")
    assert record["id"] == event.id
    assert record["type"] == "phase_started"
    assert record["phase"] == 1
    assert record["data"] == {"name": "mash", "temperature": 67.5}
    assert record["source"] == "cauldron"
    assert record["timestamp"] == event.timestamp
    assert Event.from_dict(record) == event


def test_an_unknown_type_is_a_value_error_and_nothing_happens(storage: AuditStorage) -> None:
    emitter = EventEmitter(storage)
    seen: list[Event] = []
    emitter.subscribe(seen.append)
    with pytest.raises(ValueError, match=r"unknown event type 'phase_exploded'.*phase_started"):
        emitter.emit("phase_exploded", "brew-1")
    assert seen == []
    assert storage.count_events() == 0
    assert list(emitter.history) == []


def test_a_failing_subscriber_is_logged_and_the_others_still_get_the_event(
    storage: AuditStorage, caplog: pytest.LogCaptureFixture
) -> None:
    emitter = EventEmitter(storage)
    before: list[Event] = []
    after: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("the ouija board is cracked")

    emitter.subscribe(before.append)
    emitter.subscribe(broken)
    emitter.subscribe(after.append)
    with caplog.at_level(logging.ERROR, "phantom.audit.emitter"):
        event = emitter.emit(EventType.HAUNT, "seance-1", intensity=0.9)

    assert before == after == [event]
    assert storage.count_events() == 1
    [failure] = [r for r in caplog.records if r.name == "phantom.audit.emitter"]
    assert "subscriber failed on haunt" in failure.getMessage()
    assert failure.exc_info is not None and "ouija" in str(failure.exc_info[1])


def test_unsubscribe_stops_the_calls(storage: AuditStorage) -> None:
    emitter = EventEmitter(storage)
    seen: list[Event] = []
    emitter.subscribe(seen.append)
    emitter.emit("audit_started", "run-1")
    emitter.unsubscribe(seen.append)
    emitter.unsubscribe(seen.append)  # a second time, or never subscribed: nothing happens
    emitter.emit("audit_completed", "run-1")
    assert [event.type for event in seen] == [EventType.AUDIT_STARTED]


# -- replay ---------------------------------------------------------------------------------


def test_replay_calls_back_with_the_runs_stored_events_in_order(storage: AuditStorage) -> None:
    emitter = EventEmitter(storage)
    emitted = [
        emitter.emit("audit_started", "seance-1"),
        emitter.emit("phase_started", "seance-1", 1),
        emitter.emit("audit_started", "brew-1"),
        emitter.emit("phase_completed", "seance-1", 1),
        emitter.emit("audit_completed", "seance-1"),
    ]
    replayed: list[Event] = []

    count = emitter.replay("seance-1", replayed.append)

    expected = [event for event in emitted if event.audit_id == "seance-1"]
    assert count == 4
    assert replayed == expected
    assert EventEmitter(storage).replay("seance-1", lambda event: None) == 4  # from storage
    assert emitter.replay("nobody", replayed.append) == 0


def test_a_dry_run_stores_nothing_but_replays_from_its_history(storage: AuditStorage) -> None:
    rehearsal = EventEmitter(storage, dry_run=True)
    seen: list[Event] = []
    rehearsal.subscribe(seen.append)
    emitted = [
        rehearsal.emit("audit_started", "rehearsal"),
        rehearsal.emit("phase_started", "rehearsal", 1, name="summon"),
        rehearsal.emit("audit_started", "other"),
        rehearsal.emit("phase_failed", "rehearsal", 1, error="no answer"),
    ]

    assert seen == emitted
    assert storage.count_events() == 0
    replayed: list[Event] = []
    assert rehearsal.replay("rehearsal", replayed.append) == 3
    assert replayed == [emitted[0], emitted[1], emitted[3]]
    assert rehearsal.unstored == 0


# -- when storage fails -------------------------------------------------------------------------


class FullStorage(AuditStorage):
    """A real storage whose writes fail as on a full disk (the real disk can't be filled here
    on demand; the recorder's tests use a small tmpfs for that)."""

    def append_events(self, events: Any) -> Any:
        raise OSError(errno.ENOSPC, f"{self.database_path}: database or disk is full")


def test_when_storage_fails_emit_still_works_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emitter = EventEmitter(FullStorage(tmp_path / "audit"))
    seen: list[Event] = []
    emitter.subscribe(seen.append)
    with caplog.at_level(logging.WARNING, "phantom.audit.emitter"):
        first = emitter.emit("audit_started", "brew-1")
        second = emitter.emit("phase_started", "brew-1", 1)

    assert seen == [first, second]
    assert list(emitter.history) == [first, second]
    assert emitter.unstored == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "audit_started kept in memory only" in warnings[0]
    assert "disk is full" in warnings[0]


def test_a_sink_takes_the_place_of_storage(storage: AuditStorage) -> None:
    taken: list[Mapping[str, Any]] = []
    emitter = EventEmitter(storage, sink=taken.append, source="garden")
    event = emitter.emit("generation", "evolution-1", 3, best=0.97)
    assert taken == [event.to_dict()]
    assert taken[0]["source"] == "garden"
    assert storage.count_events() == 0


# -- runs ---------------------------------------------------------------------------------------


def test_a_run_records_its_phases_and_ends_completed(storage: AuditStorage) -> None:
    emitter = EventEmitter(storage)
    run = Run.open(storage, emitter, "brew", "Midnight stout", project="cauldron", batch=7)
    opened = storage.get_audit(run.id)
    assert opened is not None
    assert (opened["kind"], opened["name"], opened["project"], opened["status"]) == (
        "brew",
        "Midnight stout",
        "cauldron",
        "running",
    )
    assert opened["ended"] is None
    assert opened["batch"] == 7

    run.start_phase(1, "mash", temperature=67)
    run.complete_phase(1, minutes=60)
    run.start_phase(2, "boil")
    run.fail_phase(2, "boil-over")
    run.record("sensor_reading", 2, value=101.3)
    run.complete(litres=19)

    ended = storage.get_audit(run.id)
    assert ended is not None
    assert _stored(storage, run.id) == [
        ("audit_updated", None, {"run": opened}),  # the runs-table row, chained as saved
        ("audit_started", None, {"kind": "brew", "name": "Midnight stout", "batch": 7}),
        ("phase_started", 1, {"name": "mash", "temperature": 67}),
        ("phase_completed", 1, {"minutes": 60}),
        ("phase_started", 2, {"name": "boil"}),
        ("phase_failed", 2, {"error": "boil-over"}),
        ("sensor_reading", 2, {"value": 101.3}),
        ("audit_completed", None, {"litres": 19}),
        ("audit_updated", None, {"run": ended}),  # ...and as it ended
    ]
    assert ended["status"] == "completed"
    assert ended["ended"] is not None and ended["ended"] >= ended["started"]
    assert run.status == "completed"
    assert storage.verify().ok


def test_a_failed_run_says_why_and_ends_only_once(storage: AuditStorage) -> None:
    emitter = EventEmitter(storage)
    run = Run.open(storage, emitter, "seance", "Veiled Voices")
    run.start_phase(1, "summon")
    run.fail("the medium fainted", phase_reached=1)
    run.complete()  # too late: the run has ended
    run.fail("again")

    events = _stored(storage, run.id)
    audit = storage.get_audit(run.id)
    assert audit is not None and audit["status"] == "failed" and audit["ended"]
    assert events[-2:] == [
        ("audit_failed", None, {"error": "the medium fainted", "phase_reached": 1}),
        ("audit_updated", None, {"run": audit}),
    ]
    kinds = [kind for kind, _, _ in events]
    assert kinds.count("audit_failed") == 1 and kinds.count("audit_updated") == 2
    assert "audit_completed" not in kinds
    assert run.status == "failed"


# -- the service's fallback ----------------------------------------------------------------------


@pytest.fixture
def services() -> Iterator[list[AuditService]]:
    made: list[AuditService] = []
    yield made
    for service in made:
        service.stop()


def test_an_unusable_folder_falls_back_to_a_log_in_memory_that_still_records(
    tmp_path: Path, services: list[AuditService]
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a regular file where a folder should be")
    hub = EventHub()
    service = AuditService.open(blocker / "audit", hub)
    services.append(service)

    assert service.in_memory_reason is not None
    assert str(blocker) in service.in_memory_reason
    assert blocker not in service.storage.root.parents
    service.start("9.9.9")
    hub.publish("app/started", {"version": "9.9.9"}, source="app")
    assert service.recorder is not None and service.recorder.flush()

    status = service.status
    assert status.in_memory_reason == service.in_memory_reason
    assert status.recorded >= 1
    assert status.error is None
    assert service.session is not None
    recorded = service.storage.get_events(audit_id=service.session.id)
    assert [event["topic"] for event in recorded][-1] == "app/started"
    # The session run: its row chained as saved, then its start, emitted through the recorder.
    assert [event["type"] for event in recorded][:2] == ["audit_updated", "audit_started"]


def test_the_log_in_memory_leaves_nothing_behind_when_the_service_stops(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    service = AuditService.open(blocker / "audit", EventHub())
    service.start("9.9.9")
    scratch = service.storage.root
    assert scratch.is_dir()
    service.stop()
    assert not scratch.exists()


def test_a_usable_folder_keeps_the_log_there(tmp_path: Path) -> None:
    hub = EventHub()
    service = AuditService.open(tmp_path / "audit", hub)
    service.start("9.9.9")
    hub.publish("app/started", {}, source="app")
    service.stop()
    assert service.in_memory_reason is None
    reopened = AuditStorage(tmp_path / "audit")
    sessions = reopened.list_audits()
    assert [(run["kind"], run["status"]) for run in sessions] == [("session", "completed")]
    assert "app/started" in [event["topic"] for event in reopened.get_events()]


# -- the service's status and its verification key ------------------------------------------------

V1_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "audit-v1"


def test_the_service_keeps_its_status_on_the_hubs_blackboard(
    tmp_path: Path, services: list[AuditService]
) -> None:
    hub = EventHub()
    service = AuditService.open(tmp_path / "data" / "audit", hub, use_keyring=False)
    services.append(service)
    seen: list[object] = []
    hub.select(AUDIT_STATUS_KEY).subscribe(seen.append)
    service.start("9.9.9")
    first = hub.get_state(AUDIT_STATUS_KEY)
    assert isinstance(first, AuditStatus)
    assert (first.recorded, first.in_memory_reason) == (0, None)
    assert first.total >= 1  # the session's run record, written before recording began

    for number in range(30):
        hub.publish("app/test/ping", {"n": number}, source="test")
    assert service.recorder is not None and service.recorder.flush()
    _wait_for(lambda: hub.get_state(AUDIT_STATUS_KEY).recorded >= 31)  # + audit_started
    latest = hub.get_state(AUDIT_STATUS_KEY)
    assert latest.total == service.storage.record_count() and latest.total > latest.recorded
    assert latest.size_bytes > 0 and latest.pending == 0
    assert all(isinstance(status, AuditStatus) for status in seen) and len(seen) >= 2


def test_a_new_logs_verification_key_is_saved_beside_the_data_folder_and_told_once(
    tmp_path: Path, services: list[AuditService]
) -> None:
    data = tmp_path / "data"
    service = AuditService.open(data / "audit", EventHub(), use_keyring=False)
    services.append(service)
    [key_file] = tmp_path.glob("phantom-audit-verification-*.key")
    [notice] = service.notices
    assert str(key_file) in notice and "--key" in notice and "safe place" in notice
    key = VerificationKey.read(key_file)
    assert key.chain_id == service.storage.chain_id
    assert key.seed.hex() not in notice and service.storage.new_verification_key is None
    assert service.storage.verify(key).ok
    again = AuditService.open(data / "audit", EventHub(), use_keyring=False)
    services.append(again)
    assert again.notices == []


def test_with_a_keyring_the_verification_key_is_kept_there_and_verify_uses_it(
    tmp_path: Path,
    services: list[AuditService],
    memory_keyring: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    service = AuditService.open(data / "audit", EventHub())
    services.append(service)
    assert list(tmp_path.glob("*.key")) == []
    [(where, chain_id)] = memory_keyring.passwords
    assert (where, chain_id) == (KEYRING_SERVICE, service.storage.chain_id)
    assert "system keyring" in service.notices[0]
    assert service.verification_key() is not None
    service.storage.append_events([{"type": "haunt", "audit_id": "x"}] * 3)
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "OK: 3 records verified"


def test_an_old_logs_fixed_key_becomes_its_verification_key_and_leaves_the_folder(
    tmp_path: Path, services: list[AuditService]
) -> None:
    root = tmp_path / "data" / "audit"
    shutil.copytree(V1_LOG, root)
    old_key = (root / "audit.key").read_bytes()
    service = AuditService.open(root, EventHub(), use_keyring=False)
    services.append(service)
    [notice] = service.notices
    assert "upgraded to forward-secure sealing" in notice
    [key_file] = tmp_path.glob("phantom-audit-verification-*.key")
    assert VerificationKey.read(key_file).seed == old_key
    assert not (root / "audit.key").exists()
    assert service.storage.verify(VerificationKey.read(key_file)).ok


def test_stopping_the_service_seals_the_sessions_records(
    tmp_path: Path, services: list[AuditService]
) -> None:
    hub = EventHub()
    service = AuditService.open(tmp_path / "data" / "audit", hub, use_keyring=False)
    service.start("9.9.9")
    hub.publish("app/test/ping", {}, source="test")
    service.stop()
    [key_file] = tmp_path.glob("phantom-audit-verification-*.key")
    report = service.storage.verify(VerificationKey.read(key_file))
    assert report.ok and report.notes == ()  # nothing left unsealed for the sealing key to forge
    sealing = service.storage.sealing_key()
    assert sealing is not None and sealing.epoch == 1
