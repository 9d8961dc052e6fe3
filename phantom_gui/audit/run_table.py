"""The runs table ("audits"): a run's project, kind, name, status and times.

Every save and update of a run is also appended to the chain as a run record (type
`audit_updated`, topic `audit/run`, the run's id) carrying the run's whole new row, in the same
transaction; so a row changed behind the log's back no longer equals the last run
record of its run, and verification says so.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from phantom_gui.audit.database import AuditDatabase
from phantom_gui.audit.events import now_iso
from phantom_gui.audit.journal import ChainBatch, Journal
from phantom_gui.audit.records import RUN_RECORD_TYPE, RUN_TOPIC
from phantom_gui.core.events import new_event_id

RUN_SOURCE = "audit"
RUN_FIELDS = ("project", "kind", "name", "status", "started", "ended")
_SELECT = "SELECT id, project, kind, name, status, started, ended, data FROM audits"
_RUN_RECORDS = (
    "SELECT audit_id, data FROM events WHERE type = ? AND topic = ? ORDER BY seq",
    (RUN_RECORD_TYPE, RUN_TOPIC),
)


class RunTable:
    """Saves, reads and updates runs, each change chained as a run record."""

    def __init__(self, database: AuditDatabase, journal: Journal | None) -> None:
        self._database = database
        self._journal = journal

    def save(self, audit: Mapping[str, Any]) -> str:
        """Store a new run and return its id (taken from `audit["id"]` or made up)."""
        audit_id = str(audit.get("id") or uuid.uuid4().hex)
        row = _row(audit_id, audit)

        def insert(connection: sqlite3.Connection, batch: ChainBatch) -> None:
            if connection.execute("SELECT 1 FROM audits WHERE id = ?", (audit_id,)).fetchone():
                raise ValueError(f"a run with id {audit_id!r} already exists")
            connection.execute(
                "INSERT INTO audits (id, project, kind, name, status, started, ended, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            batch.append([run_record(row)])

        self._writer().transact(insert)
        return audit_id

    def get(self, audit_id: str) -> dict[str, Any] | None:
        """The run with `audit_id`, or None."""
        connection = self._database.connection()
        row = connection.execute(f"{_SELECT} WHERE id = ?", (audit_id,)).fetchone()
        return None if row is None else run_dict(row)

    def list(self, project: str | None = None) -> list[dict[str, Any]]:
        """Every run (of `project`, if given), oldest first."""
        query = _SELECT
        params: tuple[Any, ...] = ()
        if project is not None:
            query += " WHERE project = ?"
            params = (project,)
        rows = self._database.connection().execute(query + " ORDER BY started, id", params)
        return [run_dict(row) for row in rows]

    def update(self, audit_id: str, updates: Mapping[str, Any]) -> bool:
        """Merge `updates` into a run; False when there is no such run."""

        def merge(connection: sqlite3.Connection, batch: ChainBatch) -> bool:
            found = connection.execute(f"{_SELECT} WHERE id = ?", (audit_id,)).fetchone()
            if found is None:
                return False
            row = _row(audit_id, {**run_dict(found), **updates, "id": audit_id})
            connection.execute(
                "UPDATE audits SET project=?, kind=?, name=?, status=?, started=?, ended=?, data=? "
                "WHERE id = ?",
                (*row[1:], audit_id),
            )
            batch.append([run_record(row)])
            return True

        return self._writer().transact(merge)

    def record_unchained(self, connection: sqlite3.Connection, batch: ChainBatch) -> int:
        """Chain the current row of every run that has no run record (after old records
        were cleared, or in a log of the first format); return how many."""
        chained = {run_id for run_id, _ in connection.execute(*_RUN_RECORDS)}
        rows = [row for row in connection.execute(_SELECT) if row[0] not in chained]
        batch.append([run_record(row) for row in rows])
        return len(rows)

    def _writer(self) -> Journal:
        if self._journal is None:
            raise ValueError(f"{self._database.database_path} was opened to be read only")
        return self._journal


def run_record(row: Sequence[Any]) -> tuple[Any, ...]:
    """The chained record (event columns after `seq`) of a runs-table row."""
    return (
        new_event_id(),
        RUN_RECORD_TYPE,
        RUN_TOPIC,
        RUN_SOURCE,
        now_iso(),
        row[0],
        None,
        {"run": run_dict(row)},
    )


def runs_table_problem(connection: sqlite3.Connection) -> str | None:
    """What is wrong with the runs table against the run records in the chain, or None:
    a row that differs from its run's last record, a row without one, a run gone."""
    chained: dict[str, dict[str, Any] | None] = {}
    for run_id, data in connection.execute(*_RUN_RECORDS):
        payload = json.loads(data)
        chained[run_id] = payload.get("run") if isinstance(payload, dict) else None
    table = {row[0]: run_dict(row) for row in connection.execute(_SELECT)}
    for run_id, run in table.items():
        if run_id not in chained:
            return f"run {run_id!r} is in the runs table but was never recorded in the chain"
        recorded = chained[run_id] or {}
        if run != recorded:
            changed = sorted(
                key for key in run.keys() | recorded.keys() if run.get(key) != recorded.get(key)
            )
            return (
                f"run {run_id!r} was changed in the runs table ({', '.join(changed)}): "
                "it differs from its last record in the chain"
            )
    gone = sorted(chained.keys() - table.keys())
    if gone:
        return f"run {gone[0]!r} was deleted from the runs table"
    return None


def run_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A runs-table row as the dict readers get."""
    audit: dict[str, Any] = json.loads(row[7])
    audit.update(zip(("id", *RUN_FIELDS), row[:7], strict=True))
    return audit


def _row(audit_id: str, audit: Mapping[str, Any]) -> tuple[Any, ...]:
    extra = {key: value for key, value in audit.items() if key not in (*RUN_FIELDS, "id")}
    return (
        audit_id,
        audit.get("project"),
        audit.get("kind"),
        audit.get("name"),
        audit.get("status") or "running",
        audit.get("started") or now_iso(),
        audit.get("ended"),
        json.dumps(extra, default=str),
    )
