"""The keyed hash chain that makes the audit log tamper-evident.

Each record's MAC is HMAC-SHA256(key, previous MAC ‖ the record's canonical bytes),
so changing, removing, reordering or inserting a record breaks every MAC after it.
Checkpoints sign (seq, MAC) pairs; the newest is also kept outside the database, so
cutting off the tail is noticed too. Without the key none of it can be forged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32
BLOCK_BYTES = 64  # SHA-256's block size
_SEPARATOR = "\x1f"  # between the fields a MAC covers


def load_or_create_key(path: Path) -> bytes:
    """The HMAC key at `path`, made (readable by the owner only) on first use."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = _create_key(path)
    if len(key) != KEY_BYTES:
        raise ValueError(
            f"{path}: not a Phantom audit key ({len(key)} bytes, expected {KEY_BYTES})"
        )
    return key


def _create_key(path: Path) -> bytes:
    """A new key, written whole and then linked into place: a process opening the same new
    log at the same moment reads either no key or all of this one, and never makes its own."""
    key = secrets.token_bytes(KEY_BYTES)
    fd, temp = tempfile.mkstemp(prefix=".key-", dir=path.parent)  # readable by the owner only
    try:
        _write_all(fd, key)
        os.link(temp, path)
    except FileExistsError:
        return path.read_bytes()  # another process made it first: use theirs
    except OSError:  # no hard links on this file system (FAT): create it in place
        _write_all(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), key)
    finally:
        os.unlink(temp)
    return key


def _write_all(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def genesis_mac(key: bytes, chain_id: str) -> bytes:
    """The MAC the first record chains from."""
    return hmac.digest(key, b"phantom-audit genesis" + chain_id.encode(), "sha256")


class RecordHasher:
    """HMAC-SHA256 of records under one key, with the key pads hashed once (RFC 2104).

    Equal to `hmac.digest(key, msg, "sha256")`, several times faster per small record.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) > BLOCK_BYTES:
            key = hashlib.sha256(key).digest()  # as HMAC does with keys longer than a block
        block = key.ljust(BLOCK_BYTES, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def mac(self, message: bytes) -> bytes:
        """HMAC-SHA256 of `message`."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def record(self, previous: bytes, canonical: str) -> bytes:
        """The MAC of one record's canonical text, chained to the MAC of the record before."""
        inner = self._inner.copy()
        inner.update(previous)
        inner.update(canonical.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def canonical(
    seq: int,
    event_id: str,
    event_type: str,
    topic: str | None,
    source: str | None,
    timestamp: str,
    audit_id: str | None,
    phase: int | None,
    data: str,
) -> str:
    """The text a record's MAC covers (`CANONICAL_SQL` computes the same in SQLite)."""
    return (
        f"{seq}\x1f{event_id}\x1f{event_type}\x1f{'' if topic is None else topic}\x1f"
        f"{'' if source is None else source}\x1f{timestamp}\x1f"
        f"{'' if audit_id is None else audit_id}\x1f{'' if phase is None else phase}\x1f{data}"
    )


CANONICAL_SQL = (
    "seq || char(31) || id || char(31) || type || char(31) || coalesce(topic, '') || char(31) "
    "|| coalesce(source, '') || char(31) || timestamp || char(31) || coalesce(audit_id, '') "
    "|| char(31) || coalesce(phase, '') || char(31) || data"
)
"""`canonical()` as an SQL expression over the events table, so verification reads one
string per record instead of nine columns."""


def sign(key: bytes, label: str, seq: int, mac: bytes) -> bytes:
    """A signature over a checkpoint: what it is (`label`), up to which seq, and the MAC there."""
    return hmac.digest(key, f"{label}{_SEPARATOR}{seq}{_SEPARATOR}".encode() + mac, "sha256")


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the chain's MAC after record `seq` was `mac`."""

    seq: int
    mac: bytes
    signature: bytes

    @classmethod
    def make(cls, key: bytes, label: str, seq: int, mac: bytes) -> Checkpoint:
        """Sign (seq, mac) under `label`."""
        return cls(seq, mac, sign(key, label, seq, mac))

    def is_genuine(self, key: bytes, label: str) -> bool:
        """Was this signed with `key` under `label`?"""
        return hmac.compare_digest(self.signature, sign(key, label, self.seq, self.mac))

    def to_json(self) -> str:
        """As a small JSON document."""
        return json.dumps(
            {"seq": self.seq, "mac": self.mac.hex(), "signature": self.signature.hex()}
        )

    @classmethod
    def from_json(cls, text: str, where: Path) -> Checkpoint:
        """Parse `to_json` output; `ValueError` naming `where` if it is not one."""
        try:
            fields = json.loads(text)
            return cls(
                int(fields["seq"]), bytes.fromhex(fields["mac"]), bytes.fromhex(fields["signature"])
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{where}: not a Phantom audit checkpoint ({exc})") from exc
