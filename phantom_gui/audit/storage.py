"""`AuditStorage`: the append-only audit log in SQLite (WAL, group commit), with its runs.

The seed's public API is kept (`save_audit`, `append_event`, `get_events`, ...). Each
event row carries a chained HMAC (see `chain`); `append_events` commits a whole batch
in one transaction, which is what makes millions of records cheap. Reading never
loads the whole log: `iter_events` and `page` stream.
"""

from __future__ import annotations

import errno
import functools
import itertools
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs

from phantom_gui.audit.chain import (
    Checkpoint,
    RecordHasher,
    canonical,
    genesis_mac,
    load_or_create_key,
)
from phantom_gui.audit.events import EventType, now_iso
from phantom_gui.core.events import new_event_id
from phantom_gui.core.topics import topic_matches

log = logging.getLogger("phantom.audit")

FORMAT = "phantom-audit/1"
DATABASE_NAME = "audit.sqlite3"
KEY_NAME = "audit.key"
HEAD_NAME = "audit.head.json"
CONFIG_NAME = "config.json"
HEAD_LABEL = "head"
CHECKPOINT_LABEL = "checkpoint"
ANCHOR_LABEL = "anchor"
WRITE_RETRIES = 3
LOCK_TIMEOUT_S = 10.0
"""How long a connection waits for another process's lock before it gives up."""
CACHE_KIB = 65_536

DEFAULT_CONFIG: dict[str, Any] = {
    "record_topics": ["app/#", "plugin/#", "security/#", "hub/disturbance", "audit/#"],
    "checkpoint_every": 10_000,
    "batch_size": 2_000,
    "flush_interval_s": 0.05,
}

_SELECT_AUDITS = "SELECT id, project, kind, name, status, started, ended, data FROM audits"
ROWS_PER_INSERT = 90
"""Rows per multi-row INSERT: fewer statement steps, well under SQLite's 32,766 parameters."""
EVENT_COLUMNS = ("seq", "id", "type", "topic", "source", "timestamp", "audit_id", "phase", "data")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audits (
    id TEXT PRIMARY KEY, project TEXT, kind TEXT, name TEXT, status TEXT,
    started TEXT, ended TEXT, data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, topic TEXT,
    source TEXT, timestamp TEXT NOT NULL, audit_id TEXT, phase INTEGER,
    data TEXT NOT NULL, mac BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_audit ON events (audit_id, seq);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, seq);
CREATE INDEX IF NOT EXISTS events_by_topic ON events (topic);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY, mac BLOB NOT NULL, signature BLOB NOT NULL, created TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class EventFilter:
    """Which events to read: every field left empty matches everything."""

    audit_id: str | None = None
    event_type: str | None = None
    since: str | None = None
    until: str | None = None
    topic_pattern: str | None = None
    source: str | None = None
    text: str | None = None
    after_seq: int | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters."""
        clauses: list[str] = ["1"]
        params: list[Any] = []
        if self.audit_id:
            clauses.append("audit_id = ?")
            params.append(self.audit_id)
        if self.event_type:
            clauses.append("type = ?")
            params.append(EventType.parse(self.event_type).value)
        if self.since:
            clauses.append("timestamp >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("timestamp < ?")
            params.append(self.until)
        if self.source:
            clauses.append("source = ?")
            params.append(self.source)
        if self.after_seq is not None:
            clauses.append("seq > ?")
            params.append(self.after_seq)
        if self.topic_pattern:
            clauses.append("topic GLOB ?")
            params.append(_topic_glob(self.topic_pattern))
            if _has_wildcard(self.topic_pattern):
                clauses.append("mqtt_match(?, topic)")
                params.append(self.topic_pattern)
        if self.text:
            clauses.append("instr(lower(coalesce(topic, '') || ' ' || data), ?) > 0")
            params.append(self.text.lower())
        return " AND ".join(clauses), params


@dataclass
class AppendResult:
    """What a committed batch got: the seq of its last record and how many were written."""

    last_seq: int
    count: int


@dataclass
class _ChainTail:
    seq: int
    mac: bytes
    since_checkpoint: int = field(default=0)


class AuditStorage:
    """The audit log and its runs ("audits") in `root` (default: the user's data folder)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Path(platformdirs.user_data_dir("phantom", appauthor=False)) / "audit"
        self.root = self.root.expanduser().resolve()
        self.ensure_directories()
        self._key = load_or_create_key(self.get_path(KEY_NAME))
        self._hasher = RecordHasher(self._key)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._open_and_check()

    # -- files ----------------------------------------------------------------------------

    def ensure_directories(self) -> None:
        """Create the storage folder; `PermissionError` naming it when that is not allowed."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except PermissionError as exc:
            raise PermissionError(
                f"cannot create the audit folder {self.root}: {exc.strerror}"
            ) from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"the audit folder {self.root} is not writable")

    def get_path(self, filename: str) -> Path:
        """The path of `filename` inside the storage folder; `ValueError` if it would leave it."""
        path = (self.root / filename).resolve()
        if path.parent != self.root and self.root not in path.parents:
            raise ValueError(f"{filename!r} is outside the audit folder {self.root}")
        return path

    @property
    def database_path(self) -> Path:
        """The SQLite file."""
        return self.get_path(DATABASE_NAME)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.database_path, timeout=LOCK_TIMEOUT_S, isolation_level=None
            )
            _use_write_ahead_log(connection)
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            connection.create_function("mqtt_match", 2, _mqtt_match, deterministic=True)
            self._local.connection = connection
        return connection

    def _open_and_check(self) -> None:
        path = self.database_path
        try:
            connection = self._connection()
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            if tables and "meta" not in tables:
                raise ValueError(f"{path}: a SQLite file, but not a Phantom audit log")
            connection.executescript(_SCHEMA)
            meta = dict(connection.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ValueError(f"{path}: not a readable audit log ({exc})") from exc
        if not meta:
            with self._transaction() as connection:
                connection.executemany(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    [("format", FORMAT), ("chain_id", uuid.uuid4().hex), ("created", now_iso())],
                )
            meta = dict(connection.execute("SELECT key, value FROM meta"))
        if meta.get("format") != FORMAT:
            self.close()
            raise ValueError(f"{path}: unknown audit log format {meta.get('format')!r}")
        self._chain_id = meta["chain_id"]

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # -- transactions -----------------------------------------------------------------------

    class _Transaction:
        def __init__(self, storage: AuditStorage) -> None:
            self.storage = storage
            self.connection = storage._connection()

        def __enter__(self) -> sqlite3.Connection:
            self.connection.execute("BEGIN IMMEDIATE")
            return self.connection

        def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
            if kind is None:
                self.connection.execute("COMMIT")
            elif self.connection.in_transaction:
                self.connection.execute("ROLLBACK")

    def _transaction(self) -> AuditStorage._Transaction:
        return AuditStorage._Transaction(self)

    def _write(self, action: Any) -> Any:
        """Run `action(connection)` in a write transaction, retrying while another writer holds
        the lock; disk-full and I/O errors become `OSError`, and nothing half-written stays."""
        delay = 0.05
        for attempt in range(WRITE_RETRIES + 1):
            try:
                with self._write_lock, self._transaction() as connection:
                    return action(connection)
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    if attempt == WRITE_RETRIES:
                        raise OSError(errno.EBUSY, f"{self.database_path}: {exc}") from exc
                    time.sleep(delay)
                    delay *= 2
                    continue
                if "full" in str(exc).lower():
                    raise OSError(errno.ENOSPC, f"{self.database_path}: {exc}") from exc
                raise OSError(errno.EIO, f"{self.database_path}: {exc}") from exc
        raise AssertionError("unreachable")

    # -- audits (runs) ------------------------------------------------------------------------

    def save_audit(self, audit: Mapping[str, Any]) -> str:
        """Store a new run and return its id (taken from `audit["id"]` or made up)."""
        audit_id = str(audit.get("id") or uuid.uuid4().hex)
        row = _audit_row(audit_id, audit)
        if self.get_audit(audit_id) is not None:
            raise ValueError(f"a run with id {audit_id!r} already exists")
        self._write(
            lambda c: c.execute(
                "INSERT INTO audits (id, project, kind, name, status, started, ended, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        )
        return audit_id

    def get_audit(self, audit_id: str) -> dict[str, Any] | None:
        """The run with `audit_id`, or None."""
        row = self._connection().execute(f"{_SELECT_AUDITS} WHERE id = ?", (audit_id,)).fetchone()
        return None if row is None else _audit_dict(row)

    def list_audits(self, project: str | None = None) -> list[dict[str, Any]]:
        """Every run (of `project`, if given), oldest first."""
        query = _SELECT_AUDITS
        params: tuple[Any, ...] = ()
        if project is not None:
            query += " WHERE project = ?"
            params = (project,)
        rows = self._connection().execute(query + " ORDER BY started, id", params)
        return [_audit_dict(row) for row in rows]

    def update_audit(self, audit_id: str, updates: Mapping[str, Any]) -> bool:
        """Merge `updates` into a run; False when there is no such run."""
        current = self.get_audit(audit_id)
        if current is None:
            return False
        merged = {**current, **updates, "id": audit_id}
        row = _audit_row(audit_id, merged)
        self._write(
            lambda c: c.execute(
                "UPDATE audits SET project=?, kind=?, name=?, status=?, started=?, ended=?, data=? "
                "WHERE id = ?",
                (*row[1:], audit_id),
            )
        )
        return True

    # -- events -----------------------------------------------------------------------------

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Append one event (a dict like `Event.to_dict()`) and commit it."""
        self.append_events([event])

    def append_events(self, events: Sequence[Mapping[str, Any]]) -> AppendResult:
        """Append a batch of events in one transaction (group commit); all or nothing."""
        return self.append_rows([event_columns(event) for event in events])

    def append_rows(self, rows: Sequence[tuple[Any, ...]]) -> AppendResult:
        """Append rows made by `event_columns` (in order) in one transaction; all or nothing."""
        checkpoint_every = int(self.get_config()["checkpoint_every"])

        def insert(connection: sqlite3.Connection) -> tuple[AppendResult, Checkpoint]:
            tail = self._tail(connection)
            key = self._key
            chain = self._hasher.record
            encode = encode_data
            mac = tail.mac
            seq = tail.seq
            stored = []
            checkpoints = []
            for row in rows:
                seq += 1
                columns = (*row[:7], encode(row[7]))
                mac = chain(mac, canonical(seq, *columns))
                stored.append((seq, *columns, mac))
                if seq % checkpoint_every == 0:
                    checkpoints.append(Checkpoint.make(key, CHECKPOINT_LABEL, seq, mac))
            _insert_events(connection, stored)
            if checkpoints:
                connection.executemany(
                    "INSERT INTO checkpoints (seq, mac, signature, created) VALUES (?, ?, ?, ?)",
                    [(c.seq, c.mac, c.signature, now_iso()) for c in checkpoints],
                )
            return AppendResult(seq, len(stored)), Checkpoint.make(key, HEAD_LABEL, seq, mac)

        if not rows:
            return AppendResult(self.last_seq(), 0)
        result, head = self._write(insert)
        try:
            self._write_head(head)
        except OSError as exc:
            log.warning("audit head checkpoint not updated (the batch is committed): %s", exc)
        return result  # type: ignore[no-any-return]

    def _tail(self, connection: sqlite3.Connection) -> _ChainTail:
        row = connection.execute("SELECT seq, mac FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        if row is not None:
            return _ChainTail(row[0], row[1])
        anchor = self._anchor(connection)
        if anchor is not None:
            return _ChainTail(anchor.seq, anchor.mac)
        return _ChainTail(0, genesis_mac(self._key, self._chain_id))

    def _anchor(self, connection: sqlite3.Connection) -> Checkpoint | None:
        meta = dict(connection.execute("SELECT key, value FROM meta WHERE key LIKE 'anchor%'"))
        if "anchor" not in meta:
            return None
        return Checkpoint.from_json(meta["anchor"], self.database_path)

    def _write_head(self, head: Checkpoint) -> None:
        path = self.get_path(HEAD_NAME)
        fd, temp = tempfile.mkstemp(prefix=".head-", dir=self.root)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(head.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def read_head(self) -> Checkpoint | None:
        """The last checkpoint kept outside the database, if there is one."""
        path = self.get_path(HEAD_NAME)
        try:
            return Checkpoint.from_json(path.read_text(), path)
        except FileNotFoundError:
            return None

    def last_seq(self) -> int:
        """The seq of the newest record (0 when the log is empty)."""
        row = self._connection().execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def get_events(
        self,
        audit_id: str | None = None,
        event_type: str | None = None,
        since: datetime | str | None = None,
    ) -> list[dict[str, Any]]:
        """The matching events as dicts, oldest first (see `iter_events` for big logs)."""
        return list(self.iter_events(EventFilter(audit_id, event_type, _iso(since))))

    def iter_events(
        self, where: EventFilter = EventFilter(), batch: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Stream the matching events, oldest first, `batch` rows at a time."""
        condition, params = where.where()
        cursor = self._connection().execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE {condition} ORDER BY seq", params
        )
        while rows := cursor.fetchmany(batch):
            for row in rows:
                yield _event_dict(row)

    def count_events(self, where: EventFilter = EventFilter()) -> int:
        """How many events match."""
        condition, params = where.where()
        row = (
            self._connection()
            .execute(f"SELECT count(*) FROM events WHERE {condition}", params)
            .fetchone()
        )
        return int(row[0])

    def size_bytes(self) -> int:
        """The size of the log on disk (database and write-ahead log)."""
        return sum(
            path.stat().st_size
            for path in (self.database_path, self.database_path.with_name(DATABASE_NAME + "-wal"))
            if path.exists()
        )

    def matching_seqs(self, where: EventFilter) -> list[int]:
        """The seqs of the matching events, in order (the viewer's row index)."""
        condition, params = where.where()
        cursor = self._connection().execute(
            f"SELECT seq FROM events WHERE {condition} ORDER BY seq", params
        )
        return [row[0] for row in cursor]

    def events_by_seq(self, seqs: Sequence[int]) -> list[dict[str, Any]]:
        """The events with these seqs, in the order given (missing ones are left out)."""
        if not seqs:
            return []
        select = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE "
        if _dense(seqs):
            query, params = select + "seq BETWEEN ? AND ?", [min(seqs), max(seqs)]
        else:
            query, params = select + f"seq IN ({', '.join('?' * len(seqs))})", list(seqs)
        rows = self._connection().execute(query, params).fetchall()
        by_seq = {row[0]: _event_dict(row) for row in rows}
        return [by_seq[seq] for seq in seqs if seq in by_seq]

    def seq_range(self) -> tuple[int, int]:
        """The first and last seq held (0, 0 when empty)."""
        row = (
            self._connection()
            .execute("SELECT (SELECT min(seq) FROM events), (SELECT max(seq) FROM events)")
            .fetchone()
        )
        return int(row[0] or 0), int(row[1] or 0)

    def clear_events(self, before: datetime | str | None = None) -> int:
        """Delete the oldest events (all, or those before `before`); return how many went.

        Only a prefix of the log can go, so that the chain still verifies: the MAC of
        the last deleted record is kept as a signed anchor.
        """
        cutoff = _iso(before)

        def clear(connection: sqlite3.Connection) -> int:
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
            anchor = Checkpoint.make(self._key, ANCHOR_LABEL, last, found[0])
            deleted = connection.execute("DELETE FROM events WHERE seq <= ?", (last,)).rowcount
            connection.execute("DELETE FROM checkpoints WHERE seq <= ?", (last,))
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('anchor', ?)", (anchor.to_json(),)
            )
            return int(deleted)

        deleted: int = self._write(clear)
        if deleted:
            log.info("cleared %d audit events", deleted)
        return deleted

    # -- config -------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The audit settings: the defaults overlaid with `config.json`."""
        path = self.get_path(CONFIG_NAME)
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            stored = {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a readable audit config ({exc})") from exc
        if not isinstance(stored, dict):
            raise ValueError(f"{path}: expected a JSON object")
        return {**DEFAULT_CONFIG, **stored}

    def set_config(self, key: str, value: Any) -> None:
        """Set one audit setting."""
        stored = {k: v for k, v in self.get_config().items() if DEFAULT_CONFIG.get(k) != v}
        stored[key] = value
        self._write_config(stored)

    def reset_config(self) -> None:
        """Back to the defaults."""
        self._write_config({})

    def _write_config(self, values: dict[str, Any]) -> None:
        path = self.get_path(CONFIG_NAME)
        text = json.dumps(values, indent=2, sort_keys=True)
        fd, temp = tempfile.mkstemp(prefix=".config-", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    # -- verification -------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Walk the whole chain; report the first record that is not what was written."""
        from phantom_gui.audit.verify import verify_storage

        return verify_storage(self, self._key, self._hasher, self._chain_id)


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `AuditStorage.verify`: OK, or the first bad record and why."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.checked:,} records verified"
        where = f"record {self.first_bad_seq}" if self.first_bad_seq is not None else "the log"
        return f"TAMPERED at {where}: {self.reason} ({self.checked:,} records checked)"


def _audit_row(audit_id: str, audit: Mapping[str, Any]) -> tuple[Any, ...]:
    columns = ("project", "kind", "name", "status", "started", "ended")
    extra = {key: value for key, value in audit.items() if key not in (*columns, "id")}
    started = audit.get("started") or now_iso()
    return (
        audit_id,
        audit.get("project"),
        audit.get("kind"),
        audit.get("name"),
        audit.get("status") or "running",
        started,
        audit.get("ended"),
        json.dumps(extra, default=str),
    )


def _audit_dict(row: Sequence[Any]) -> dict[str, Any]:
    audit: dict[str, Any] = json.loads(row[7])
    audit.update(
        id=row[0],
        project=row[1],
        kind=row[2],
        name=row[3],
        status=row[4],
        started=row[5],
        ended=row[6],
    )
    return audit


_TYPES = {member.value: member.value for member in EventType} | {
    member: member.value for member in EventType
}


def _plain(value: Any) -> Any:
    """A typed payload (a frozen dataclass) as a JSON object; anything else as its repr."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return repr(value)


encode_data = json.JSONEncoder(ensure_ascii=False, default=_plain).encode
"""A payload as the data column stores it."""


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


def event_columns(event: Mapping[str, Any]) -> tuple[Any, ...]:
    """An event dict as the row columns after `seq`, its payload not yet encoded.

    Raises `ValueError` for an unknown event type.
    """
    event_type = _TYPES.get(event["type"]) or EventType.parse(event["type"]).value
    phase = event.get("phase")
    data = event.get("data")
    return (
        event.get("id") or new_event_id(),
        event_type,
        event.get("topic"),
        event.get("source"),
        event.get("timestamp") or now_iso(),
        event.get("audit_id"),
        None if phase is None else int(phase),
        data if data is not None else {},
    )


def _event_dict(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "seq": row[0],
        "id": row[1],
        "type": row[2],
        "topic": row[3],
        "source": row[4],
        "timestamp": row[5],
        "audit_id": row[6],
        "phase": row[7],
        "data": json.loads(row[8]),
    }


def _iso(moment: datetime | str | None) -> str | None:
    if moment is None or isinstance(moment, str):
        return moment
    return moment.isoformat(timespec="microseconds")


def _dense(seqs: Sequence[int]) -> bool:
    return max(seqs) - min(seqs) + 1 == len(seqs)


def _has_wildcard(pattern: str) -> bool:
    return any(level in ("+", "#") for level in pattern.split("/"))


def _topic_glob(pattern: str) -> str:
    """A GLOB every topic matching `pattern` satisfies, to narrow the scan cheaply.

    ``+`` and ``#`` become ``*``; ``a/#`` becomes ``a*`` because it also matches ``a``.
    A pattern without wildcards is the exact topic, which SQLite answers from its index.
    """
    glob = "/".join(
        "*" if level in ("+", "#") else _glob_escape(level) for level in pattern.split("/")
    )
    return glob[:-2] + "*" if pattern.endswith("/#") else glob


def _glob_escape(text: str) -> str:
    return "".join(f"[{char}]" if char in "*?[" else char for char in text)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite failed because another connection holds a lock it needed."""
    message = str(error).lower()
    return "locked" in message or "busy" in message


def _use_write_ahead_log(connection: sqlite3.Connection) -> None:
    """Switch to WAL, waiting up to `LOCK_TIMEOUT_S` for another process that holds a lock:
    SQLite answers "database is locked" at once here, without its busy timeout, when two
    processes open a new log together."""
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _mqtt_match(pattern: str, topic: str | None) -> bool:
    return topic is not None and topic_matches(pattern, topic)
