"""`AuditStorage`: the append-only audit log in SQLite, with its runs and settings.

The seed's public API is kept (`save_audit`, `append_event`, `get_events`, ...); each job
is done by a part it composes: the database and its transactions (`database`), the chain
and its epochs (`journal`), reading (`queries`), the runs table (`run_table`), the
settings (`config`) and verification (`verify`). Reading never loads the whole log.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs

from phantom_gui.audit.chain import Checkpoint
from phantom_gui.audit.config import CONFIG_NAME, DEFAULT_CONFIG, AuditConfig
from phantom_gui.audit.database import DATABASE_NAME, FORMAT, LEGACY_FORMAT, AuditDatabase
from phantom_gui.audit.journal import (
    HEAD_NAME,
    SEALING_KEY_NAME,
    AppendResult,
    ChainBatch,
    Journal,
    Sealing,
    create_log,
    read_head,
)
from phantom_gui.audit.keys import SEED_EPOCH, SealingKey, VerificationKey, shred
from phantom_gui.audit.legacy import LEGACY_KEY_NAME, read_legacy_key, upgrade
from phantom_gui.audit.queries import ALL_EVENTS, EventFilter, EventQueries
from phantom_gui.audit.records import event_columns, iso
from phantom_gui.audit.run_table import RunTable
from phantom_gui.audit.verify import LogMaterial, VerifyReport, verify_log

log = logging.getLogger("phantom.audit")

__all__ = [
    "DATABASE_NAME",
    "DEFAULT_CONFIG",
    "HEAD_NAME",
    "AppendResult",
    "AuditStorage",
    "EventFilter",
    "VerifyReport",
]
"""The seed's names, kept here for those who import them from the storage."""


class AuditStorage:
    """The audit log and its runs ("audits") in `root` (default: the user's data folder).

    A new log gets a verification key, kept in `new_verification_key` until its owner
    has it (`verification_key_taken`); a log of the first format is upgraded (see
    `legacy`). `read_only` opens an existing log without creating or upgrading anything.
    """

    def __init__(self, root: Path | None = None, *, read_only: bool = False) -> None:
        folder = root or Path(platformdirs.user_data_dir("phantom", appauthor=False)) / "audit"
        self.database = AuditDatabase(folder)
        self.root = self.database.root
        if not read_only:
            self.database.ensure_directories()
        self.config = AuditConfig(self.get_path(CONFIG_NAME))
        self.queries = EventQueries(self.database)
        self.new_verification_key: VerificationKey | None = None
        """The verification key its owner has yet to take, if any."""
        self.sealing_key_path = self.get_path(SEALING_KEY_NAME)
        self._legacy_key_path = self.get_path(LEGACY_KEY_NAME)
        meta = self.database.open_schema(create=not read_only)
        if not meta:
            if read_only:
                raise ValueError(f"{self.database_path}: not an audit log (it is empty)")
            meta, self.new_verification_key = create_log(self.database, self.sealing_key_path)
        fmt = meta.get("format")
        if fmt not in (FORMAT, LEGACY_FORMAT):
            self.close()
            raise ValueError(f"{self.database_path}: unknown audit log format {fmt!r}")
        self.chain_id = meta["chain_id"]
        self._journal: Journal | None = None
        if fmt == LEGACY_FORMAT and not read_only:
            self._upgrade()
            meta = self.database.open_schema(create=True)
            fmt = FORMAT
        self.legacy = fmt == LEGACY_FORMAT
        self.first_epoch = SEED_EPOCH if self.legacy else int(meta.get("first_epoch", 0))
        if not read_only and self._journal is None:
            self._journal = Journal(
                self.database, self.chain_id, self.first_epoch, self._writer_key(), self._sealing
            )
        self.runs = RunTable(self.database, self._journal)
        if not self.legacy and self.new_verification_key is None:
            legacy_key = read_legacy_key(self._legacy_key_path)
            if legacy_key is not None:  # upgraded, but not handed to its owner yet
                self.new_verification_key = VerificationKey(self.chain_id, legacy_key)

    # -- files ------------------------------------------------------------------------------

    def ensure_directories(self) -> None:
        """Create the storage folder; `PermissionError` naming it when that is not allowed."""
        self.database.ensure_directories()

    def get_path(self, filename: str) -> Path:
        """The path of `filename` inside the storage folder; `ValueError` if it would leave it."""
        return self.database.get_path(filename)

    @property
    def database_path(self) -> Path:
        """The SQLite file."""
        return self.database.database_path

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        self.database.close()

    def size_bytes(self) -> int:
        """The size of the log on disk (database and write-ahead log)."""
        return self.database.size_bytes()

    # -- keys -------------------------------------------------------------------------------

    def sealing_key(self) -> SealingKey | None:
        """The sealing key kept beside the log (the old fixed key of a first-format log,
        as epoch -1); None if there is none."""
        sealing = SealingKey.read(self.sealing_key_path)
        if sealing is None:
            legacy_key = read_legacy_key(self._legacy_key_path)
            if legacy_key is not None:
                sealing = SealingKey(self.chain_id, SEED_EPOCH, legacy_key)
        if sealing is not None and sealing.chain_id != self.chain_id:
            raise ValueError(f"{self.sealing_key_path}: the sealing key of another audit log")
        return sealing

    def verification_key_taken(self) -> None:
        """The owner has the verification key: forget it, and erase the copy an upgraded
        log kept beside it (its old fixed key)."""
        self.new_verification_key = None
        if not self.legacy:
            shred(self._legacy_key_path)

    def seal(self) -> bool:
        """End the current epoch now if it holds records (the key moves on); True if it did."""
        return self._writer().seal()

    def seal_if_due(self) -> bool:
        """End the current epoch if it is older than the `seal_every_s` setting."""
        return self._writer().seal_if_due()

    # -- runs -------------------------------------------------------------------------------

    def save_audit(self, audit: Mapping[str, Any]) -> str:
        """Store a new run and return its id (taken from `audit["id"]` or made up)."""
        return self.runs.save(audit)

    def get_audit(self, audit_id: str) -> dict[str, Any] | None:
        """The run with `audit_id`, or None."""
        return self.runs.get(audit_id)

    def list_audits(self, project: str | None = None) -> list[dict[str, Any]]:
        """Every run (of `project`, if given), oldest first."""
        return self.runs.list(project)

    def update_audit(self, audit_id: str, updates: Mapping[str, Any]) -> bool:
        """Merge `updates` into a run; False when there is no such run."""
        return self.runs.update(audit_id, updates)

    # -- events -----------------------------------------------------------------------------

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Append one event (a dict like `Event.to_dict()`) and commit it."""
        self.append_events([event])

    def append_events(self, events: Sequence[Mapping[str, Any]]) -> AppendResult:
        """Append a batch of events in one transaction (group commit); all or nothing."""
        return self.append_rows([event_columns(event) for event in events])

    def append_rows(self, rows: Sequence[tuple[Any, ...]]) -> AppendResult:
        """Append rows made by `event_columns` (in order) in one transaction; all or nothing."""
        if not rows:
            return AppendResult(self.last_seq(), 0)
        return self._writer().append_rows(rows)

    def read_head(self) -> Checkpoint | None:
        """The last head checkpoint kept outside the database, if there is one."""
        return read_head(self.get_path(HEAD_NAME))

    def last_seq(self) -> int:
        """The seq of the newest record (0 when the log is empty)."""
        return self.queries.last_seq()

    def record_count(self) -> int:
        """How many records the log holds (the cleared ones not counted)."""
        first, last = self.queries.seq_range()
        return last - first + 1 if last else 0

    def get_events(
        self,
        audit_id: str | None = None,
        event_type: str | None = None,
        since: datetime | str | None = None,
    ) -> list[dict[str, Any]]:
        """The matching events as dicts, oldest first (see `iter_events` for big logs)."""
        return list(self.queries.iter_events(EventFilter(audit_id, event_type, iso(since))))

    def iter_events(
        self, where: EventFilter = ALL_EVENTS, batch: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Stream the matching events, oldest first, `batch` rows at a time."""
        return self.queries.iter_events(where, batch)

    def count_events(self, where: EventFilter = ALL_EVENTS) -> int:
        """How many events match."""
        return self.queries.count_events(where)

    def matching_seqs(self, where: EventFilter) -> list[int]:
        """The seqs of the matching events, in order (the viewer's row index)."""
        return self.queries.matching_seqs(where)

    def events_by_seq(self, seqs: Sequence[int]) -> list[dict[str, Any]]:
        """The events with these seqs, in the order given (missing ones are left out)."""
        return self.queries.events_by_seq(seqs)

    def seq_range(self) -> tuple[int, int]:
        """The first and last seq held (0, 0 when empty)."""
        return self.queries.seq_range()

    def clear_events(self, before: datetime | str | None = None) -> int:
        """Delete the oldest events (all, or those before `before`); return how many went.

        Only a prefix of the log can go, so that the chain still verifies: the MAC of
        the last deleted record is kept as a signed anchor, and runs whose records went
        are chained again as they stand.
        """
        cutoff = iso(before)

        def clear(connection: sqlite3.Connection, batch: ChainBatch) -> int:
            if cutoff is None:
                row = connection.execute("SELECT max(seq) FROM events").fetchone()
            else:
                first_kept = connection.execute(
                    "SELECT min(seq) FROM events WHERE timestamp >= ?", (cutoff,)
                ).fetchone()[0]
                row = (
                    connection.execute("SELECT max(seq) FROM events").fetchone()
                    if first_kept is None
                    else (first_kept - 1,)
                )
            last = row[0]
            if not last:
                return 0
            found = connection.execute("SELECT mac FROM events WHERE seq = ?", (last,)).fetchone()
            if found is None:
                return 0
            deleted = connection.execute("DELETE FROM events WHERE seq <= ?", (last,)).rowcount
            connection.execute("DELETE FROM checkpoints WHERE seq <= ?", (last,))
            batch.anchor(last, bytes(found[0]))
            self.runs.record_unchained(connection, batch)
            return int(deleted)

        deleted = self._writer().transact(clear)
        if deleted:
            log.info("cleared %d audit events", deleted)
        return deleted

    # -- config -----------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The audit settings: the defaults overlaid with `config.json`."""
        return self.config.get()

    def set_config(self, key: str, value: Any) -> None:
        """Set one audit setting."""
        self.config.set(key, value)

    def reset_config(self) -> None:
        """Back to the defaults."""
        self.config.reset()

    # -- verification -----------------------------------------------------------------------

    def verify(self, verification_key: VerificationKey | None = None) -> VerifyReport:
        """Walk the whole chain; report the first record that is not what was written.

        With `verification_key` every record is authenticated; without it, only those
        the sealing key beside the log can vouch for (the report says which could not).
        """
        # The head and the sealing key are written after each commit, so read them before
        # the snapshot starts: read after, they could be newer than the snapshot.
        material = LogMaterial(
            self.chain_id,
            self.first_epoch,
            runs_chained=not self.legacy,
            sealing=self.sealing_key(),
            head=self.read_head(),
        )
        return verify_log(self.database, material, verification_key)

    # -- parts ------------------------------------------------------------------------------

    def _sealing(self) -> Sealing:
        config = self.get_config()
        return Sealing(int(config["checkpoint_every"]), float(config["seal_every_s"]))

    def _writer(self) -> Journal:
        if self._journal is None:
            raise ValueError(f"{self.database_path} was opened to be read only")
        return self._journal

    def _writer_key(self) -> SealingKey:
        sealing = self.sealing_key()
        if sealing is None:
            raise ValueError(
                f"{self.sealing_key_path}: the sealing key of the audit log is missing, so new "
                "records cannot be signed (the log itself can still be checked with "
                "`phantom audit verify --key FILE`)"
            )
        return sealing

    def _upgrade(self) -> None:
        legacy_key = read_legacy_key(self._legacy_key_path)
        if legacy_key is None:
            raise ValueError(
                f"{self._legacy_key_path}: the key of this audit log is missing, so it "
                "cannot be upgraded"
            )
        self._journal = Journal(
            self.database,
            self.chain_id,
            SEED_EPOCH,
            SealingKey(self.chain_id, SEED_EPOCH, legacy_key),
            self._sealing,
        )
        if upgrade(self._journal, RunTable(self.database, self._journal)):
            log.warning("the audit log %s was upgraded to forward-secure epochs", self.root)
        self.new_verification_key = VerificationKey(self.chain_id, legacy_key)
