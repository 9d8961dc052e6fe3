"""The forward-secure log: the sealing key moves on one way and the old one is erased; what
can be checked with and without the verification key; logs of the first format."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.audit.chain import CANONICAL_SQL, HEAD_LABEL, Checkpoint, RecordHasher, genesis_mac
from phantom_gui.audit.keys import SEED_EPOCH, EpochKeys, SealingKey, VerificationKey, evolve
from phantom_gui.audit.storage import AuditStorage

V1_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "audit-v1"


def readings(count: int, run: str = "run-1") -> list[dict[str, Any]]:
    return [{"type": "sensor_reading", "audit_id": run, "data": {"n": n}} for n in range(count)]


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[AuditStorage]:
    store = AuditStorage(tmp_path / "data" / "audit")
    store.set_config("checkpoint_every", 100)
    yield store
    store.close()


def tamper(storage: AuditStorage, sql: str, *params: Any) -> None:
    with sqlite3.connect(storage.database_path) as raw:
        raw.execute(sql, params)


def every_byte_in(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


# -- the keys ------------------------------------------------------------------------------------


def test_an_epoch_key_gives_the_later_ones_and_never_the_earlier() -> None:
    seed = bytes(range(32))
    keys = EpochKeys(SEED_EPOCH, seed)
    assert keys.key(SEED_EPOCH) == seed
    assert keys.key(0) == evolve(seed, 0)
    assert keys.key(3) == evolve(evolve(evolve(evolve(seed, 0), 1), 2), 3)
    later = EpochKeys(3, keys.key(3) or b"")
    assert later.key(5) == keys.key(5)
    assert [later.key(epoch) for epoch in (2, 0, SEED_EPOCH)] == [None, None, None]
    assert len({keys.key(epoch) for epoch in range(-1, 50)}) == 51


def test_a_seal_moves_the_sealing_key_on_and_erases_the_old_one(storage: AuditStorage) -> None:
    verification = storage.new_verification_key
    assert verification is not None
    keys = verification.epoch_keys()
    storage.append_events(readings(250))  # seals epochs 0 and 1 at records 100 and 200
    sealing = SealingKey.read(storage.sealing_key_path)
    assert sealing is not None and sealing.epoch == 2 and sealing.key == keys.key(2)
    kept = every_byte_in(storage.root)
    for epoch in (SEED_EPOCH, 0, 1):
        key = keys.key(epoch)
        assert key is not None
        assert key not in kept and key.hex().encode() not in kept, f"key of epoch {epoch} kept"
    head = storage.read_head()
    assert head is not None and (head.epoch, head.seq) == (2, 250)


def test_an_epoch_holding_records_is_sealed_once_it_is_older_than_the_setting(
    storage: AuditStorage,
) -> None:
    storage.append_events(readings(3))
    assert not storage.seal_if_due()  # five minutes have not passed
    storage.set_config("seal_every_s", 0.0)
    storage.append_events(readings(2))  # the epoch is due: sealed first, then these go on
    with sqlite3.connect(storage.database_path) as raw:
        assert raw.execute("SELECT epoch, seq FROM seals").fetchall() == [(0, 3)]
    assert storage.seal_if_due()
    assert not storage.seal_if_due()  # an epoch without records is not sealed
    with sqlite3.connect(storage.database_path) as raw:
        assert raw.execute("SELECT epoch, seq FROM seals").fetchall() == [(0, 3), (1, 5)]
    assert storage.verify(storage.new_verification_key).ok


def test_two_writers_of_one_log_follow_each_others_epochs(storage: AuditStorage) -> None:
    other = AuditStorage(storage.root)
    storage.append_events(readings(150))  # epoch 1 now
    other.append_events(readings(100))  # written in epoch 1, seals it at 200
    storage.append_events(readings(120))
    sealing = SealingKey.read(storage.sealing_key_path)
    assert sealing is not None and sealing.epoch == 3
    report = storage.verify(storage.new_verification_key)
    assert report.ok and report.checked == 370
    other.close()


# -- what is checked without the verification key -----------------------------------------------


@pytest.fixture
def two_sealed_epochs(storage: AuditStorage) -> AuditStorage:
    """250 readings: epochs 0 and 1 sealed (records 1-200), 50 records in epoch 2."""
    storage.append_events(readings(250))
    return storage


def rewrite(storage: AuditStorage, seq: int, n: int) -> None:
    tamper(storage, "UPDATE events SET data = ? WHERE seq = ?", f'{{"n": {n}}}', seq)


def test_without_the_key_sealed_epochs_are_checked_for_order_only_and_it_says_so(
    two_sealed_epochs: AuditStorage,
) -> None:
    rewrite(two_sealed_epochs, 42, -1)
    unkeyed = two_sealed_epochs.verify()
    assert unkeyed.ok and unkeyed.unauthenticated == 200
    assert "records before epoch 2 (up to record 200) could not be authenticated" in str(unkeyed)
    keyed = two_sealed_epochs.verify(two_sealed_epochs.new_verification_key)
    assert not keyed.ok and keyed.first_bad_seq == 42


def test_without_the_key_the_current_epoch_and_the_structure_are_still_checked(
    two_sealed_epochs: AuditStorage,
) -> None:
    storage = two_sealed_epochs
    rewrite(storage, 242, -1)
    assert (storage.verify().ok, storage.verify().first_bad_seq) == (False, 242)
    rewrite(storage, 242, 241)
    assert storage.verify().ok
    tamper(storage, "DELETE FROM events WHERE seq > 160")
    assert "cut off" in storage.verify().reason
    tamper(storage, "DELETE FROM events WHERE seq = 150")
    assert storage.verify().first_bad_seq == 150  # a gap, even in a sealed epoch


def test_without_the_key_a_cut_into_sealed_epochs_is_found_even_with_a_forged_head(
    two_sealed_epochs: AuditStorage,
) -> None:
    storage = two_sealed_epochs
    tamper(storage, "DELETE FROM events WHERE seq > 150")
    tamper(storage, "DELETE FROM seals WHERE epoch > 0")
    # The head re-signed with the sealing key found beside the log, at the new end.
    sealing = storage.sealing_key()
    assert sealing is not None and sealing.epoch == 2
    with sqlite3.connect(storage.database_path) as raw:
        mac = raw.execute("SELECT mac FROM events WHERE seq = 150").fetchone()[0]
    head = Checkpoint.make(sealing.key, HEAD_LABEL, 150, mac, sealing.epoch)
    (storage.root / "audit.head.json").write_text(head.to_json())
    report = storage.verify()
    assert not report.ok and "cut off" in report.reason and "epoch 2" in report.reason


def test_a_log_rebuilt_as_if_it_began_in_the_current_epoch_is_found(
    two_sealed_epochs: AuditStorage,
) -> None:
    """Someone holding the sealing key (epoch 2) re-signs the whole log as if it had begun in
    epoch 2: no seal is then needed for epochs 0 and 1."""
    storage = two_sealed_epochs
    sealing = storage.sealing_key()
    assert sealing is not None and sealing.epoch == 2
    hasher = RecordHasher(sealing.key)
    mac = genesis_mac(sealing.key, storage.chain_id)
    with sqlite3.connect(storage.database_path) as raw:
        raw.execute("UPDATE meta SET value = '2' WHERE key = 'first_epoch'")
        raw.execute("DELETE FROM seals")
        rows = raw.execute(f"SELECT seq, {CANONICAL_SQL} FROM events ORDER BY seq").fetchall()
        for seq, text in rows:
            mac = hasher.record(mac, text)
            raw.execute("UPDATE events SET mac = ? WHERE seq = ?", (mac, seq))
    head = Checkpoint.make(sealing.key, HEAD_LABEL, 250, mac, sealing.epoch)
    (storage.root / "audit.head.json").write_text(head.to_json())
    again = AuditStorage(storage.root)
    report = again.verify(storage.new_verification_key)
    assert not report.ok and "begin in epoch 2" in report.reason
    again.close()


def test_a_sealed_log_passed_off_as_one_of_the_first_format_is_found(
    two_sealed_epochs: AuditStorage,
) -> None:
    """The first format did not chain the runs table: claiming it would hide run edits."""
    tamper(two_sealed_epochs, "UPDATE meta SET value = 'phantom-audit/1' WHERE key = 'format'")
    again = AuditStorage(two_sealed_epochs.root, read_only=True)
    report = again.verify(two_sealed_epochs.new_verification_key)
    assert not report.ok and "first format" in report.reason
    again.close()


def test_a_verification_key_of_another_log_is_refused(storage: AuditStorage) -> None:
    with pytest.raises(ValueError, match="another log"):
        storage.verify(VerificationKey.new("someone-else"))


def test_a_sealing_key_replaced_by_one_made_up_is_found(storage: AuditStorage) -> None:
    storage.append_events(readings(120))
    forged = SealingKey(storage.chain_id, 1, bytes(32))
    forged.store(storage.sealing_key_path)
    report = storage.verify(storage.new_verification_key)
    assert not report.ok and "sealing key" in report.reason


# -- logs of the first format ---------------------------------------------------------------------


@pytest.fixture
def v1_log(tmp_path: Path) -> Path:
    root = tmp_path / "data" / "audit"
    shutil.copytree(V1_LOG, root)
    (root / "README.md").unlink()
    return root


def test_a_log_of_the_first_format_still_verifies_read_only(v1_log: Path) -> None:
    storage = AuditStorage(v1_log, read_only=True)
    report = storage.verify()
    assert report.ok and report.checked == 250 and report.unauthenticated == 0
    assert "first format" in str(report) and "runs table is not covered" in str(report)
    tamper(storage, "UPDATE events SET data = '{\"n\": 0}' WHERE seq = 77")
    assert storage.verify().first_bad_seq == 77
    storage.close()
    assert {path.name for path in v1_log.iterdir() if not path.name.endswith(("-wal", "-shm"))} == {
        "audit.key",
        "audit.head.json",
        "audit.sqlite3",
    }  # nothing made, nothing upgraded
    with sqlite3.connect(v1_log / "audit.sqlite3") as raw:
        assert raw.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == (
            "phantom-audit/1",
        )


def test_opening_a_log_of_the_first_format_upgrades_it(v1_log: Path) -> None:
    old_key = (v1_log / "audit.key").read_bytes()
    storage = AuditStorage(v1_log)
    verification = storage.new_verification_key
    assert verification is not None and verification.seed == old_key
    assert (v1_log / "audit.key").exists()  # until its owner has the key
    storage.verification_key_taken()
    assert not (v1_log / "audit.key").exists()
    assert old_key not in every_byte_in(v1_log)

    # Each run's row was chained as it stood, then everything sealed as epoch -1.
    run_records = storage.get_events(event_type="audit_updated")
    assert [(r["seq"], r["audit_id"]) for r in run_records] == [(251, "seance-1"), (252, "brew-2")]
    assert run_records[1]["data"]["run"]["status"] == "completed"
    sealing = storage.sealing_key()
    assert sealing is not None and sealing.epoch == 0
    storage.append_events(readings(10, "after"))
    report = storage.verify(verification)
    assert report.ok and report.checked == 262
    assert "records up to 252 were written before the log was sealed in epochs" in str(report)
    unkeyed = storage.verify()
    assert unkeyed.ok and unkeyed.unauthenticated == 252

    tamper(storage, "UPDATE audits SET status = 'failed' WHERE id = 'brew-2'")
    assert "run 'brew-2'" in storage.verify(verification).reason
    tamper(storage, "UPDATE audits SET status = 'completed' WHERE id = 'brew-2'")
    tamper(storage, "UPDATE events SET data = '{\"n\": 1}' WHERE seq = 13")
    assert storage.verify(verification).first_bad_seq == 13
    storage.close()


def test_an_upgrade_not_handed_over_is_offered_again(v1_log: Path) -> None:
    old_key = (v1_log / "audit.key").read_bytes()
    AuditStorage(v1_log).close()  # upgraded, but the app ended before its owner had the key
    again = AuditStorage(v1_log)
    assert again.new_verification_key == VerificationKey(again.chain_id, old_key)
    assert again.verify(again.new_verification_key).ok
    again.close()
