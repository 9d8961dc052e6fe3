"""Forward-secure keys: one key per epoch, each made from the one before, one way only.

    key(-1) = the verification key (a random seed the user keeps, never in the data folder)
    key(n)  = HMAC-SHA256(key(n - 1), "phantom-audit evolve" ‖ n)

The data folder keeps only the sealing key: the key of the current epoch. When an epoch
is sealed, the key moves on and the old one is overwritten, so whoever copies the data
folder can sign records of the current epoch only, never of the epochs sealed before.
With the verification key every epoch's key can be made again, and so every record checked.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from phantom_gui.core.atomic import write_atomically

KEY_BYTES = 32
SEED_EPOCH = -1
"""The verification key is the key of this epoch; logs of the first format signed their
records with it (they had one fixed key)."""
_EVOLVE = b"phantom-audit evolve"
SEALING_KEY_FORMAT = "phantom-audit-sealing-key/1"
VERIFICATION_KEY_FORMAT = "phantom-audit-verification-key/1"


def evolve(key: bytes, epoch: int) -> bytes:
    """The key of `epoch`, made from the key of the epoch before it."""
    return hmac.digest(key, _EVOLVE + epoch.to_bytes(8, "big", signed=True), "sha256")


class EpochKeys:
    """The keys of every epoch from `epoch` on, made from the key of `epoch`; the keys of
    earlier epochs cannot be made from it."""

    def __init__(self, epoch: int, key: bytes) -> None:
        self.epoch = epoch
        self._base = key
        self._last = (epoch, key)

    def key(self, epoch: int) -> bytes | None:
        """The key of `epoch`, or None when it is older than the key these were made from."""
        if epoch < self.epoch:
            return None
        at, key = self._last if self._last[0] <= epoch else (self.epoch, self._base)
        while at < epoch:
            at += 1
            key = evolve(key, at)
        self._last = (at, key)
        return key


@dataclass(frozen=True)
class SealingKey:
    """The key of the log's current epoch, as kept beside the log."""

    chain_id: str
    epoch: int
    key: bytes

    def evolved(self, epoch: int) -> SealingKey:
        """The sealing key of a later `epoch`."""
        key = EpochKeys(self.epoch, self.key).key(epoch)
        if key is None:
            raise ValueError(f"the key of epoch {epoch} cannot be made from epoch {self.epoch}")
        return SealingKey(self.chain_id, epoch, key)

    def to_json(self) -> str:
        """The key file's text."""
        return json.dumps(
            {
                "format": SEALING_KEY_FORMAT,
                "chain_id": self.chain_id,
                "epoch": self.epoch,
                "key": self.key.hex(),
            }
        )

    @classmethod
    def read(cls, path: Path) -> SealingKey | None:
        """The sealing key in `path`; None if there is no such file; `ValueError` naming it
        when it is not a sealing key."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a Phantom audit sealing key ({exc})") from exc
        fields = _key_fields(text, path, SEALING_KEY_FORMAT, "sealing key")
        try:
            return cls(str(fields["chain_id"]), int(fields["epoch"]), _key_bytes(fields, path))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a Phantom audit sealing key ({exc})") from exc

    def store(self, path: Path) -> None:
        """Replace the key file at `path` with this key, and overwrite the old key's bytes."""
        try:
            old = path.open("r+b")
        except FileNotFoundError:
            write_atomically(path, self.to_json())
            return
        with old:
            write_atomically(path, self.to_json())
            _overwrite(old)


@dataclass(frozen=True)
class VerificationKey:
    """The seed every epoch key of one log is made from: its owner keeps it elsewhere."""

    chain_id: str
    seed: bytes

    @classmethod
    def new(cls, chain_id: str) -> VerificationKey:
        """A random verification key for the log `chain_id`."""
        return cls(chain_id, secrets.token_bytes(KEY_BYTES))

    def epoch_keys(self) -> EpochKeys:
        """Every epoch's key."""
        return EpochKeys(SEED_EPOCH, self.seed)

    def to_text(self) -> str:
        """The exported file's text (what `read` takes back)."""
        return (
            json.dumps(
                {
                    "format": VERIFICATION_KEY_FORMAT,
                    "chain_id": self.chain_id,
                    "key": self.seed.hex(),
                    "use": "phantom audit verify --key THIS_FILE; keep it outside the data folder",
                },
                indent=2,
            )
            + "\n"
        )

    @classmethod
    def from_text(cls, text: str, where: str) -> VerificationKey:
        """Parse `to_text` output; `ValueError` naming `where` if it is not a verification key."""
        fields = _key_fields(text, where, VERIFICATION_KEY_FORMAT, "verification key")
        try:
            return cls(str(fields["chain_id"]), _key_bytes(fields, where))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: not a Phantom audit verification key ({exc})") from exc

    @classmethod
    def read(cls, path: Path) -> VerificationKey:
        """The verification key in the file `path`; `OSError` or `ValueError` naming it."""
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not a Phantom audit verification key ({exc})") from exc
        return cls.from_text(text, str(path))


def shred(path: Path) -> None:
    """Overwrite the file at `path` with zeros, then remove it (nothing if it is not there)."""
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        return
    with handle:
        _overwrite(handle)
    path.unlink(missing_ok=True)


def _overwrite(handle: IO[bytes]) -> None:
    """Write zeros over every byte of the open binary file `handle` and sync them."""
    fd = handle.fileno()
    size = os.fstat(fd).st_size
    os.pwrite(fd, bytes(size), 0)
    os.fsync(fd)


def _key_fields(text: str, where: object, fmt: str, what: str) -> dict[str, Any]:
    try:
        fields = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where}: not a Phantom audit {what} ({exc})") from exc
    if not isinstance(fields, dict) or fields.get("format") != fmt:
        raise ValueError(f"{where}: not a Phantom audit {what} (expected format {fmt!r})")
    return fields


def _key_bytes(fields: dict[str, Any], where: object) -> bytes:
    key = bytes.fromhex(str(fields["key"]))
    if len(key) != KEY_BYTES:
        raise ValueError(f"{len(key)} key bytes, expected {KEY_BYTES}")
    return key
