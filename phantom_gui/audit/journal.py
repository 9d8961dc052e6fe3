"""Writing the chain: records appended under the current epoch's key, epochs sealed, the
sealing key moved on, and the head checkpoint kept outside the database.

An epoch ends with a seal (a checkpoint signed with the epoch's key, naming the epoch)
every `checkpoint_every` records, and after `seal_every_s` seconds if it holds records;
then the key moves on (see `keys`) and the old one is overwritten. The work per record is
the chain's HMAC, as before: a new epoch only hashes its key's pads once.
"""

from __future__ import annotations

import functools
import itertools
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from phantom_gui.audit.chain import (
    ANCHOR_LABEL,
    HEAD_LABEL,
    SEAL_LABEL,
    Checkpoint,
    RecordHasher,
    canonical,
    genesis_mac,
)
from phantom_gui.audit.database import FORMAT, AuditDatabase
from phantom_gui.audit.events import now_iso
from phantom_gui.audit.keys import SealingKey, VerificationKey
from phantom_gui.audit.records import encode_data
from phantom_gui.core.atomic import write_atomically

log = logging.getLogger("phantom.audit")

T = TypeVar("T")

SEALING_KEY_NAME = "audit.sealing-key"
HEAD_NAME = "audit.head.json"
ROWS_PER_INSERT = 90
"""Rows per multi-row INSERT: fewer statement steps, well under SQLite's 32,766 parameters."""


@dataclass
class AppendResult:
    """What a committed batch got: the seq of its last record and how many were written."""

    last_seq: int
    count: int


@dataclass(frozen=True)
class Sealing:
    """When epochs end: every `checkpoint_every` records, and after `every_s` seconds."""

    checkpoint_every: int
    every_s: float


def read_anchor(connection: sqlite3.Connection, where: Path) -> Checkpoint | None:
    """The anchor left by clearing old records (the last cleared record's MAC), if any."""
    row = connection.execute("SELECT value FROM meta WHERE key = 'anchor'").fetchone()
    return None if row is None else Checkpoint.from_json(row[0], where)


def read_head(path: Path) -> Checkpoint | None:
    """The head checkpoint kept outside the database at `path`, if there is one."""
    try:
        return Checkpoint.from_json(path.read_text(), path)
    except FileNotFoundError:
        return None


def last_seal(connection: sqlite3.Connection) -> tuple[int, int, bytes] | None:
    """(epoch, seq, MAC) of the newest seal, if any."""
    row = connection.execute(
        "SELECT epoch, seq, mac FROM seals ORDER BY epoch DESC LIMIT 1"
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), bytes(row[2]))


def create_log(database: AuditDatabase, key_path: Path) -> tuple[dict[str, str], VerificationKey]:
    """Give the empty log in `database` its identity and its first sealing key; return its
    meta and the verification key to hand to its owner. A log another process made
    meanwhile is left alone (and no verification key is returned for it: None)."""

    def create(connection: sqlite3.Connection) -> tuple[dict[str, str], VerificationKey | None]:
        meta = dict(connection.execute("SELECT key, value FROM meta"))
        if meta:
            return meta, None
        chain_id = uuid.uuid4().hex
        verification = VerificationKey.new(chain_id)
        meta = {"format": FORMAT, "chain_id": chain_id, "created": now_iso(), "first_epoch": "0"}
        connection.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
        first = verification.epoch_keys().key(0)
        assert first is not None
        SealingKey(chain_id, 0, first).store(key_path)  # under the lock, before the commit
        return meta, verification

    return database.write(create)  # type: ignore[return-value]


class Journal:
    """Appends to the chain of one log, from this process, with `sealing` as its key."""

    def __init__(
        self,
        database: AuditDatabase,
        chain_id: str,
        first_epoch: int,
        sealing: SealingKey,
        settings: Callable[[], Sealing],
    ) -> None:
        self._database = database
        self.chain_id = chain_id
        self.first_epoch = first_epoch
        self._sealing = sealing
        self._hasher = RecordHasher(sealing.key)
        self._settings = settings
        self._seal_every_s = settings().every_s
        self._epoch_started = time.monotonic()
        self.head_path = database.get_path(HEAD_NAME)
        self.key_path = database.get_path(SEALING_KEY_NAME)

    @property
    def epoch(self) -> int:
        """The newest epoch this process knows of."""
        return self._sealing.epoch

    def transact(self, action: Callable[[sqlite3.Connection, ChainBatch], T]) -> T:
        """Run `action(connection, batch)` in one write transaction, `batch` appending to the
        chain within it; a due seal comes first. After the commit the head file is
        rewritten and, when an epoch was sealed, the sealing key moves on."""
        settings = self._settings()
        self._seal_every_s = settings.every_s

        def run(connection: sqlite3.Connection) -> tuple[T, ChainBatch]:
            batch = ChainBatch(self, connection, settings.checkpoint_every)
            if time.monotonic() - self._epoch_started >= settings.every_s:
                batch.seal()
            return action(connection, batch), batch

        result, batch = self._database.write(run)
        self._adopt(batch)
        return result

    def append_rows(self, rows: Sequence[tuple[Any, ...]]) -> AppendResult:
        """Append rows made by `records.event_columns` (in order) in one transaction."""
        return self.transact(lambda _connection, batch: batch.append(rows))

    def seal(self) -> bool:
        """End the current epoch now if it holds records; True if it did."""
        return self.transact(lambda _connection, batch: batch.seal() or batch.sealed > 0)

    def seal_if_due(self) -> bool:
        """End the current epoch if it is older than `seal_every_s` and holds records."""
        if time.monotonic() - self._epoch_started < self._seal_every_s:
            return False
        sealed = self.seal()
        self._epoch_started = time.monotonic()  # an empty epoch is looked at again later
        return sealed

    def _adopt(self, batch: ChainBatch) -> None:
        """Take on what a committed batch did: its epoch's key, and its head."""
        if batch.sealing.epoch > self._sealing.epoch:
            self._sealing = batch.sealing
            self._hasher = batch.hasher
            self._epoch_started = time.monotonic()
            self._store_key()
        if batch.changed:
            head = Checkpoint.make(
                batch.sealing.key, HEAD_LABEL, batch.seq, batch.mac, batch.sealing.epoch
            )
            try:
                write_atomically(self.head_path, head.to_json())
            except OSError as exc:
                log.warning("audit head checkpoint not updated (the batch is committed): %s", exc)

    def _store_key(self) -> None:
        """Replace the sealing key file with this process's key, unless another process
        already put a newer one there."""
        try:
            stored = SealingKey.read(self.key_path)
        except ValueError:
            stored = None
        if stored is not None and stored.epoch >= self._sealing.epoch:
            return
        try:
            self._sealing.store(self.key_path)
        except OSError as exc:
            log.error("the audit sealing key could not move on to a new epoch: %s", exc)


class ChainBatch:
    """One write transaction's view of the chain: its tail, its epoch and that epoch's key."""

    def __init__(
        self, journal: Journal, connection: sqlite3.Connection, checkpoint_every: int
    ) -> None:
        self._connection = connection
        self._checkpoint_every = checkpoint_every
        sealed = last_seal(connection)
        epoch = journal.first_epoch if sealed is None else sealed[0] + 1
        known = journal._sealing
        if epoch < known.epoch:
            raise ValueError(
                f"{journal._database.database_path}: the log's seals end before epoch "
                f"{known.epoch}, the epoch of its sealing key: the log was cut off or replaced"
            )
        self.sealing = known if epoch == known.epoch else known.evolved(epoch)
        self.hasher = journal._hasher if epoch == known.epoch else RecordHasher(self.sealing.key)
        self.sealed_seq = -1 if sealed is None else sealed[1]
        self.seq, self.mac = self._tail(journal, sealed)
        self.changed = False
        self.sealed = 0
        """Epochs sealed in this transaction."""

    def _tail(self, journal: Journal, sealed: tuple[int, int, bytes] | None) -> tuple[int, bytes]:
        row = self._connection.execute(
            "SELECT seq, mac FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is not None:
            return int(row[0]), bytes(row[1])
        anchor = read_anchor(self._connection, journal._database.database_path)
        if anchor is not None:
            return anchor.seq, anchor.mac
        if sealed is not None:
            return sealed[1], sealed[2]
        return 0, genesis_mac(self.sealing.key, journal.chain_id)

    @property
    def holds_unsealed(self) -> bool:
        """Whether the current epoch holds records."""
        return self.seq > self.sealed_seq

    def append(self, rows: Sequence[tuple[Any, ...]]) -> AppendResult:
        """Chain and insert `rows` (made by `records.event_columns`), sealing an epoch at
        every `checkpoint_every`-th record."""
        if not rows:
            return AppendResult(self.seq, 0)
        every = self._checkpoint_every
        chain = self.hasher.record
        encode = encode_data
        mac = self.mac
        seq = self.seq
        stored = []
        for row in rows:
            seq += 1
            columns = (*row[:7], encode(row[7]))
            mac = chain(mac, canonical(seq, *columns))
            stored.append((seq, *columns, mac))
            if seq % every == 0:
                self.seq, self.mac = seq, mac
                self._seal_here()
                chain = self.hasher.record
        _insert_events(self._connection, stored)
        self.seq, self.mac = seq, mac
        self.changed = True
        return AppendResult(seq, len(stored))

    def seal(self) -> bool:
        """End the current epoch at the tail if it holds records; True if it did."""
        if not self.holds_unsealed:
            return False
        self._seal_here()
        return True

    def _seal_here(self) -> None:
        sealing = self.sealing
        seal = Checkpoint.make(sealing.key, SEAL_LABEL, self.seq, self.mac, sealing.epoch)
        self._connection.execute(
            "INSERT INTO seals (epoch, seq, mac, signature, created) VALUES (?, ?, ?, ?, ?)",
            (sealing.epoch, seal.seq, seal.mac, seal.signature, now_iso()),
        )
        self.sealing = sealing.evolved(sealing.epoch + 1)
        self.hasher = RecordHasher(self.sealing.key)
        self.sealed_seq = self.seq
        self.sealed += 1
        self.changed = True

    def anchor(self, seq: int, mac: bytes) -> None:
        """Mark records up to `seq` (whose MAC was `mac`) as cleared on purpose."""
        anchor = Checkpoint.make(self.sealing.key, ANCHOR_LABEL, seq, mac, self.sealing.epoch)
        self._connection.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('anchor', ?)", (anchor.to_json(),)
        )
        if self.seq <= seq:  # every record went: the next one chains from the anchor
            self.seq, self.mac = seq, mac
        self.changed = True


def _insert_events(connection: sqlite3.Connection, stored: list[tuple[Any, ...]]) -> None:
    """Insert full rows (seq … mac), `ROWS_PER_INSERT` to a statement."""
    whole = len(stored) - len(stored) % ROWS_PER_INSERT
    if whole:
        connection.executemany(
            _insert_statement(ROWS_PER_INSERT),
            [
                tuple(itertools.chain.from_iterable(stored[start : start + ROWS_PER_INSERT]))
                for start in range(0, whole, ROWS_PER_INSERT)
            ],
        )
    if whole < len(stored):
        rest = stored[whole:]
        connection.execute(_insert_statement(len(rest)), tuple(itertools.chain.from_iterable(rest)))


@functools.cache
def _insert_statement(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return (
        "INSERT INTO events (seq, id, type, topic, source, timestamp, audit_id, phase, data, mac) "
        f"VALUES {values}"
    )
