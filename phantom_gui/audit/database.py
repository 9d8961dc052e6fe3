"""The audit log's SQLite database: a connection per thread (WAL), the schema, and write
transactions that wait out another writer's lock.

Failures are told apart by SQLite's result codes (`sqlite3.Error.sqlite_errorcode`),
never by their wording: busy and locked are retried, the rest become `OSError`s with
the errno that fits (a full disk is ``ENOSPC``).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from phantom_gui.core.resilience import Backoff, RetryPolicy, retry_call
from phantom_gui.core.topics import topic_matches

T = TypeVar("T")

FORMAT = "phantom-audit/2"
"""Logs sealed in epochs under forward-secure keys."""
LEGACY_FORMAT = "phantom-audit/1"
"""Logs under one fixed key (`audit.key`), upgraded to `FORMAT` when a writer opens them."""
DATABASE_NAME = "audit.sqlite3"
LOCK_TIMEOUT_S = 10.0
"""How long a connection waits for another process's lock before it gives up."""
CACHE_KIB = 65_536

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS seals (
    epoch INTEGER PRIMARY KEY, seq INTEGER NOT NULL, mac BLOB NOT NULL,
    signature BLOB NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY, mac BLOB NOT NULL, signature BLOB NOT NULL, created TEXT NOT NULL
);
"""
"""`seals` ends each epoch (see `keys`); `checkpoints` holds those of the first format."""

_ERRNOS = {
    sqlite3.SQLITE_FULL: errno.ENOSPC,
    sqlite3.SQLITE_BUSY: errno.EBUSY,
    sqlite3.SQLITE_LOCKED: errno.EBUSY,
    sqlite3.SQLITE_READONLY: errno.EROFS,
    sqlite3.SQLITE_PERM: errno.EACCES,
    sqlite3.SQLITE_CANTOPEN: errno.ENOENT,
    sqlite3.SQLITE_IOERR: errno.EIO,
}


def result_code(error: BaseException) -> int | None:
    """SQLite's primary result code of `error` (its extended code without the extension)."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_busy(error: BaseException) -> bool:
    """Whether SQLite failed because another connection held a lock it needed
    (SQLITE_BUSY, SQLITE_LOCKED and their extended codes)."""
    return result_code(error) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def as_os_error(error: sqlite3.Error, path: Path) -> OSError:
    """`error` as an `OSError` naming `path`: ``ENOSPC`` for a full disk, ``EBUSY`` for a
    lock held too long, ``EIO`` for an I/O error or anything else."""
    number = _ERRNOS.get(result_code(error) or 0, errno.EIO)
    name = getattr(error, "sqlite_errorname", None) or type(error).__name__
    return OSError(number, f"{path}: {error} ({name})")


WRITE_RETRY = RetryPolicy(retries=3, backoff=Backoff(base=0.05), retry_on=is_busy)
"""A write waits `LOCK_TIMEOUT_S` for the lock in SQLite, then is tried again three times."""
WAL_RETRY = RetryPolicy(
    retries=int(LOCK_TIMEOUT_S / 0.01),
    backoff=Backoff(base=0.01, factor=1.0),
    retry_on=is_busy,
    deadline_s=LOCK_TIMEOUT_S,
)
"""Switching to WAL: SQLite answers "locked" at once there, without its busy timeout, when
two processes open a new log together; so it is tried every 10 ms for `LOCK_TIMEOUT_S`."""


class AuditDatabase:
    """The SQLite file of the audit log in `root`, one connection per thread."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self._local = threading.local()
        self._write_lock = threading.Lock()

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

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.database_path, timeout=LOCK_TIMEOUT_S, isolation_level=None
            )
            retry_call(lambda: connection.execute("PRAGMA journal_mode=WAL"), WAL_RETRY)
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            connection.create_function("mqtt_match", 2, _mqtt_match, deterministic=True)
            self._local.connection = connection
        return connection

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def open_schema(self, *, create: bool) -> dict[str, str]:
        """The log's meta table (empty for a new file), after checking that the file is an
        audit log and (`create`) making its tables; `ValueError` naming it if it is not."""
        path = self.database_path
        try:
            connection = self.connection()
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            if tables and "meta" not in tables:
                raise ValueError(f"{path}: a SQLite file, but not a Phantom audit log")
            if create:
                connection.executescript(SCHEMA)
            elif not tables:
                return {}
            return dict(connection.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ValueError(f"{path}: not a readable audit log ({exc})") from exc
        except ValueError:
            self.close()
            raise

    def size_bytes(self) -> int:
        """The size of the log on disk (database and write-ahead log)."""
        return sum(
            path.stat().st_size
            for path in (self.database_path, self.database_path.with_name(DATABASE_NAME + "-wal"))
            if path.exists()
        )

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one read transaction: every query sees the log
        as it was when the first one ran."""
        connection = self.connection()
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    def write(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run `action(connection)` in a write transaction, tried again while another writer
        holds the lock; all of it is committed or none of it. SQLite's failures become
        `OSError`s (see `as_os_error`)."""

        def attempt() -> T:
            with self._write_lock, self._transaction() as connection:
                return action(connection)

        try:
            return retry_call(attempt, WRITE_RETRY)
        except sqlite3.OperationalError as exc:
            raise as_os_error(exc, self.database_path) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


def _mqtt_match(pattern: str, topic: str | None) -> bool:
    return topic is not None and topic_matches(pattern, topic)
