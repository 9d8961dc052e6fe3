"""`AuditStorage`, the audit log's public API, on temporary folders."""

from __future__ import annotations

import dataclasses
import enum
import errno
import inspect
import itertools
import json
import os
import sqlite3
import stat
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pydantic import BaseModel

from phantom_gui.audit.config import DEFAULT_CONFIG
from phantom_gui.audit.database import as_os_error, is_busy
from phantom_gui.audit.events import Event, EventType
from phantom_gui.audit.keys import KEY_BYTES, SealingKey
from phantom_gui.audit.storage import AppendResult, AuditStorage, EventFilter

T0 = datetime(2031, 10, 31, 23, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    """An ISO timestamp `minutes` after T0."""
    return (T0 + timedelta(minutes=minutes)).isoformat(timespec="microseconds")


def event(
    audit_id: str = "run-1",
    event_type: EventType | str = EventType.HAUNT,
    **fields: Any,
) -> dict[str, Any]:
    return {"type": event_type, "audit_id": audit_id, **fields}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data" / "audit"


@pytest.fixture
def storage(root: Path) -> Iterator[AuditStorage]:
    store = AuditStorage(root)
    yield store
    store.close()


def reopen(storage: AuditStorage) -> AuditStorage:
    storage.close()
    return AuditStorage(storage.root)


# -- the folder and its files --------------------------------------------------------------


def test_a_new_log_makes_its_folder_and_an_owner_only_sealing_key(root: Path) -> None:
    store = AuditStorage(root)
    assert store.root == root.resolve()
    assert store.database_path == root / "audit.sqlite3"
    key_file = root / "audit.sealing-key"
    sealing = SealingKey.read(key_file)
    assert sealing is not None and sealing.epoch == 0 and len(sealing.key) == KEY_BYTES
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    verification = store.new_verification_key
    assert verification is not None and verification.chain_id == store.chain_id
    # The verification key is handed out, never kept beside the log.
    assert all(
        verification.seed.hex().encode() not in path.read_bytes()
        and verification.seed not in path.read_bytes()
        for path in root.iterdir()
    )
    assert store.verify().ok and store.verify().checked == 0
    store.close()


def test_reopening_keeps_the_sealing_key_and_the_records(storage: AuditStorage) -> None:
    key = (storage.root / "audit.sealing-key").read_bytes()
    storage.append_events([event(data={"n": n}) for n in range(3)])
    again = reopen(storage)
    assert (again.root / "audit.sealing-key").read_bytes() == key
    assert again.new_verification_key is None  # only a new log makes one
    assert [e["data"]["n"] for e in again.get_events()] == [0, 1, 2]
    assert again.verify().ok
    again.close()


def test_an_unwritable_parent_is_a_permission_error_naming_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if os.geteuid() == 0:
        # Mode bits do not stop root, so the refusal the kernel would give is simulated.
        real_mkdir = Path.mkdir

        def refuse_inside_locked(self: Path, *args: Any, **kwargs: Any) -> None:
            if locked in self.parents:
                raise PermissionError(13, "Permission denied", str(self))
            real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", refuse_inside_locked)
    with pytest.raises(PermissionError) as failure:
        AuditStorage(locked / "audit")
    assert str(locked / "audit") in str(failure.value)
    assert "Permission denied" in str(failure.value)


def test_an_existing_folder_that_is_not_writable_is_a_permission_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "audit"
    folder.mkdir(mode=0o555)
    if os.geteuid() == 0:
        real_access = os.access

        def no_write_access(path: Any, mode: int, **kwargs: Any) -> bool:
            if Path(path) == folder and mode & os.W_OK:
                return False
            return real_access(path, mode, **kwargs)

        monkeypatch.setattr(os, "access", no_write_access)
    with pytest.raises(PermissionError, match="not writable") as failure:
        AuditStorage(folder)
    assert str(folder) in str(failure.value)


@pytest.mark.parametrize(
    "name", ["../x", "../../etc/passwd", "sub/../../x", "/etc/passwd", "/tmp/elsewhere/x"]
)
def test_get_path_refuses_paths_outside_the_folder(storage: AuditStorage, name: str) -> None:
    with pytest.raises(ValueError, match="outside the audit folder") as failure:
        storage.get_path(name)
    assert str(storage.root) in str(failure.value)


def test_get_path_refuses_a_link_that_leads_outside(storage: AuditStorage, tmp_path: Path) -> None:
    (storage.root / "escape").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="outside the audit folder"):
        storage.get_path("escape/secret")


def test_get_path_accepts_names_inside_the_folder(storage: AuditStorage) -> None:
    assert storage.get_path("exports/run.csv") == storage.root / "exports" / "run.csv"
    assert storage.get_path("a/../b.json") == storage.root / "b.json"
    assert storage.get_path(str(storage.root / "c.json")) == storage.root / "c.json"


# -- corrupt files ---------------------------------------------------------------------------


def _filled_database(root: Path) -> bytes:
    store = AuditStorage(root)
    store.save_audit({"id": "run-1", "kind": "seance"})
    for start in range(0, 3000, 500):
        store.append_events([event(data={"n": start + n, "pad": "x" * 200}) for n in range(500)])
    store.close()  # the last connection folds the write-ahead log into the database
    assert not (root / "audit.sqlite3-wal").exists()
    return (root / "audit.sqlite3").read_bytes()


def test_random_bytes_instead_of_a_database_are_a_value_error(root: Path) -> None:
    root.mkdir(parents=True)
    database = root / "audit.sqlite3"
    database.write_bytes(os.urandom(8192))
    with pytest.raises(ValueError) as failure:
        AuditStorage(root)
    assert str(database) in str(failure.value)
    assert "file is not a database" in str(failure.value)


@pytest.mark.parametrize("fraction", [0.9, 0.5, 0.05])
def test_a_truncated_database_is_a_value_error(root: Path, fraction: float) -> None:
    whole = _filled_database(root)
    database = root / "audit.sqlite3"
    database.write_bytes(whole[: int(len(whole) * fraction)])
    with pytest.raises(ValueError) as failure:
        AuditStorage(root)
    assert str(database) in str(failure.value)
    assert "malformed" in str(failure.value)


def test_another_applications_sqlite_file_is_a_value_error(root: Path) -> None:
    root.mkdir(parents=True)
    database = root / "audit.sqlite3"
    other = sqlite3.connect(database)
    other.execute("CREATE TABLE recipes (name TEXT, eye_of_newt INTEGER)")
    other.commit()
    other.close()
    with pytest.raises(ValueError) as failure:
        AuditStorage(root)
    assert str(database) in str(failure.value)
    assert "not a Phantom audit log" in str(failure.value)
    # ...and it was left as it was.
    check = sqlite3.connect(database)
    assert [r[0] for r in check.execute("SELECT name FROM sqlite_master")] == ["recipes"]
    check.close()


def test_an_audit_log_of_an_unknown_format_is_a_value_error(storage: AuditStorage) -> None:
    raw = sqlite3.connect(storage.database_path)
    raw.execute("UPDATE meta SET value = 'phantom-audit/99' WHERE key = 'format'")
    raw.commit()
    raw.close()
    storage.close()
    with pytest.raises(ValueError, match="phantom-audit/99") as failure:
        AuditStorage(storage.root)
    assert str(storage.database_path) in str(failure.value)


@pytest.mark.parametrize(
    "content", [b"", b"short", os.urandom(64), b'{"format": "phantom-audit-sealing-key/1"}']
)
def test_a_corrupt_sealing_key_file_is_a_value_error(root: Path, content: bytes) -> None:
    AuditStorage(root).close()
    key = root / "audit.sealing-key"
    key.write_bytes(content)
    with pytest.raises(ValueError, match="not a Phantom audit sealing key") as failure:
        AuditStorage(root)
    assert str(key) in str(failure.value)


def test_a_missing_sealing_key_stops_writing_and_says_how_to_check(root: Path) -> None:
    AuditStorage(root).close()
    (root / "audit.sealing-key").unlink()
    with pytest.raises(ValueError, match=r"sealing key .* is missing") as failure:
        AuditStorage(root)
    assert "--key" in str(failure.value)
    assert AuditStorage(root, read_only=True).verify().ok  # reading still works


# -- runs ("audits") -------------------------------------------------------------------------


def test_save_and_get_a_run(storage: AuditStorage) -> None:
    run_id = storage.save_audit(
        {"project": "manor", "kind": "seance", "name": "Veiled Voices", "medium": "ouija"}
    )
    run = storage.get_audit(run_id)
    assert run is not None
    assert run["id"] == run_id
    assert (run["project"], run["kind"], run["name"]) == ("manor", "seance", "Veiled Voices")
    assert run["status"] == "running"
    assert run["medium"] == "ouija"  # fields the table has no column for are kept too
    assert datetime.fromisoformat(run["started"]).tzinfo is not None
    assert run["ended"] is None


def test_save_keeps_a_given_id_and_makes_up_distinct_ones(storage: AuditStorage) -> None:
    assert storage.save_audit({"id": "brew-7"}) == "brew-7"
    made = {storage.save_audit({}) for _ in range(20)}
    assert len(made) == 20 and "brew-7" not in made
    assert storage.get_audit("brew-7") is not None


def test_get_an_unknown_run_is_none(storage: AuditStorage) -> None:
    assert storage.get_audit("nobody") is None


def test_list_runs_oldest_first_and_by_project(storage: AuditStorage) -> None:
    storage.save_audit({"id": "c", "project": "manor", "started": at(3)})
    storage.save_audit({"id": "a", "project": "crypt", "started": at(1)})
    storage.save_audit({"id": "b", "project": "manor", "started": at(2)})
    assert [run["id"] for run in storage.list_audits()] == ["a", "b", "c"]
    assert [run["id"] for run in storage.list_audits("manor")] == ["b", "c"]
    assert [run["id"] for run in storage.list_audits("crypt")] == ["a"]
    assert storage.list_audits("attic") == []


def test_update_a_run_merges_and_persists(storage: AuditStorage) -> None:
    run_id = storage.save_audit({"kind": "brew", "name": "Pumpkin", "cauldron": 3})
    assert storage.update_audit(run_id, {"status": "completed", "ended": at(5), "yield": 9})
    again = reopen(storage)
    run = again.get_audit(run_id)
    assert run is not None
    assert (run["status"], run["ended"]) == ("completed", at(5))
    assert (run["kind"], run["name"], run["cauldron"], run["yield"]) == ("brew", "Pumpkin", 3, 9)
    again.close()


def test_update_an_unknown_run_is_false_and_creates_nothing(storage: AuditStorage) -> None:
    assert storage.update_audit("nobody", {"status": "completed"}) is False
    assert storage.get_audit("nobody") is None
    assert storage.list_audits() == []


# -- events ----------------------------------------------------------------------------------


def test_append_event_from_an_event_and_read_it_back(storage: AuditStorage) -> None:
    original = Event(
        EventType.PHASE_COMPLETED,
        "run-1",
        phase=2,
        data={"answer": "boo", "nested": [1, {"two": 2.5}], "ünïcödé": "👻"},
        topic="seance/phase",
        source="seance",
    )
    storage.append_event(original.to_dict())
    [stored] = storage.get_events()
    assert stored["seq"] == 1
    assert Event.from_dict(stored) == original


def test_append_events_numbers_records_in_order_across_batches(storage: AuditStorage) -> None:
    first = storage.append_events([event(data={"n": n}) for n in range(5)])
    second = storage.append_events([event(data={"n": n}) for n in range(5, 8)])
    assert first == AppendResult(last_seq=5, count=5)
    assert second == AppendResult(last_seq=8, count=3)
    assert storage.append_events([]) == AppendResult(last_seq=8, count=0)
    events = storage.get_events()
    assert [e["seq"] for e in events] == list(range(1, 9))
    assert [e["data"]["n"] for e in events] == list(range(8))
    assert storage.last_seq() == 8 and storage.seq_range() == (1, 8)


def test_missing_fields_are_filled_in(storage: AuditStorage) -> None:
    storage.append_event({"type": "error", "audit_id": "run-1"})
    [stored] = storage.get_events()
    assert len(stored["id"]) >= 16
    assert datetime.fromisoformat(stored["timestamp"]).tzinfo is not None
    assert stored["data"] == {} and stored["phase"] is None
    assert stored["topic"] is None and stored["source"] is None


@pytest.mark.parametrize("payload", ["started", "", 42, [1, "two"], None, {"a": None}])
def test_any_json_payload_reads_back_as_written(storage: AuditStorage, payload: Any) -> None:
    """Hub events carry any JSON value; a plain string must not poison the log for readers."""
    storage.append_event(event(data=payload))
    storage.append_event(event(data={"after": True}))
    events = storage.get_events()
    assert events[0]["data"] == ({} if payload is None else payload)
    assert events[1]["data"] == {"after": True}
    assert storage.verify().ok


def test_an_unknown_event_type_is_a_value_error_listing_the_valid_ones(
    storage: AuditStorage,
) -> None:
    with pytest.raises(ValueError) as failure:
        storage.append_event(event(event_type="poltergeist"))
    message = str(failure.value)
    assert "'poltergeist'" in message
    assert all(member.value in message for member in EventType)
    with pytest.raises(ValueError, match="audit_started"):
        storage.get_events(event_type="poltergeist")
    with pytest.raises(ValueError, match="audit_started"):
        EventType.parse("poltergeist")


def test_a_batch_with_a_bad_event_writes_nothing(storage: AuditStorage) -> None:
    storage.append_event(event(data={"n": 0}))
    batch = [event(data={"n": 1}), event(event_type="poltergeist"), event(data={"n": 3})]
    with pytest.raises(ValueError):
        storage.append_events(batch)
    assert [e["data"] for e in storage.get_events()] == [{"n": 0}]
    storage.append_event(event(data={"n": 1}))
    assert storage.last_seq() == 2 and storage.verify().ok


def test_get_events_by_run_type_and_time(storage: AuditStorage) -> None:
    storage.append_events(
        [
            event("run-1", EventType.AUDIT_STARTED, timestamp=at(0)),
            event("run-2", EventType.AUDIT_STARTED, timestamp=at(1)),
            event("run-1", EventType.PHASE_STARTED, phase=1, timestamp=at(2)),
            event("run-2", "anomaly", timestamp=at(3)),
            event("run-1", "anomaly", timestamp=at(4)),
        ]
    )

    def seqs(events: list[dict[str, Any]]) -> list[int]:
        return [e["seq"] for e in events]

    assert seqs(storage.get_events()) == [1, 2, 3, 4, 5]
    assert seqs(storage.get_events(audit_id="run-1")) == [1, 3, 5]
    assert seqs(storage.get_events(audit_id="run-3")) == []
    assert seqs(storage.get_events(event_type="anomaly")) == [4, 5]
    assert seqs(storage.get_events(event_type=EventType.AUDIT_STARTED)) == [1, 2]
    assert seqs(storage.get_events(since=T0 + timedelta(minutes=2))) == [3, 4, 5]
    assert seqs(storage.get_events(since=at(2.5))) == [4, 5]
    assert seqs(storage.get_events("run-1", "anomaly", at(1))) == [5]
    assert seqs(storage.get_events(since=at(10))) == []


def test_event_filters_for_the_viewer(storage: AuditStorage) -> None:
    storage.append_events(
        [
            event(topic="sensor/emf", source="emf", data={"level": 3}, timestamp=at(0)),
            event(topic="sensor/temp", source="thermo", data={"c": -4}, timestamp=at(1)),
            event(topic="seance/phase", source="seance", data={"say": "BOO"}, timestamp=at(2)),
            event(topic=None, source="app", data={"note": "no topic"}, timestamp=at(3)),
            event(topic="sensor/emf/raw", source="emf", data={"level": 9}, timestamp=at(4)),
        ]
    )

    def seqs(**where: Any) -> list[int]:
        return [e["seq"] for e in storage.iter_events(EventFilter(**where))]

    assert seqs(topic_pattern="sensor/+") == [1, 2]
    assert seqs(topic_pattern="sensor/#") == [1, 2, 5]
    assert seqs(topic_pattern="+/phase") == [3]
    assert seqs(topic_pattern="sensor/emf/#") == [1, 5]  # '#' also matches the parent
    assert seqs(topic_pattern="+/emf/#") == [1, 5]
    assert seqs(topic_pattern="sensor/emf") == [1]
    assert seqs(topic_pattern="sensor/em") == []
    assert seqs(topic_pattern="#") == [1, 2, 3, 5]  # records without a topic never match
    assert seqs(source="emf") == [1, 5]
    assert seqs(text="boo") == [3]  # case-insensitive, in the payload
    assert seqs(text="TEMP") == [2]  # ...and in the topic
    assert seqs(until=at(2)) == [1, 2]
    assert seqs(after_seq=3) == [4, 5]
    assert storage.count_events(EventFilter(source="emf")) == 2
    assert storage.matching_seqs(EventFilter(topic_pattern="sensor/#")) == [1, 2, 5]
    assert [e["seq"] for e in storage.events_by_seq([5, 1, 3])] == [5, 1, 3]
    assert [e["seq"] for e in storage.events_by_seq([2, 3, 4])] == [2, 3, 4]
    assert [e["seq"] for e in storage.events_by_seq([4, 99])] == [4]
    assert storage.events_by_seq([]) == []


def test_iter_events_streams_in_batches_without_building_the_list(
    storage: AuditStorage,
) -> None:
    total = 50_000
    for start in range(0, total, 10_000):
        storage.append_events(
            [event(data={"n": start + n, "pad": "boo" * 10}) for n in range(10_000)]
        )
    assert inspect.isgenerator(storage.iter_events())
    stream = storage.iter_events(batch=500)
    tracemalloc.start()
    try:
        first = last = next(stream)
        count = 1
        for record in stream:
            count, last = count + 1, record
        _, streamed_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sample = list(itertools.islice(storage.iter_events(), 1000))
        sample_size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (first["seq"], last["seq"], count) == (1, total, total)
    assert len(sample) == 1000
    # Streaming holds one batch at a time, never anything like all 50,000 records.
    whole_list = sample_size * total / len(sample)
    assert streamed_peak * 20 < whole_list, (streamed_peak, whole_list)


# -- clearing --------------------------------------------------------------------------------


def test_clear_all_events_then_keep_appending(storage: AuditStorage) -> None:
    storage.set_config("checkpoint_every", 4)
    storage.append_events([event(data={"n": n}) for n in range(10)])
    assert storage.clear_events() == 10
    assert storage.get_events() == []
    assert storage.verify().ok
    assert storage.clear_events() == 0
    storage.append_events([event(data={"n": n}) for n in range(10, 13)])
    assert [e["seq"] for e in storage.get_events()] == [11, 12, 13]  # numbering goes on
    report = storage.verify()
    assert report.ok and report.checked == 3
    again = reopen(storage)
    again.append_event(event(data={"n": 13}))
    assert again.verify().ok and again.last_seq() == 14
    again.close()


def test_clear_before_a_time_removes_only_a_prefix(storage: AuditStorage) -> None:
    storage.set_config("checkpoint_every", 3)
    minutes = [0, 1, 2, 3, 8, 4, 9, 10]  # the fifth record's clock jumped ahead
    storage.append_events([event(timestamp=at(m), data={"m": m}) for m in minutes])
    assert storage.clear_events(before=T0 + timedelta(minutes=2.5)) == 3
    assert [e["data"]["m"] for e in storage.get_events()] == [3, 8, 4, 9, 10]
    # The first record at or after the cut-off ends the prefix: the 4-minute record after
    # the 8-minute one stays, or the chain would have a hole.
    assert storage.clear_events(before=at(5)) == 1
    assert [e["data"]["m"] for e in storage.get_events()] == [8, 4, 9, 10]
    report = storage.verify()
    assert report.ok and report.checked == 4
    storage.append_events([event(data={"m": 11})])
    assert storage.verify().ok
    assert storage.clear_events(before=at(-1)) == 0
    assert storage.count_events() == 5


def test_clear_before_a_time_after_everything_clears_all(storage: AuditStorage) -> None:
    storage.append_events([event(timestamp=at(m)) for m in range(5)])
    assert storage.clear_events(before=at(60)) == 5
    assert storage.count_events() == 0
    storage.append_event(event())
    assert storage.verify().ok and storage.seq_range() == (6, 6)


# -- SQLite's answers: busy, locked, full ---------------------------------------------------------


@pytest.fixture
def locked_by_another_writer(storage: AuditStorage) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holding the log's write lock; the
    storage waits 20 ms for it (instead of 10 s) each time it tries."""
    storage.database.connection().execute("PRAGMA busy_timeout = 20")
    other = sqlite3.connect(storage.database_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def test_a_lock_held_too_long_is_an_ebusy_error_and_writes_nothing(
    storage: AuditStorage, locked_by_another_writer: sqlite3.Connection
) -> None:
    with pytest.raises(OSError) as failure:
        storage.append_events([event(), event()])
    assert failure.value.errno == errno.EBUSY
    assert str(storage.database_path) in str(failure.value)
    assert "SQLITE_BUSY" in str(failure.value)
    cause = failure.value.__cause__
    assert isinstance(cause, sqlite3.OperationalError) and is_busy(cause)
    locked_by_another_writer.execute("ROLLBACK")
    assert storage.last_seq() == 0
    storage.append_event(event())
    assert storage.last_seq() == 1 and storage.verify().ok


def test_a_lock_let_go_while_the_write_waits_is_waited_out(
    storage: AuditStorage, locked_by_another_writer: sqlite3.Connection
) -> None:
    release = threading.Timer(0.05, lambda: locked_by_another_writer.execute("ROLLBACK"))
    release.start()
    try:
        result = storage.append_events([event(), event()])  # busy at first, then retried
    finally:
        release.join()
    assert result == AppendResult(last_seq=2, count=2)


def test_a_locked_table_is_told_by_its_code_too(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    connection.execute("CREATE TABLE t (x)")
    connection.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(10)])
    reading = connection.execute("SELECT x FROM t")
    reading.fetchone()
    with pytest.raises(sqlite3.OperationalError) as failure:
        connection.execute("DROP TABLE t")  # the table is in use by the open read
    assert failure.value.sqlite_errorcode == sqlite3.SQLITE_LOCKED
    assert is_busy(failure.value)
    error = as_os_error(failure.value, tmp_path / "x.sqlite3")
    assert error.errno == errno.EBUSY and "SQLITE_LOCKED" in str(error)
    reading.close()
    connection.close()


def test_a_full_database_is_an_enospc_error_and_loses_nothing_committed(
    storage: AuditStorage,
) -> None:
    storage.append_events([event(data={"n": n}) for n in range(10)])
    connection = storage.database.connection()
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")  # SQLite answers SQLITE_FULL
    with pytest.raises(OSError) as failure:
        storage.append_events([event(data={"pad": "x" * 4000}) for _ in range(50)])
    assert failure.value.errno == errno.ENOSPC
    assert str(storage.database_path) in str(failure.value) and "SQLITE_FULL" in str(failure.value)
    assert storage.last_seq() == 10
    connection.execute("PRAGMA max_page_count = 1073741823")
    storage.append_events([event(data={"pad": "x" * 4000}) for _ in range(50)])
    assert storage.last_seq() == 60 and storage.verify().ok


# -- typed event data ---------------------------------------------------------------------------


class Mood(enum.Enum):
    EERIE = "eerie"


@dataclasses.dataclass(frozen=True)
class Reading:
    sensor: str
    value: float
    mood: Mood


class Message(NamedTuple):
    topic: str
    payload: bytes | str
    qos: int


class Profile(BaseModel):
    name: str
    when: datetime


def test_typed_event_data_is_journalled_as_json_objects(storage: AuditStorage) -> None:
    moment = datetime(2031, 10, 31, 23, 0, tzinfo=UTC)
    payloads = [
        Reading("emf", 3.5, Mood.EERIE),
        Message("cauldron/sensor/temp", "21.5", 1),
        Profile(name="crypt", when=moment),
        Mood.EERIE,
        {"nested": Reading("thermo", -4.0, Mood.EERIE), "at": [Message("a", "b", 0)]},
    ]
    storage.append_events([event(data=payload) for payload in payloads])
    assert [stored["data"] for stored in storage.get_events()] == [
        {"sensor": "emf", "value": 3.5, "mood": "eerie"},
        {"topic": "cauldron/sensor/temp", "payload": "21.5", "qos": 1},
        {"name": "crypt", "when": "2031-10-31T23:00:00Z"},
        "eerie",
        {"nested": {"sensor": "thermo", "value": -4.0, "mood": "eerie"}, "at": [["a", "b", 0]]},
    ]
    assert storage.verify().ok


# -- config ----------------------------------------------------------------------------------


def test_config_defaults_set_and_reset(storage: AuditStorage) -> None:
    assert storage.get_config() == DEFAULT_CONFIG
    storage.set_config("checkpoint_every", 50)
    storage.set_config("record_topics", ["seance/#"])
    again = reopen(storage)
    config = again.get_config()
    assert config["checkpoint_every"] == 50 and config["record_topics"] == ["seance/#"]
    assert config["batch_size"] == DEFAULT_CONFIG["batch_size"]
    again.reset_config()
    assert again.get_config() == DEFAULT_CONFIG
    again.close()


def test_set_config_does_not_change_the_defaults(storage: AuditStorage) -> None:
    storage.get_config()["batch_size"] = -1
    storage.set_config("flush_interval_s", 1.0)
    assert storage.get_config()["batch_size"] == DEFAULT_CONFIG["batch_size"]
    assert DEFAULT_CONFIG["flush_interval_s"] == 0.05


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\udcff"], ids=["syntax", "list", "utf8"])
def test_a_corrupt_config_is_a_value_error_naming_the_file(
    storage: AuditStorage, text: str
) -> None:
    config = storage.root / "config.json"
    config.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError) as failure:
        storage.get_config()
    assert str(config) in str(failure.value)
    with pytest.raises(ValueError):
        storage.set_config("batch_size", 10)
    storage.reset_config()  # the way out
    assert storage.get_config() == DEFAULT_CONFIG


# -- Event -----------------------------------------------------------------------------------


def test_event_round_trips_through_a_dict_and_json() -> None:
    original = Event(EventType.GENERATION, "ga-1", phase=7, data={"best": 0.93})
    record = json.loads(json.dumps(original.to_dict()))
    assert record["type"] == "generation"
    assert Event.from_dict(record) == original
    minimal = Event.from_dict(
        {"type": "error", "audit_id": "a", "id": "e1", "timestamp": "2031-10-31T23:00:00+00:00"}
    )
    assert (minimal.phase, minimal.data, minimal.topic, minimal.source) == (None, {}, None, None)


def test_events_are_frozen_and_get_unique_ids() -> None:
    one, two = Event(EventType.HAUNT, "a"), Event(EventType.HAUNT, "a")
    assert one.id != two.id
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.audit_id = "b"  # type: ignore[misc]


@pytest.mark.parametrize("missing", ["type", "audit_id", "id", "timestamp"])
def test_from_dict_names_a_missing_field(missing: str) -> None:
    record = Event(EventType.HAUNT, "a").to_dict()
    del record[missing]
    with pytest.raises(ValueError, match=f"'{missing}'"):
        Event.from_dict(record)


def test_from_dict_refuses_an_unknown_type() -> None:
    record = Event(EventType.HAUNT, "a").to_dict() | {"type": "banshee"}
    with pytest.raises(ValueError, match=r"'banshee'.*haunt"):
        Event.from_dict(record)
