"""Reading the audit log: which events (`EventFilter`), streamed, counted, or by seq."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from phantom_gui.audit.database import AuditDatabase
from phantom_gui.audit.events import EventType
from phantom_gui.audit.records import EVENT_COLUMNS, RUN_RECORD_TYPE, RUN_TOPIC, event_dict

_SELECT = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE "


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
    events_only: bool = False
    """Leave out the run records (the rows of the runs table, chained in the log)."""

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
        if self.events_only:
            clauses.append("NOT (type = ? AND coalesce(topic, '') = ?)")
            params += [RUN_RECORD_TYPE, RUN_TOPIC]
        return " AND ".join(clauses), params


ALL_EVENTS = EventFilter()


class EventQueries:
    """The reads of the events table, on the calling thread's connection."""

    def __init__(self, database: AuditDatabase) -> None:
        self._database = database

    def last_seq(self) -> int:
        """The seq of the newest record (0 when the log is empty)."""
        row = self._database.connection().execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def iter_events(
        self, where: EventFilter = ALL_EVENTS, batch: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Stream the matching events, oldest first, `batch` rows at a time."""
        condition, params = where.where()
        cursor = self._database.connection().execute(f"{_SELECT}{condition} ORDER BY seq", params)
        while rows := cursor.fetchmany(batch):
            for row in rows:
                yield event_dict(row)

    def count_events(self, where: EventFilter = ALL_EVENTS) -> int:
        """How many events match."""
        condition, params = where.where()
        connection = self._database.connection()
        row = connection.execute(f"SELECT count(*) FROM events WHERE {condition}", params)
        return int(row.fetchone()[0])

    def matching_seqs(self, where: EventFilter) -> list[int]:
        """The seqs of the matching events, in order (the viewer's row index)."""
        condition, params = where.where()
        cursor = self._database.connection().execute(
            f"SELECT seq FROM events WHERE {condition} ORDER BY seq", params
        )
        return [row[0] for row in cursor]

    def events_by_seq(self, seqs: Sequence[int]) -> list[dict[str, Any]]:
        """The events with these seqs, in the order given (missing ones are left out)."""
        if not seqs:
            return []
        if _dense(seqs):
            query, params = _SELECT + "seq BETWEEN ? AND ?", [min(seqs), max(seqs)]
        else:
            query, params = _SELECT + f"seq IN ({', '.join('?' * len(seqs))})", list(seqs)
        rows = self._database.connection().execute(query, params).fetchall()
        by_seq = {row[0]: event_dict(row) for row in rows}
        return [by_seq[seq] for seq in seqs if seq in by_seq]

    def seq_range(self) -> tuple[int, int]:
        """The first and last seq held (0, 0 when empty)."""
        row = (
            self._database.connection()
            .execute("SELECT (SELECT min(seq) FROM events), (SELECT max(seq) FROM events)")
            .fetchone()
        )
        return int(row[0] or 0), int(row[1] or 0)


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
