"""Verification of the audit chain: the first record that is not what was written, and why.

With the verification key every epoch's key is made again and every record, seal,
anchor, head and run row is checked. Without it, the keys of epochs sealed before the
sealing key kept beside the log cannot be made: those records are checked for order
and continuity only, and the report says so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from phantom_gui.audit.chain import (
    ANCHOR_LABEL,
    CANONICAL_SQL,
    HEAD_LABEL,
    LEGACY_CHECKPOINT_LABEL,
    SEAL_LABEL,
    Checkpoint,
    RecordHasher,
    genesis_mac,
)
from phantom_gui.audit.database import AuditDatabase
from phantom_gui.audit.journal import HEAD_NAME, SEALING_KEY_NAME, read_anchor
from phantom_gui.audit.keys import SEED_EPOCH, EpochKeys, SealingKey, VerificationKey
from phantom_gui.audit.run_table import runs_table_problem

_ROWS = f"SELECT seq, {CANONICAL_SQL}, mac FROM events ORDER BY seq"
_NEVER = float("inf")


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of a verification: OK, or the first bad record and why; and what could
    not be checked (`notes`)."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    notes: tuple[str, ...] = ()
    unauthenticated: int = 0
    """Records whose epoch's key was not at hand: checked for order only."""

    def __str__(self) -> str:
        if self.ok:
            verdict = f"OK: {self.checked:,} records verified"
        else:
            where = f"record {self.first_bad_seq}" if self.first_bad_seq is not None else "the log"
            verdict = f"TAMPERED at {where}: {self.reason} ({self.checked:,} records checked)"
        return "\n".join((verdict, *self.notes))


@dataclass(frozen=True)
class LogMaterial:
    """What a log keeps beside its records: its identity and the files outside the database."""

    chain_id: str
    first_epoch: int
    runs_chained: bool
    """False for a log of the first format, whose runs table was outside the chain."""
    sealing: SealingKey | None
    head: Checkpoint | None


class Tampered(Exception):
    """The first problem found: at record `seq` (None: the log as a whole), and why."""

    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


@dataclass
class _Keys:
    """The epoch keys at hand, each hashed into a `RecordHasher` once."""

    keys: EpochKeys | None
    hashers: dict[int, RecordHasher | None] = field(default_factory=dict)

    def key(self, epoch: int | None) -> bytes | None:
        return None if self.keys is None else self.keys.key(SEED_EPOCH if epoch is None else epoch)

    def hasher(self, epoch: int) -> RecordHasher | None:
        if epoch not in self.hashers:
            key = self.key(epoch)
            self.hashers[epoch] = None if key is None else RecordHasher(key)
        return self.hashers[epoch]


def verify_log(
    database: AuditDatabase, material: LogMaterial, verification: VerificationKey | None
) -> VerifyReport:
    """Recompute every MAC that the keys at hand allow, in order, and check the seals,
    the anchor, the head kept outside, the sealing key and the runs table."""
    if verification is not None and verification.chain_id != material.chain_id:
        raise ValueError(
            f"the verification key is that of another log (chain {verification.chain_id}; "
            f"this log is chain {material.chain_id})"
        )
    if verification is not None:
        keys = verification.epoch_keys()
    elif material.sealing is not None:
        keys = EpochKeys(material.sealing.epoch, material.sealing.key)
    else:
        keys = None
    with database.snapshot() as connection:
        check = _Verification(connection, database.database_path, material, _Keys(keys))
        check.with_verification_key = verification is not None
        try:
            check.run()
        except Tampered as problem:
            return check.report(problem)
        return check.report(None)


class _Verification:
    def __init__(
        self, connection: sqlite3.Connection, where: Path, material: LogMaterial, keys: _Keys
    ) -> None:
        self.connection = connection
        self.material = material
        self.keys = keys
        self.with_verification_key = False
        self.checked = self.unauthenticated = self.unauthenticated_last = self.last_seq = 0
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        self.seals = {  # a log of the first format has no seals table
            epoch: Checkpoint(seq, bytes(mac), bytes(signature), epoch)
            for epoch, seq, mac, signature in connection.execute(
                "SELECT epoch, seq, mac, signature FROM seals ORDER BY epoch"
                if "seals" in tables
                else "SELECT 0, 0, x'', x'' WHERE 0"
            )
        }
        self.current = max(self.seals, default=material.first_epoch - 1) + 1
        self.anchor = read_anchor(connection, where)

    # -- the whole check --------------------------------------------------------------------

    def run(self) -> None:
        if self.material.first_epoch not in (SEED_EPOCH, 0):
            # A log begins in epoch 0, or in -1 when it was upgraded from the first format;
            # a later start would let the keys of the later epochs sign all of it.
            raise Tampered(None, f"the log claims to begin in epoch {self.material.first_epoch}")
        if not self.material.runs_chained and self.seals:
            raise Tampered(None, "a sealed log claims to be of the first format, unsealed")
        self._check_seals_are_whole()
        forged = self._first_forged_statement()
        start_seq, start_mac = self._start()
        try:
            seen = self._walk(start_seq, start_mac)
        except Tampered as found:
            if forged is not None and (found.seq is None or (forged.seq or 0) < found.seq):
                raise forged from None
            raise
        if forged is not None:
            raise forged
        self._check_statements_match(seen, start_seq)
        self._check_head(seen, start_seq)
        self._check_sealing_key()
        if self.material.runs_chained:
            problem = runs_table_problem(self.connection)
            if problem is not None:
                raise Tampered(None, problem)

    def report(self, problem: Tampered | None) -> VerifyReport:
        seq, reason = (None, "") if problem is None else (problem.seq, problem.reason)
        return VerifyReport(
            problem is None, self.checked, seq, reason, self._notes(), self.unauthenticated
        )

    # -- seals and other signed statements ---------------------------------------------------

    def _check_seals_are_whole(self) -> None:
        """Every epoch from the first to the current one but last has its seal, in order."""
        previous_seq = 0
        for epoch in range(self.material.first_epoch, self.current):
            seal = self.seals.get(epoch)
            if seal is None:
                raise Tampered(previous_seq + 1, f"the seal of epoch {epoch} is missing")
            if seal.seq < previous_seq:
                raise Tampered(seal.seq, f"the seal of epoch {epoch} is out of order")
            previous_seq = seal.seq

    def _first_forged_statement(self) -> Tampered | None:
        """The first seal, legacy checkpoint or anchor whose signature is not genuine (among
        those whose key is at hand)."""
        statements: list[tuple[Checkpoint, str, str]] = [
            (seal, SEAL_LABEL, f"the seal of epoch {epoch} is forged")
            for epoch, seal in self.seals.items()
        ]
        statements += [
            (checkpoint, LEGACY_CHECKPOINT_LABEL, "its checkpoint signature is forged")
            for checkpoint in self._legacy_checkpoints()
        ]
        if self.anchor is not None:
            text = "the anchor left by clearing old events is forged"
            statements.append((self.anchor, ANCHOR_LABEL, text))
        for statement, label, reason in sorted(statements, key=lambda item: item[0].seq):
            key = self.keys.key(statement.epoch)
            if key is not None and not statement.is_genuine(key, label):
                return Tampered(statement.seq, reason)
        return None

    def _legacy_checkpoints(self) -> Iterator[Checkpoint]:
        for seq, mac, signature in self.connection.execute(
            "SELECT seq, mac, signature FROM checkpoints ORDER BY seq"
        ):
            yield Checkpoint(seq, bytes(mac), bytes(signature))

    def _check_statements_match(self, seen: dict[int, bytes | None], start_seq: int) -> None:
        """The seals and legacy checkpoints name the MACs the chain has at their records."""
        statements = [(seal.seq, seal.mac, "seal") for seal in self.seals.values()]
        statements += [(cp.seq, cp.mac, "checkpoint") for cp in self._legacy_checkpoints()]
        for seq, mac, what in sorted(statements):
            if seq > self.last_seq:
                raise Tampered(
                    self.last_seq + 1, f"the log was cut off: a {what} covers record {seq}"
                )
            if seq >= start_seq and seen.get(seq) not in (None, mac):
                raise Tampered(seq, f"it does not match its signed {what}")

    # -- the records ----------------------------------------------------------------------------

    def _start(self) -> tuple[int, bytes | None]:
        """The seq the kept records follow and the MAC they chain from (None: unknown)."""
        if self.anchor is not None:
            return self.anchor.seq, self.anchor.mac
        key = self.keys.key(self.material.first_epoch)
        return 0, None if key is None else genesis_mac(key, self.material.chain_id)

    def _epoch_after(self, seq: int) -> int:
        """The epoch that holds record `seq + 1`."""
        for epoch in range(self.material.first_epoch, self.current):
            if self.seals[epoch].seq > seq:
                return epoch
        return self.current

    def _end_of(self, epoch: int) -> float:
        seal = self.seals.get(epoch)
        return _NEVER if seal is None else seal.seq

    def _walk(self, start_seq: int, start_mac: bytes | None) -> dict[int, bytes | None]:
        """Check every record in order; return the MACs at the records signed statements
        name."""
        marks = {seal.seq for seal in self.seals.values()}
        marks.update(cp.seq for cp in self._legacy_checkpoints())
        if self.material.head is not None:
            marks.add(self.material.head.seq)
        seen: dict[int, bytes | None] = {start_seq: start_mac}
        epoch = self._epoch_after(start_seq)
        end = self._end_of(epoch)
        hasher = self.keys.hasher(epoch)
        chain = None if hasher is None else hasher.record
        # Unknown (no key for the first epoch): the MAC sealed before the first epoch whose
        # key is at hand; it is taken from the records themselves until then.
        previous = self.seals.get(epoch - 1)
        mac = start_mac if start_mac is not None else b"" if previous is None else previous.mac
        expected = start_seq + 1
        checked = unauthenticated = 0
        cursor = self.connection.execute(_ROWS)
        try:
            while rows := cursor.fetchmany(4096):
                for seq, text, stored in rows:
                    if seq != expected:
                        raise Tampered(
                            expected,
                            f"records {expected}..{seq - 1} are missing"
                            if seq > expected
                            else f"record {seq} is out of order",
                        )
                    if seq > end:
                        while seq > end:
                            epoch += 1
                            end = self._end_of(epoch)
                        hasher = self.keys.hasher(epoch)
                        chain = None if hasher is None else hasher.record
                    if chain is None:
                        mac = stored
                        unauthenticated += 1
                        self.unauthenticated_last = seq
                    else:
                        mac = chain(mac, text)
                        if mac != stored:
                            raise Tampered(seq, "its contents or position changed (MAC mismatch)")
                    if seq in marks:
                        seen[seq] = mac
                    expected += 1
                    checked += 1
        finally:
            self.checked = checked
            self.unauthenticated = unauthenticated
            self.last_seq = expected - 1
        return seen

    # -- the head and the sealing key -------------------------------------------------------------

    def _check_head(self, seen: dict[int, bytes | None], start_seq: int) -> None:
        head = self.material.head
        if head is None:
            if self.checked:
                raise Tampered(
                    None,
                    f"the head checkpoint file ({HEAD_NAME}) is missing, so a cut-off tail "
                    "could not be ruled out",
                )
            return
        key = self.keys.key(head.epoch)
        if key is not None and not head.is_genuine(key, HEAD_LABEL):
            raise Tampered(None, "the head checkpoint file is forged")
        if head.seq > self.last_seq:
            raise Tampered(
                self.last_seq + 1,
                f"the log was cut off after record {self.last_seq}; it had reached {head.seq}",
            )
        head_epoch = SEED_EPOCH if head.epoch is None else head.epoch
        if head_epoch > self.current:
            raise Tampered(
                self.last_seq + 1,
                f"the log was cut off: its head was signed in epoch {head_epoch}, "
                f"but its seals end before epoch {self.current}",
            )
        if head.seq > start_seq and seen.get(head.seq) not in (None, head.mac):
            raise Tampered(head.seq, "it does not match the head checkpoint")

    def _check_sealing_key(self) -> None:
        sealing = self.material.sealing
        if sealing is None:
            return
        if sealing.epoch > self.current:
            raise Tampered(
                self.last_seq + 1,
                f"the log was cut off: its sealing key is at epoch {sealing.epoch}, "
                f"but its seals end before epoch {self.current}",
            )
        expected = self.keys.key(sealing.epoch)
        if expected is not None and expected != sealing.key:
            raise Tampered(None, f"the sealing key ({SEALING_KEY_NAME}) is not this log's")

    # -- what could not be checked -------------------------------------------------------------

    def _notes(self) -> tuple[str, ...]:
        notes = []
        sealing = self.material.sealing
        if self.with_verification_key:
            unsealed = self.last_seq - (self.seals[self.current - 1].seq if self.seals else 0)
            if unsealed > 0 and sealing is not None and sealing.epoch > SEED_EPOCH:
                notes.append(
                    f"the newest {unsealed:,} records (epoch {self.current}, not sealed yet) are "
                    "only as safe as the sealing key beside the log"
                )
        elif sealing is None:
            notes.append(
                "checked without the verification key and without the sealing key: "
                "no record could be authenticated"
            )
        elif sealing.epoch == SEED_EPOCH:
            notes.append(
                "a log of the first format, checked with its fixed key (audit.key), which lies "
                "beside the log: whoever copied the data folder could have rewritten it; its "
                "runs table is not covered by the chain"
            )
        elif self.unauthenticated:
            notes.append(
                f"checked without the verification key: records before epoch {sealing.epoch} "
                f"(up to record {self.unauthenticated_last:,}) could not be authenticated; "
                "`phantom audit verify --key FILE` checks them"
            )
        else:
            notes.append(
                "checked without the verification key, against the sealing key beside the log "
                "only: `phantom audit verify --key FILE` also proves that no one who copied "
                "the data folder rewrote it"
            )
        legacy_seal = self.seals.get(SEED_EPOCH)
        if legacy_seal is not None and legacy_seal.seq:
            notes.append(
                f"records up to {legacy_seal.seq:,} were written before the log was sealed in "
                "epochs: they are only as safe as its old fixed key (audit.key) was"
            )
        if self.anchor is not None:
            notes.append(f"records up to {self.anchor.seq:,} were cleared from the log")
        return tuple(notes)
