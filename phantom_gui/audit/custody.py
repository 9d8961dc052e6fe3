"""Where a log's verification key is kept: never in the data folder.

In the system keyring where there is a usable one; otherwise in a file beside the data
folder (not in it), which its owner is told about once and should move somewhere safe.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

from phantom_gui.audit.keys import VerificationKey
from phantom_gui.core.atomic import write_atomically

log = logging.getLogger("phantom.audit")

KEYRING_SERVICE = "Phantom audit log"
"""The keyring entries' service name; a log's chain id is their user name."""


def system_keyring() -> ModuleType | None:
    """The `keyring` module when a real backend is there (its "fail" and "null" backends
    have priority 0 or less), else None."""
    try:
        import keyring

        usable = float(keyring.get_keyring().priority) > 0
    except Exception as error:  # a broken backend must not stop the app
        log.warning("the system keyring cannot be used: %s", error)
        return None
    return keyring if usable else None


def key_file_for(data_folder: Path, chain_id: str) -> Path:
    """Where a verification key is saved when there is no keyring: beside the data folder."""
    return data_folder.parent / f"phantom-audit-verification-{chain_id[:12]}.key"


def keep_verification_key(
    key: VerificationKey, data_folder: Path, *, use_keyring: bool | None = None
) -> str:
    """Put `key` in the keyring (if `use_keyring`, by default where there is one) or else in
    `key_file_for(data_folder)`; return a notice telling its owner where. `OSError` when
    it could be put nowhere."""
    keyring = system_keyring() if use_keyring in (None, True) else None
    if keyring is not None:
        try:
            keyring.set_password(KEYRING_SERVICE, key.chain_id, key.to_text())
        except Exception as error:
            log.warning("the keyring refused the audit verification key: %s", error)
        else:
            return (
                f"The audit log's verification key is kept in the system keyring "
                f"({KEYRING_SERVICE!r}, {key.chain_id}): `phantom audit verify` uses it to prove "
                "that no one rewrote the log."
            )
    path = key_file_for(data_folder, key.chain_id)
    try:
        write_atomically(path, key.to_text(), exclusive=True)
    except FileExistsError:
        if VerificationKey.read(path) != key:
            raise
    return (
        f"The audit log's verification key was saved to {path}. Move it out of there to a "
        "safe place (a USB stick, a password manager): with it, `phantom audit verify --key "
        "FILE` proves that no one who copied the data folder rewrote the log. Phantom keeps "
        "no other copy."
    )


def stored_verification_key(chain_id: str) -> VerificationKey | None:
    """The verification key of the log `chain_id` from the system keyring, if it is there."""
    keyring = system_keyring()
    if keyring is None:
        return None
    try:
        text = keyring.get_password(KEYRING_SERVICE, chain_id)
        return None if text is None else VerificationKey.from_text(text, KEYRING_SERVICE)
    except Exception as error:
        log.warning("the keyring could not give the audit verification key: %s", error)
        return None
