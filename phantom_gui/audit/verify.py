"""Verification of the audit chain: the first record that is not what was written, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from phantom_gui.audit.chain import CANONICAL_SQL, Checkpoint, RecordHasher, genesis_mac

if TYPE_CHECKING:
    from phantom_gui.audit.storage import AuditStorage, VerifyReport

_ROWS = f"SELECT seq, {CANONICAL_SQL}, mac FROM events ORDER BY seq"


def verify_storage(
    storage: AuditStorage, key: bytes, hasher: RecordHasher, chain_id: str
) -> VerifyReport:
    """Recompute every MAC in order and check the checkpoints and the head kept outside."""
    from phantom_gui.audit.storage import (
        ANCHOR_LABEL,
        CHECKPOINT_LABEL,
        HEAD_LABEL,
        VerifyReport,
    )

    # The head file is written after each commit, so read it before the snapshot starts:
    # read after, it could be newer than the snapshot and look like a cut-off tail.
    head = storage.read_head()
    connection = storage._connection()
    connection.execute("BEGIN")
    try:
        anchor = storage._anchor(connection)
        if anchor is not None and not anchor.is_genuine(key, ANCHOR_LABEL):
            return VerifyReport(
                False, 0, anchor.seq, "the anchor left by clearing old events is forged"
            )
        expected_seq = anchor.seq + 1 if anchor else 1
        mac = anchor.mac if anchor else genesis_mac(key, chain_id)
        checkpoints = {
            seq: Checkpoint(seq, cp_mac, signature)
            for seq, cp_mac, signature in connection.execute(
                "SELECT seq, mac, signature FROM checkpoints"
            )
        }
        macs_at_checkpoints: dict[int, bytes] = {}
        checked = 0
        chain = hasher.record
        cursor = connection.execute(_ROWS)
        while rows := cursor.fetchmany(4096):
            for row in rows:
                seq = row[0]
                if seq != expected_seq:
                    reason = (
                        f"records {expected_seq}..{seq - 1} are missing"
                        if seq > expected_seq
                        else f"record {seq} is out of order"
                    )
                    return VerifyReport(False, checked, expected_seq, reason)
                mac = chain(mac, row[1])
                if mac != row[2]:
                    return VerifyReport(
                        False, checked, seq, "its contents or position changed (MAC mismatch)"
                    )
                if seq in checkpoints:
                    macs_at_checkpoints[seq] = mac
                expected_seq += 1
                checked += 1
        last_seq = expected_seq - 1
        for seq, checkpoint in sorted(checkpoints.items()):
            if not checkpoint.is_genuine(key, CHECKPOINT_LABEL):
                return VerifyReport(False, checked, seq, "its checkpoint signature is forged")
            if seq > last_seq:
                return VerifyReport(
                    False,
                    checked,
                    last_seq + 1,
                    f"the log was cut off: a checkpoint covers record {seq}",
                )
            if macs_at_checkpoints.get(seq) != checkpoint.mac:
                return VerifyReport(False, checked, seq, "it does not match its signed checkpoint")
        if head is not None:
            if not head.is_genuine(key, HEAD_LABEL):
                return VerifyReport(False, checked, None, "the head checkpoint file is forged")
            if head.seq > last_seq:
                return VerifyReport(
                    False,
                    checked,
                    last_seq + 1,
                    f"the log was cut off after record {last_seq}; it had reached {head.seq}",
                )
            head_mac = _mac_at(connection, head.seq)
            if head.seq > (anchor.seq if anchor else 0) and head_mac != head.mac:
                return VerifyReport(
                    False, checked, head.seq, "it does not match the head checkpoint"
                )
        elif checked:
            return VerifyReport(
                False,
                checked,
                None,
                "the head checkpoint file (audit.head.json) is missing, so a cut-off tail "
                "could not be ruled out",
            )
        return VerifyReport(True, checked)
    finally:
        connection.execute("COMMIT")


def _mac_at(connection: object, seq: int) -> bytes | None:
    row = connection.execute("SELECT mac FROM events WHERE seq = ?", (seq,)).fetchone()  # type: ignore[attr-defined]
    return None if row is None else bytes(row[0])
