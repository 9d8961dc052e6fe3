"""Logs of the first format: one fixed key (`audit.key`) beside the log, and no epochs.

Such a log still verifies, under that key. A writer that opens it upgrades it in one
transaction: each run's row is chained as it stands, everything so far is sealed under
the old key as epoch -1, and new records go on in forward-secure epochs made from it.
The old key becomes the log's verification key: it is handed to the log's owner, then
erased from the data folder. Records written before the upgrade are only as safe as that
key was while it lay beside the log; those written after are forward-secure.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from phantom_gui.audit.database import FORMAT, LEGACY_FORMAT
from phantom_gui.audit.journal import ChainBatch, Journal
from phantom_gui.audit.keys import KEY_BYTES, SEED_EPOCH
from phantom_gui.audit.run_table import RunTable

LEGACY_KEY_NAME = "audit.key"


def read_legacy_key(path: Path) -> bytes | None:
    """The fixed key of a first-format log, or None if there is none; `ValueError` naming
    the file when it is not such a key."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(key) != KEY_BYTES:
        raise ValueError(
            f"{path}: not a Phantom audit key ({len(key)} bytes, expected {KEY_BYTES})"
        )
    return key


def upgrade(journal: Journal, runs: RunTable) -> bool:
    """Upgrade the first-format log `journal` writes (its key: the fixed one, as epoch -1);
    False if another process upgraded it first."""

    def run(connection: sqlite3.Connection, batch: ChainBatch) -> bool:
        row = connection.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None or row[0] != LEGACY_FORMAT:
            return False
        connection.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("format", FORMAT), ("first_epoch", str(SEED_EPOCH))],
        )
        runs.record_unchained(connection, batch)
        batch.seal()
        return True

    return journal.transact(run)
