"""Connection profiles kept in the app's settings, and where their passwords go.

A password is written to the settings file (in plain text) only when its connection
says `store_password_in_settings`. Otherwise it goes to the system keyring when a usable
one exists, and failing that it is kept in memory for this session only.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Any

import keyring
from keyring.errors import KeyringError
from pydantic import SecretStr

from phantom_gui.core.settings import Settings, SettingsModel, same_fields
from phantom_gui.mqtt.config import ConfigError, ConnectionConfig

log = logging.getLogger("phantom.mqtt.profiles")

KEYRING_SERVICE = "Phantom MQTT"
"""The keyring entries' service name; the connection id is their user name."""


class MqttSettings(SettingsModel):
    """The saved connection profiles, each as `ConnectionConfig` dumps it without its
    session-only last will (checked one by one when loaded, so that one bad profile does
    not cost the others)."""

    SECTION = "mqtt"
    MIGRATIONS = (same_fields,)  # 0 → 1: the flat key mqtt/connections

    connections: tuple[dict[str, Any], ...] = ()


class PasswordStorage(StrEnum):
    """Where a connection's password is kept."""

    SETTINGS = "settings"
    """In plain text in the settings file, because the user asked for it."""
    KEYRING = "keyring"
    SESSION = "session"
    """In memory only: forgotten when the app quits."""


def keyring_usable() -> bool:
    """Whether a real keyring backend is available (keyring's "fail" and "null" ones have
    priority 0 or less)."""
    try:
        return float(keyring.get_keyring().priority) > 0
    except Exception as error:  # a broken backend must not stop the app
        log.warning("the system keyring cannot be used: %s", error)
        return False


class ConnectionStore:
    """Saves, loads and removes profiles, each password where `password_storage` says."""

    def __init__(self, settings: Settings, *, keyring_available: bool | None = None) -> None:
        self._settings = settings
        self.keyring_available = (
            keyring_usable() if keyring_available is None else keyring_available
        )
        self._session_passwords: dict[str, str] = {}

    @property
    def settings_file(self) -> Path:
        """The file that holds the profiles (and the passwords stored in settings)."""
        return self._settings.path

    def password_storage(self, store_in_settings: bool) -> PasswordStorage:
        """Where `save` keeps a password, given the connection's `store_password_in_settings`."""
        if store_in_settings:
            return PasswordStorage.SETTINGS
        return PasswordStorage.KEYRING if self.keyring_available else PasswordStorage.SESSION

    def load(self) -> tuple[list[ConnectionConfig], list[str]]:
        """The saved profiles with their passwords, and a problem for each one skipped."""
        configs, problems = [], []
        for entry in self._entries():
            try:
                config = ConnectionConfig.parse(entry)
            except ConfigError as error:
                name = entry.get("name") or entry.get("id") or "?"
                problems.append(
                    f"The MQTT connection {name!r} in the settings was skipped: {error}"
                )
                continue
            if config.password is None:
                password = self._recall(config.id)
                if password is not None:
                    config = config.model_copy(update={"password": SecretStr(password)})
            configs.append(config)
        return configs, problems

    def save(self, config: ConnectionConfig) -> PasswordStorage:
        """Add or replace the profile `config.id`; return where its password went."""
        storage = self._keep_password(config)
        entry = config.model_dump(mode="json", exclude={"password", "will"})
        if storage is PasswordStorage.SETTINGS and config.password is not None:
            entry["password"] = config.password.get_secret_value()
        entries = self._entries()
        index = next((i for i, old in enumerate(entries) if old.get("id") == config.id), None)
        if index is None:
            entries.append(entry)
        else:
            entries[index] = entry
        self._write(entries)
        return storage

    def remove(self, connection_id: str) -> None:
        """Forget the profile and its password, wherever it was kept."""
        self._write([entry for entry in self._entries() if entry.get("id") != connection_id])
        self._session_passwords.pop(connection_id, None)
        self._forget_in_keyring(connection_id)

    def _entries(self) -> list[dict[str, Any]]:
        return list(self._settings.load(MqttSettings).connections)

    def _write(self, entries: list[dict[str, Any]]) -> None:
        self._settings.save(MqttSettings(connections=tuple(entries)))

    def _keep_password(self, config: ConnectionConfig) -> PasswordStorage:
        storage = self.password_storage(config.store_password_in_settings)
        password = config.password_text()
        self._session_passwords.pop(config.id, None)
        if storage is PasswordStorage.KEYRING:
            try:
                if password is None:
                    self._forget_in_keyring(config.id)
                else:
                    keyring.set_password(KEYRING_SERVICE, config.id, password)
            except KeyringError as error:
                log.warning("the keyring refused the password of %s: %s", config.name, error)
                storage = PasswordStorage.SESSION
        elif self.keyring_available:
            self._forget_in_keyring(config.id)
        if storage is PasswordStorage.SESSION and password is not None:
            self._session_passwords[config.id] = password
        return storage

    def _recall(self, connection_id: str) -> str | None:
        if connection_id in self._session_passwords:
            return self._session_passwords[connection_id]
        if not self.keyring_available:
            return None
        try:
            password: str | None = keyring.get_password(KEYRING_SERVICE, connection_id)
        except KeyringError as error:
            log.warning("the keyring could not give the password of %s: %s", connection_id, error)
            return None
        return password

    def _forget_in_keyring(self, connection_id: str) -> None:
        if not self.keyring_available:
            return
        try:
            if keyring.get_password(KEYRING_SERVICE, connection_id) is not None:
                keyring.delete_password(KEYRING_SERVICE, connection_id)
        except KeyringError as error:
            log.warning("the keyring could not forget the password of %s: %s", connection_id, error)
