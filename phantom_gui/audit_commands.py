"""`phantom audit list | show | export | verify`: the audit log from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phantom_gui.audit.custody import stored_verification_key
from phantom_gui.audit.database import DATABASE_NAME
from phantom_gui.audit.export import export_events as write_export
from phantom_gui.audit.export import write_events
from phantom_gui.audit.keys import VerificationKey
from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.core.paths import AppPaths

AUDIT_FOLDER = "audit"
ALL = "all"
RUN_FIELDS = ("project", "kind", "name", "status", "started", "ended")
EXIT_TAMPERED = 1
EXIT_UNREADABLE = 2


class CommandError(Exception):
    """A problem to print on stderr, with the exit code to return."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def audit_root(options: argparse.Namespace) -> Path:
    """The audit log's folder for these options: `<data dir>/audit`."""
    paths = AppPaths.resolve(getattr(options, "data_dir", None), getattr(options, "config", None))
    return paths.data_dir / AUDIT_FOLDER


def run_audit_command(options: argparse.Namespace) -> int:
    """Run one `phantom audit` action; return the exit code."""
    root = audit_root(options)
    actions: dict[str, Callable[[AuditStorage, argparse.Namespace], int]] = {
        "list": list_runs,
        "show": show_run,
        "export": export_events,
        "verify": verify_log,
    }
    try:
        storage = open_existing(root)
        try:
            return actions[options.audit_command](storage, options)
        finally:
            storage.close()
    except CommandError as exc:
        print(f"phantom: {exc}", file=sys.stderr)
        return exc.code
    except sqlite3.DatabaseError as exc:
        print(
            f"phantom: {root / DATABASE_NAME}: cannot read the audit log ({exc})", file=sys.stderr
        )
        return EXIT_UNREADABLE
    except BrokenPipeError:
        # The reader went away (`phantom audit export all | head`): not worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def open_existing(root: Path) -> AuditStorage:
    """The audit log in `root`, opened to be read only; `CommandError` (exit 2) if there is
    none or it is unreadable. A command that only reads never creates or upgrades a log."""
    database = root / DATABASE_NAME
    if not database.is_file():
        raise CommandError(f"no audit log at {database}", EXIT_UNREADABLE)
    try:
        return AuditStorage(root, read_only=True)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot open the audit log: {exc}", EXIT_UNREADABLE) from exc


# -- list ---------------------------------------------------------------------------------


def list_runs(storage: AuditStorage, options: argparse.Namespace) -> int:
    """One line per run: id, kind, name, status, started, ended, number of events."""
    runs = storage.list_audits(options.project)
    header = ("ID", "KIND", "NAME", "STATUS", "STARTED", "ENDED", "EVENTS")
    rows = [
        (
            run["id"],
            _text(run.get("kind")),
            _text(run.get("name")),
            _text(run.get("status")),
            _text(run.get("started")),
            _text(run.get("ended")),
            str(storage.count_events(EventFilter(audit_id=run["id"]))),
        )
        for run in runs
    ]
    if not rows:
        where = f" of project {options.project!r}" if options.project is not None else ""
        print(f"no runs{where} in {storage.database_path}", file=sys.stderr)
        return 0
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        print("  ".join([*cells, row[-1].rjust(widths[-1])]))
    return 0


# -- show ---------------------------------------------------------------------------------


def show_run(storage: AuditStorage, options: argparse.Namespace) -> int:
    """A run's fields, then its events, as text or (`--json`) one JSON document."""
    run = _known_run(storage, options.id)
    events = storage.iter_events(EventFilter(audit_id=options.id))
    out = sys.stdout
    if options.json:
        out.write('{"run": ' + json.dumps(run, ensure_ascii=False) + ', "events": [')
        for index, event in enumerate(events):
            out.write(("\n  " if index == 0 else ",\n  ") + json.dumps(event, ensure_ascii=False))
        out.write("\n]}\n")
        return 0
    if run is None:
        out.write(f"run {options.id} (not in the runs table; events only)\n")
    else:
        out.write(f"run {run['id']}\n")
        for field in RUN_FIELDS:
            out.write(f"  {field + ':':9} {_text(run.get(field))}\n")
        for field, value in run.items():
            if field != "id" and field not in RUN_FIELDS:
                out.write(f"  {field + ':':9} {json.dumps(value, ensure_ascii=False)}\n")
    count = 0
    for event in events:
        if count == 0:
            out.write("events:\n")
        count += 1
        out.write(_event_line(event) + "\n")
    out.write(f"{count} event{'' if count == 1 else 's'}\n")
    return 0


def _event_line(event: dict[str, Any]) -> str:
    phase = "" if event["phase"] is None else f" phase {event['phase']}"
    topic = f" {event['topic']}" if event["topic"] else ""
    source = f" from {event['source']}" if event["source"] else ""
    data = json.dumps(event["data"], ensure_ascii=False)
    return f"  #{event['seq']} {event['timestamp']} {event['type']}{phase}{topic}{source} {data}"


# -- export -------------------------------------------------------------------------------


def export_events(storage: AuditStorage, options: argparse.Namespace) -> int:
    """Stream one run's events (or, for `all`, the whole log) as JSON Lines or CSV."""
    where = EventFilter() if options.id == ALL else EventFilter(audit_id=options.id)
    if options.id != ALL:
        _known_run(storage, options.id)
    if options.output is None:
        write_events(storage.iter_events(where), sys.stdout, options.format)
        sys.stdout.flush()
        return 0
    target = options.output.expanduser().absolute()
    try:
        write_export(storage, where, target, options.format)
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}", 1) from exc
    return 0


# -- verify -------------------------------------------------------------------------------


def verify_log(storage: AuditStorage, options: argparse.Namespace) -> int:
    """Print the verification report: 0 when the log is intact, 1 when it was tampered with.

    With `--key FILE` every record is authenticated; without it, the verification key is
    taken from the system keyring where it is kept there, and otherwise the log is checked
    as far as the sealing key beside it allows (the report says how far).
    """
    key = _verification_key(storage, options.key)
    try:
        if key is None and storage.sealing_key() is None:
            raise CommandError(
                f"the sealing key {storage.sealing_key_path} is missing: check the log "
                "with its verification key (--key FILE)",
                EXIT_UNREADABLE,
            )
        report = storage.verify(key)
    except ValueError as exc:
        raise CommandError(f"cannot verify the audit log: {exc}", EXIT_UNREADABLE) from exc
    print(report)
    return 0 if report.ok else EXIT_TAMPERED


def _verification_key(storage: AuditStorage, path: Path | None) -> VerificationKey | None:
    if path is None:
        return stored_verification_key(storage.chain_id)
    try:
        return VerificationKey.read(path.expanduser())
    except OSError as exc:
        raise CommandError(
            f"cannot read the verification key {path}: {exc.strerror or exc}", EXIT_UNREADABLE
        ) from exc
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_UNREADABLE) from exc


# -- helpers ------------------------------------------------------------------------------


def _known_run(storage: AuditStorage, run_id: str) -> dict[str, Any] | None:
    """The run `run_id`; None when only events name it; `CommandError` when nothing does."""
    run = storage.get_audit(run_id)
    if run is None and storage.count_events(EventFilter(audit_id=run_id)) == 0:
        raise CommandError(f"no audit run {run_id!r} in {storage.database_path}")
    return run


def _text(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)
