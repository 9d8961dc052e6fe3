"""Tamper evidence: every edit, deletion, reordering, insertion and cut-off tail is found
by verification with the log's verification key.

Each attack goes through a separate raw sqlite3 connection (or edits a file), as someone
with access to the files would. (What the sealing key kept beside the log lets someone
forge, and what verification without the verification key can then tell, is tested in
test_audit_forward_secure.py.)
"""

from __future__ import annotations

import hmac
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phantom_gui.audit.chain import CANONICAL_SQL, RecordHasher, canonical
from phantom_gui.audit.journal import HEAD_NAME
from phantom_gui.audit.storage import AuditStorage, VerifyReport

TOTAL = 3_050  # 30 checkpoints (every 100), then 50 records after the last one
EVERY = 100


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[AuditStorage]:
    store = AuditStorage(tmp_path / "audit")
    store.set_config("checkpoint_every", EVERY)
    runs = ["seance", "brew", "evolution"]
    sizes = [1, 37, 250, 512, 1000, 1250]  # batches that straddle checkpoints
    seq = 0
    while seq < TOTAL:
        size = min(sizes[seq % len(sizes)], TOTAL - seq)
        store.append_events(
            [
                {
                    "type": "sensor_reading",
                    "audit_id": runs[(seq + n) % 3],
                    "phase": (seq + n) % 7 or None,
                    "topic": f"sensor/{runs[(seq + n) % 3]}",
                    "source": "emf",
                    "data": {"n": seq + n, "level": (seq + n) % 11},
                }
                for n in range(size)
            ]
        )
        seq += size
    yield store
    store.close()


def tamper(storage: AuditStorage, *statements: tuple[str, tuple[Any, ...]] | str) -> None:
    """Run SQL against the log behind the storage's back, and commit it."""
    raw = sqlite3.connect(storage.database_path)
    for statement in statements:
        sql, params = (statement, ()) if isinstance(statement, str) else statement
        raw.execute(sql, params)
    raw.commit()
    raw.close()


def verified(storage: AuditStorage) -> VerifyReport:
    """The verdict with the verification key the log was made with."""
    return storage.verify(storage.new_verification_key)


def assert_tampered(storage: AuditStorage, seq: int | None, *words: str) -> str:
    report = verified(storage)
    text = str(report)
    assert not report.ok, text
    assert report.first_bad_seq == seq, text
    assert text.startswith("TAMPERED at " + (f"record {seq}" if seq else "the log")), text
    for word in words:
        assert word in text, text
    return text


def test_a_clean_log_verifies_with_the_right_count(storage: AuditStorage) -> None:
    raw = sqlite3.connect(storage.database_path)
    seals = raw.execute("SELECT epoch, seq FROM seals ORDER BY epoch").fetchall()
    raw.close()
    assert seals == [(n, (n + 1) * EVERY) for n in range(TOTAL // EVERY)]
    head = storage.read_head()
    assert head is not None and (head.seq, head.epoch) == (TOTAL, TOTAL // EVERY)
    report = verified(storage)
    assert report.ok and report.checked == TOTAL and report.first_bad_seq is None
    assert report.unauthenticated == 0
    assert str(report).splitlines()[0] == "OK: 3,050 records verified"


def test_an_edited_record_is_found(storage: AuditStorage) -> None:
    tamper(storage, ("UPDATE events SET data = ? WHERE seq = 1234", ('{"n": 1234, "level": 0}',)))
    assert_tampered(storage, 1234, "MAC mismatch")


@pytest.mark.parametrize("column", ["type", "topic", "source", "timestamp", "audit_id", "phase"])
def test_every_column_is_covered(storage: AuditStorage, column: str) -> None:
    value = 3 if column == "phase" else "anomaly"
    tamper(storage, (f"UPDATE events SET {column} = ? WHERE seq = 2001", (value,)))
    assert_tampered(storage, 2001)


def test_a_deleted_record_is_found_as_a_gap(storage: AuditStorage) -> None:
    tamper(storage, "DELETE FROM events WHERE seq = 1500")
    assert_tampered(storage, 1500, "records 1500..1500 are missing")


def test_a_deleted_first_record_is_found(storage: AuditStorage) -> None:
    tamper(storage, "DELETE FROM events WHERE seq = 1")
    assert_tampered(storage, 1, "records 1..1 are missing")


def test_a_deletion_hidden_by_renumbering_is_found(storage: AuditStorage) -> None:
    tamper(
        storage,
        "DELETE FROM events WHERE seq = 700",
        "UPDATE events SET seq = seq - 1 WHERE seq > 700",
    )
    assert_tampered(storage, 700, "MAC mismatch")


def test_two_swapped_records_are_found_at_the_first(storage: AuditStorage) -> None:
    columns = "id, type, topic, source, timestamp, audit_id, phase, data, mac"
    tamper(
        storage,
        "CREATE TEMP TABLE a AS SELECT * FROM events WHERE seq = 812",
        "CREATE TEMP TABLE b AS SELECT * FROM events WHERE seq = 1640",
        f"UPDATE events SET ({columns}) = (SELECT {columns} FROM b) WHERE seq = 812",
        f"UPDATE events SET ({columns}) = (SELECT {columns} FROM a) WHERE seq = 1640",
    )
    assert_tampered(storage, 812, "MAC mismatch")


def test_a_forged_record_appended_at_the_end_is_found(storage: AuditStorage) -> None:
    tamper(
        storage,
        "INSERT INTO events (seq, id, type, topic, source, timestamp, audit_id, phase, data, mac) "
        "SELECT seq + 1, id, 'security', topic, source, timestamp, audit_id, phase, "
        '\'{"door": "unlocked"}\', mac FROM events WHERE seq = 3050',
    )
    assert_tampered(storage, TOTAL + 1, "MAC mismatch")


def test_a_copied_record_inserted_in_the_middle_is_found(storage: AuditStorage) -> None:
    tamper(
        storage,
        "UPDATE events SET seq = -(seq + 1) WHERE seq > 999",  # make room (in two steps,
        "UPDATE events SET seq = -seq WHERE seq < 0",  # as seq is unique)...
        "INSERT INTO events SELECT 1000, id, type, topic, source, timestamp, audit_id, phase, "
        "data, mac FROM events WHERE seq = 999",  # ...and repeat record 999 there
    )
    assert_tampered(storage, 1000, "MAC mismatch")


def test_a_cut_off_tail_is_found_by_a_checkpoint(storage: AuditStorage) -> None:
    tamper(storage, "DELETE FROM events WHERE seq > 2950")
    assert_tampered(storage, 2951, "cut off", "3000")


def test_a_tail_cut_after_the_last_checkpoint_is_found_by_the_head_file(
    storage: AuditStorage,
) -> None:
    tamper(storage, "DELETE FROM events WHERE seq > 3000")
    assert_tampered(storage, 3001, "cut off after record 3000", "reached 3050")


def test_a_tail_cut_with_its_checkpoints_is_found_by_the_head_file(storage: AuditStorage) -> None:
    tamper(storage, "DELETE FROM events WHERE seq > 1234", "DELETE FROM seals WHERE seq > 1234")
    assert_tampered(storage, 1235, "cut off after record 1234", "reached 3050")


def test_an_emptied_log_is_found_by_the_head_file(storage: AuditStorage) -> None:
    tamper(storage, "DELETE FROM events", "DELETE FROM seals")
    assert_tampered(storage, 1, "cut off", "reached 3050")


def test_a_tail_cut_together_with_the_head_file_is_not_passed_as_ok(
    storage: AuditStorage,
) -> None:
    tamper(storage, "DELETE FROM events WHERE seq > 3000")
    storage.get_path("audit.head.json").unlink()
    assert_tampered(storage, None, "head checkpoint file", "missing")


def test_a_seal_moved_to_a_later_record_is_found_where_the_epochs_part(
    storage: AuditStorage,
) -> None:
    tamper(storage, "UPDATE seals SET seq = 1550 WHERE seq = 1500")
    # Records 1501.. were chained under the next epoch's key, not this one's.
    assert_tampered(storage, 1501, "MAC mismatch")


def test_a_seal_copied_from_another_epoch_is_found(storage: AuditStorage) -> None:
    tamper(
        storage,
        "UPDATE seals SET (mac, signature) = "
        "(SELECT mac, signature FROM seals WHERE seq = 200) WHERE seq = 300",
    )
    assert_tampered(storage, 300, "seal of epoch 2 is forged")


def test_a_removed_seal_is_found(storage: AuditStorage) -> None:
    tamper(storage, "DELETE FROM seals WHERE epoch = 14")
    assert_tampered(storage, 1401, "seal of epoch 14 is missing")


def test_the_run_rows_are_covered_by_the_chain(storage: AuditStorage) -> None:
    storage.save_audit({"id": "brew-9", "project": "manor", "kind": "brew", "name": "Stew"})
    storage.update_audit("brew-9", {"status": "completed", "ended": "2031-11-01T00:00:00+00:00"})
    assert verified(storage).ok
    for column, value in [("status", "failed"), ("project", "crypt"), ("name", "Poison")]:
        tamper(storage, (f"UPDATE audits SET {column} = ? WHERE id = 'brew-9'", (value,)))
        assert_tampered(storage, None, "run 'brew-9'", column)
        storage.update_audit("brew-9", {column: value})  # the same change, made through the log
        assert verified(storage).ok
    tamper(storage, "UPDATE audits SET data = '{\"cauldron\": 13}' WHERE id = 'brew-9'")
    assert_tampered(storage, None, "run 'brew-9'", "cauldron")


def test_a_run_added_or_deleted_behind_the_logs_back_is_found(storage: AuditStorage) -> None:
    storage.save_audit({"id": "brew-9", "kind": "brew"})
    tamper(
        storage, "INSERT INTO audits (id, kind, status, started) VALUES ('x', 'brew', 'ok', 't')"
    )
    assert_tampered(storage, None, "run 'x'", "never recorded")
    tamper(storage, "DELETE FROM audits")
    assert_tampered(storage, None, "run 'brew-9' was deleted")


@pytest.mark.parametrize("seq", [3049, 3051, 1])
def test_a_head_file_with_an_edited_seq_is_found(storage: AuditStorage, seq: int) -> None:
    head = storage.root / HEAD_NAME
    fields = json.loads(head.read_text())
    fields["seq"] = seq
    head.write_text(json.dumps(fields))
    assert_tampered(storage, None, "head checkpoint file is forged")


def test_a_head_file_from_another_log_is_found(storage: AuditStorage, tmp_path: Path) -> None:
    other = AuditStorage(tmp_path / "other")
    other.append_events([{"type": "haunt", "audit_id": "x"}] * 10)
    other.close()
    (storage.root / HEAD_NAME).write_bytes((other.root / HEAD_NAME).read_bytes())
    assert_tampered(storage, None, "forged")


def test_clearing_old_events_keeps_the_chain_verifiable(storage: AuditStorage) -> None:
    first_kept = storage.get_events()[1234]
    assert storage.clear_events(before=first_kept["timestamp"]) == 1234
    report = verified(storage)
    assert report.ok and report.checked == TOTAL - 1234
    assert "records up to 1,234 were cleared" in str(report)
    storage.append_events([{"type": "haunt", "audit_id": "after"}] * 120)
    report = verified(storage)
    assert report.ok and report.checked == TOTAL - 1234 + 120


def test_clearing_the_records_of_a_run_chains_its_row_again(storage: AuditStorage) -> None:
    storage.save_audit({"id": "early", "kind": "brew"})
    storage.append_events([{"type": "haunt", "audit_id": "later"}] * 10)
    assert storage.clear_events() == TOTAL + 11
    [again] = storage.get_events()
    assert (again["type"], again["topic"], again["audit_id"]) == (
        "audit_updated",
        "audit/run",
        "early",
    )
    assert verified(storage).ok


def test_a_forged_anchor_after_clearing_is_found(storage: AuditStorage) -> None:
    storage.clear_events(before=storage.get_events()[500]["timestamp"])
    raw = sqlite3.connect(storage.database_path)
    anchor = json.loads(raw.execute("SELECT value FROM meta WHERE key = 'anchor'").fetchone()[0])
    raw.close()
    assert anchor["seq"] == 500
    anchor["seq"] = 900  # hide 400 more records
    tamper(
        storage,
        "DELETE FROM events WHERE seq <= 900",
        ("UPDATE meta SET value = ? WHERE key = 'anchor'", (json.dumps(anchor),)),
    )
    assert_tampered(storage, 900, "anchor", "forged")


def test_a_removed_anchor_after_clearing_is_found(storage: AuditStorage) -> None:
    storage.clear_events(before=storage.get_events()[500]["timestamp"])
    tamper(storage, "DELETE FROM meta WHERE key = 'anchor'")
    assert_tampered(storage, 1, "records 1..500 are missing")


def test_verify_while_another_writer_appends_is_not_a_false_alarm(
    storage: AuditStorage,
) -> None:
    """The head file is written after each commit; a verify that overlaps appends by
    another connection must not read a newer head than its snapshot and cry "cut off"."""
    writer = AuditStorage(storage.root)
    stop = threading.Event()
    appended = []

    def keep_appending() -> None:
        while not stop.is_set():
            appended.append(writer.append_events([{"type": "haunt", "audit_id": "w"}] * 5))
        writer.close()

    thread = threading.Thread(target=keep_appending)
    thread.start()
    try:
        reports = [verified(storage) for _ in range(15)]
    finally:
        stop.set()
        thread.join(10)
    assert appended, "the writer never got to append"
    assert [str(r) for r in reports if not r.ok] == []
    assert verified(storage).checked == TOTAL + 5 * len(appended)


# -- the primitives ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    # Keys up to, at and past SHA-256's 64-byte block, where HMAC hashes the key first.
    key=st.binary(max_size=64) | st.binary(min_size=63, max_size=200),
    message=st.binary(max_size=300),
)
def test_record_hasher_mac_is_hmac_sha256(key: bytes, message: bytes) -> None:
    assert RecordHasher(key).mac(message) == hmac.digest(key, message, "sha256")


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=100),
    previous=st.binary(min_size=32, max_size=32),
    text=st.text(),
)
def test_record_hasher_chains_the_previous_mac_and_the_text(
    key: bytes, previous: bytes, text: str
) -> None:
    expected = hmac.digest(key, previous + text.encode("utf-8", "surrogatepass"), "sha256")
    try:
        text.encode()
    except UnicodeEncodeError:
        return  # canonical text never holds lone surrogates: SQLite could not store them
    assert RecordHasher(key).record(previous, text) == expected


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_OPTIONAL = st.none() | _TEXT
_ROW = st.tuples(
    st.integers(min_value=1, max_value=2**63 - 1),  # seq
    _TEXT,  # id
    _TEXT,  # type
    _OPTIONAL,  # topic
    _OPTIONAL,  # source
    _TEXT,  # timestamp
    _OPTIONAL,  # audit_id
    st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),  # phase
    _TEXT,  # data
)


@pytest.fixture(scope="module")
def table() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, "
        "topic TEXT, source TEXT, timestamp TEXT NOT NULL, audit_id TEXT, phase INTEGER, "
        "data TEXT NOT NULL)"
    )
    yield connection
    connection.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_ROW, min_size=1, max_size=5, unique_by=lambda row: row[0]))
def test_canonical_equals_the_sql_expression(
    table: sqlite3.Connection, rows: list[tuple[Any, ...]]
) -> None:
    table.execute("DELETE FROM events")
    table.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    in_sql = dict(table.execute(f"SELECT seq, {CANONICAL_SQL} FROM events"))
    assert in_sql == {row[0]: canonical(*row) for row in rows}
