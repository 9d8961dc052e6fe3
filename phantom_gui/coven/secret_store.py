"""Where the coven's shared secret is kept.

The secret is looked up in order: the ``PHANTOM_COVEN_SECRET`` environment variable, the
system keyring (when a usable one exists), then the settings file, where it is written
in plain text only when the user asks for it (as MQTT passwords are).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import keyring
from keyring.errors import KeyringError
from pydantic import SecretStr

from phantom_gui.core.settings import Settings
from phantom_gui.coven.auth import MIN_SECRET_BYTES
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.mqtt.profiles import keyring_usable

log = logging.getLogger("phantom.coven.secrets")

SECRET_VARIABLE = "PHANTOM_COVEN_SECRET"
KEYRING_SERVICE = "Phantom coven"
KEYRING_USER = "secret"
SECRET_BYTES = 32


class SecretOrigin(StrEnum):
    """Where the coven secret was found or put."""

    ENVIRONMENT = "environment"
    KEYRING = "keyring"
    SETTINGS = "settings"


@dataclass(frozen=True)
class CovenSecret:
    """The shared secret and where it came from (its repr never shows it)."""

    value: SecretStr
    origin: SecretOrigin


def new_secret() -> str:
    """A fresh random secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(SECRET_BYTES)


class SecretStore:
    """Finds, keeps and forgets the coven secret of one settings file."""

    def __init__(
        self,
        settings: Settings,
        *,
        environ: Mapping[str, str] = os.environ,
        keyring_available: bool | None = None,
    ) -> None:
        self._settings = settings
        self._environ = environ
        self.keyring_available = (
            keyring_usable() if keyring_available is None else keyring_available
        )

    def find(self) -> CovenSecret | None:
        """The secret from the environment, the keyring or the settings; None if none has one."""
        value = self._environ.get(SECRET_VARIABLE)
        if value:
            return CovenSecret(SecretStr(value), SecretOrigin.ENVIRONMENT)
        if self.keyring_available:
            try:
                value = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
            except KeyringError as error:
                log.warning("the keyring could not give the coven secret: %s", error)
            if value:
                return CovenSecret(SecretStr(value), SecretOrigin.KEYRING)
        stored = self._settings.load(CovenSettings).secret
        return None if stored is None else CovenSecret(stored, SecretOrigin.SETTINGS)

    def keep(self, secret: str, *, in_settings: bool = False) -> SecretOrigin:
        """Keep `secret` in the keyring, or in the settings file when `in_settings`.

        `ValueError` when it is too short to sign HS256 tokens; `RuntimeError` when there
        is no usable keyring and `in_settings` is not asked for.
        """
        size = len(secret.encode())
        if size < MIN_SECRET_BYTES:
            raise ValueError(
                f"a coven secret must be at least {MIN_SECRET_BYTES} bytes, got {size}"
            )
        settings = self._settings.load(CovenSettings)
        if in_settings:
            self._settings.save(settings.model_copy(update={"secret": SecretStr(secret)}))
            return SecretOrigin.SETTINGS
        if not self.keyring_available:
            raise RuntimeError(
                "there is no usable system keyring to keep the coven secret in: keep it in "
                f"the settings file (in plain text) or in the {SECRET_VARIABLE} variable"
            )
        try:
            keyring.set_password(KEYRING_SERVICE, KEYRING_USER, secret)
        except KeyringError as error:
            raise RuntimeError(f"the keyring refused the coven secret: {error}") from error
        if settings.secret is not None:
            self._settings.save(settings.model_copy(update={"secret": None}))
        return SecretOrigin.KEYRING
