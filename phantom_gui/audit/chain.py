"""The keyed hash chain that makes the audit log tamper-evident.

Each record's MAC is HMAC-SHA256(key, previous MAC ‖ the record's canonical bytes),
so changing, removing, reordering or inserting a record breaks every MAC after it.
The key is the key of the record's epoch (see `keys`). Checkpoints sign (epoch, seq,
MAC) statements: the seal that ends an epoch, the head kept outside the database, the
anchor left when old records are cleared.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

BLOCK_BYTES = 64  # SHA-256's block size
_SEPARATOR = "\x1f"  # between the fields a signature covers

SEAL_LABEL = "seal"
HEAD_LABEL = "head"
ANCHOR_LABEL = "anchor"
LEGACY_CHECKPOINT_LABEL = "checkpoint"
"""The label of the checkpoints of logs in the first format, under their fixed key."""


def genesis_mac(key: bytes, chain_id: str) -> bytes:
    """The MAC the first record chains from, under the key of the log's first epoch."""
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


def sign(key: bytes, label: str, seq: int, mac: bytes, epoch: int | None) -> bytes:
    """A signature over a checkpoint: what it is (`label`), in which epoch, up to which seq,
    and the MAC there. `epoch` None is the first format's statement, which named no epoch."""
    fields = [label, str(seq)] if epoch is None else [label, str(epoch), str(seq)]
    message = "".join(field + _SEPARATOR for field in fields).encode()
    return hmac.digest(key, message + mac, "sha256")


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: in epoch `epoch`, the chain's MAC after record `seq` was `mac`."""

    seq: int
    mac: bytes
    signature: bytes
    epoch: int | None = None
    """None for a checkpoint of the first format (one fixed key, no epochs)."""

    @classmethod
    def make(cls, key: bytes, label: str, seq: int, mac: bytes, epoch: int | None) -> Checkpoint:
        """Sign (epoch, seq, mac) under `label` with the key of `epoch`."""
        return cls(seq, mac, sign(key, label, seq, mac, epoch), epoch)

    def is_genuine(self, key: bytes, label: str) -> bool:
        """Was this signed with `key` under `label`?"""
        expected = sign(key, label, self.seq, self.mac, self.epoch)
        return hmac.compare_digest(self.signature, expected)

    def to_json(self) -> str:
        """As a small JSON document."""
        fields: dict[str, object] = {
            "seq": self.seq,
            "mac": self.mac.hex(),
            "signature": self.signature.hex(),
        }
        if self.epoch is not None:
            fields["epoch"] = self.epoch
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str, where: Path) -> Checkpoint:
        """Parse `to_json` output; `ValueError` naming `where` if it is not one."""
        try:
            fields = json.loads(text)
            epoch = fields.get("epoch")
            return cls(
                int(fields["seq"]),
                bytes.fromhex(fields["mac"]),
                bytes.fromhex(fields["signature"]),
                None if epoch is None else int(epoch),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{where}: not a Phantom audit checkpoint ({exc})") from exc
