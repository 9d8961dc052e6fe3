"""Export of audit records as JSON Lines or CSV, streamed, in the `phantom audit export` layout."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from phantom_gui.audit.storage import AuditStorage, EventFilter

FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("seq", "id", "type", "timestamp", "audit_id", "phase", "topic", "source", "data")
"""The CSV header of `phantom audit export --format csv`; `data` holds the payload as JSON."""


def format_for(path: Path) -> str:
    """The export format a file name asks for: CSV for `.csv`, JSON Lines otherwise."""
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def export_events(storage: AuditStorage, where: EventFilter, path: Path, fmt: str) -> int:
    """Write the records matching `where` to `path` in `fmt`; return how many.

    The records are streamed (never all in memory), and the file appears whole or not
    at all: it is written under a temporary name and renamed at the end.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    target = path.expanduser().absolute()
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            writer = _write_csv if fmt == "csv" else _write_jsonl
            count = writer(storage.iter_events(where), out)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count


def _write_jsonl(events: Iterable[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for event in events:
        out.write(json.dumps(event, ensure_ascii=False) + "\n")
        count += 1
    return count


def _write_csv(events: Iterable[dict[str, Any]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for event in events:
        cells = ["" if event[column] is None else event[column] for column in CSV_COLUMNS[:-1]]
        writer.writerow([*cells, json.dumps(event["data"], ensure_ascii=False)])
        count += 1
    return count
