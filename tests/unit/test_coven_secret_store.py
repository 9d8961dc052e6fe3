"""Where the coven secret is found and kept: environment, keyring, settings file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phantom_gui.core.settings import Settings
from phantom_gui.coven.roles import Role
from phantom_gui.coven.secret_store import (
    KEYRING_SERVICE,
    KEYRING_USER,
    SECRET_VARIABLE,
    SecretOrigin,
    SecretStore,
    new_secret,
)
from phantom_gui.coven.settings import CovenSettings

SECRET = "a coven secret long enough for HS256!"


def test_the_keyring_keeps_the_secret_out_of_the_settings_file(
    tmp_path: Path, memory_keyring: Any
) -> None:
    settings = Settings(tmp_path / "settings.json")
    store = SecretStore(settings, environ={})
    assert store.find() is None
    assert store.keep(SECRET, in_settings=True) is SecretOrigin.SETTINGS
    assert store.keep(SECRET) is SecretOrigin.KEYRING
    assert memory_keyring.passwords[(KEYRING_SERVICE, KEYRING_USER)] == SECRET
    assert SECRET not in settings.path.read_text()
    found = store.find()
    assert found is not None and found.origin is SecretOrigin.KEYRING
    assert found.value.get_secret_value() == SECRET and SECRET not in repr(found)


def test_the_environment_wins_and_without_keyring_only_settings_keep_it(
    tmp_path: Path, no_keyring: None
) -> None:
    settings = Settings(tmp_path / "settings.json")
    store = SecretStore(settings, environ={SECRET_VARIABLE: "from the environment"})
    with pytest.raises(RuntimeError, match="no usable system keyring"):
        store.keep(SECRET)
    with pytest.raises(ValueError, match="at least 32 bytes, got 5"):
        store.keep("short", in_settings=True)
    store.keep(SECRET, in_settings=True)
    found = store.find()
    assert found is not None and found.origin is SecretOrigin.ENVIRONMENT
    reread = SecretStore(Settings(settings.path), environ={}).find()
    assert reread is not None and reread.value.get_secret_value() == SECRET


def test_settings_build_the_service_with_their_rights(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    settings.write_section("coven", {"key_id": "2026", "rights": {"user": ["chat/#", "ouija/#"]}})
    service = settings.load(CovenSettings).auth_service(new_secret())
    claims = service.verify(service.generate_token({"name": "u", "role": Role.USER}))
    assert claims.key_id == "2026"
    assert service.may_publish(claims, "ouija/board") and not service.may_publish(claims, "x")
