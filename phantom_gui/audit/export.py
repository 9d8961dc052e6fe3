"""Export of audit records as JSON Lines or CSV, streamed: one layout for the command line
(`phantom audit export`) and the Audit Log viewer."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.core.atomic import atomic_text_file

FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("seq", "id", "type", "timestamp", "audit_id", "phase", "topic", "source", "data")
"""The CSV header; `data` holds the payload as JSON."""


def format_for(path: Path) -> str:
    """The export format a file name asks for: CSV for `.csv`, JSON Lines otherwise."""
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def write_events(events: Iterable[dict[str, Any]], out: TextIO, fmt: str) -> int:
    """Write `events` to `out` as "jsonl" or "csv", one at a time; return how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for event in events:
            cells = ["" if event[column] is None else event[column] for column in CSV_COLUMNS[:-1]]
            writer.writerow([*cells, json.dumps(event["data"], ensure_ascii=False)])
            count += 1
    else:
        for event in events:
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
            count += 1
    return count


def export_events(storage: AuditStorage, where: EventFilter, path: Path, fmt: str) -> int:
    """Write the records matching `where` to the file `path`; return how many.

    The records are streamed (never all in memory), and the file appears whole or not
    at all (see `core.atomic`).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    with atomic_text_file(path.expanduser().absolute()) as out:
        return write_events(storage.iter_events(where), out, fmt)
