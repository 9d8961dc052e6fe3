"""`phantom coven secret` and `phantom coven token` as real processes: the minted tokens
verify with the coven secret and carry the role asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phantom_gui.core.errors import BanishmentError
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.roles import Role

PHANTOM = str(Path(sys.executable).with_name("phantom"))
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

pytestmark = pytest.mark.e2e


def _phantom(
    data: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "PHANTOM_COVEN_SECRET"}
    environment = {**inherited, **NO_KEYRING, **(env or {})}
    return subprocess.run(
        [PHANTOM, "coven", *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        input=stdin,
    )


def test_a_new_secret_mints_tokens_that_verify_with_it(tmp_path: Path) -> None:
    assert _phantom(tmp_path, "token", "--role", "user", "--name", "a").returncode == 2

    refused = _phantom(tmp_path, "secret", "--new")
    assert refused.returncode == 2 and "--in-settings" in refused.stderr

    made = _phantom(tmp_path, "secret", "--new", "--in-settings")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert _phantom(tmp_path, "secret").stdout.strip() == "coven secret from the settings"

    minted = _phantom(tmp_path, "token", "--role", "moderator", "--name", "morgana")
    assert minted.returncode == 0, minted.stderr
    assert "morgana (moderator)" in minted.stderr and secret not in minted.stderr
    claims = AuthService(secret).verify(minted.stdout.strip())
    assert (claims.name, claims.role) == ("morgana", Role.MODERATOR)
    with pytest.raises(BanishmentError, match="signature does not match"):
        AuthService("x" * 40).verify(minted.stdout.strip())


def test_the_environment_secret_signs_refresh_tokens(tmp_path: Path) -> None:
    secret = "a secret handed over in the environment"
    env = {"PHANTOM_COVEN_SECRET": secret}
    minted = _phantom(tmp_path, "token", "--role", "admin", "--name", "root", "--refresh", env=env)
    assert minted.returncode == 0, minted.stderr
    service = AuthService(secret)
    access = service.refresh_token(minted.stdout.strip())
    assert service.verify(access).role is Role.ADMIN

    wrong = _phantom(tmp_path, "token", "--role", "wizard", "--name", "x", env=env)
    assert wrong.returncode == 2 and "unknown role 'wizard'" in wrong.stderr


def test_a_secret_set_from_stdin_is_kept_and_a_short_one_refused(tmp_path: Path) -> None:
    short = _phantom(tmp_path, "secret", "--set", "--in-settings", stdin="short\n")
    assert short.returncode == 2 and "at least 32 bytes" in short.stderr
    secret = "the secret another member gave us, long enough"
    kept = _phantom(tmp_path, "secret", "--set", "--in-settings", stdin=f"{secret}\n")
    assert kept.returncode == 0, kept.stderr
    minted = _phantom(tmp_path, "token", "--role", "user", "--name", "u", "--ttl", "30")
    claims = AuthService(secret).verify(minted.stdout.strip())
    assert claims.expires_at - claims.issued_at == 30
