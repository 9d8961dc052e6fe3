"""The coven's settings section: how this instance joins (its name, presence role, shares
and broker), how tokens are signed and what each role may publish."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field, SecretStr, field_serializer, field_validator

from phantom_gui.core.settings import SettingsModel
from phantom_gui.core.topics import validate_pattern
from phantom_gui.coven.auth import DEFAULT_KEY_ID, KEY_PAIR_ALGORITHMS, AuthService, Key
from phantom_gui.coven.keyfiles import read_key
from phantom_gui.coven.roles import RoleRights
from phantom_gui.coven.topics import validate_level

DEFAULT_SHARES = ("cauldron/evolution/#", "cauldron/brew/#", "chat/#", "coven/broadcast")
"""What an instance shares with its coven unless told otherwise."""


class CovenSettings(SettingsModel):
    """How this instance joins a coven, signs and checks its tokens, and what each role
    may publish."""

    SECTION = "coven"

    member_name: str | None = None
    """The name this instance joins under (its tokens' name); None: the host name."""
    role: str = "desktop"
    """What this instance is for, as its presence says: ``desktop``, ``worker``..."""
    shares: tuple[str, ...] = DEFAULT_SHARES
    """The hub topic patterns sent to the coven."""
    broker: str | None = None
    """The coven's broker, ``mqtt[s]://host[:port]``; None: the ``--broker`` one."""
    session: str | None = None
    """Made on the first join: the stable part of this instance's MQTT client id in the
    coven, so that the broker keeps its subscription and the events meant for it while it
    is away or the broker restarts (a persistent session)."""

    algorithm: str = "HS256"
    """HS256 (the shared secret), or a key pair algorithm: RS256, PS256, ES256, EdDSA..."""
    key_id: str = DEFAULT_KEY_ID
    """The id of the key this instance signs with (the ``kid`` of its tokens)."""
    private_key_file: Path | None = None
    """The PEM private key that signs tokens (key pairs; only members that mint need it)."""
    verification_keys: dict[str, Path] = Field(default_factory=dict)
    """The PEM public keys tokens are verified with, by key id (key pairs); none: the
    private key's own public key, under `key_id`."""
    issuer: str = "phantom"
    access_ttl_s: float = 3600
    refresh_ttl_s: float = 7 * 24 * 3600
    rights: RoleRights = RoleRights()
    secret: SecretStr | None = None
    """The shared secret, only when the user chose to keep it in the settings file."""

    @field_validator("member_name")
    @classmethod
    def _valid_name(cls, name: str | None) -> str | None:
        return None if name is None else validate_level(name, "member name")

    @field_validator("shares")
    @classmethod
    def _valid_shares(cls, shares: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in shares:
            validate_pattern(pattern)
        return shares

    @field_validator("verification_keys")
    @classmethod
    def _valid_key_ids(cls, keys: dict[str, Path]) -> dict[str, Path]:
        for key_id in keys:
            if not key_id:
                raise ValueError("a verification key's id must not be empty")
        return keys

    @property
    def uses_key_pairs(self) -> bool:
        """Whether tokens are signed with a private key rather than the shared secret."""
        return self.algorithm in KEY_PAIR_ALGORITHMS

    @property
    def own_name(self) -> str:
        """The member name, or this host's name when none is set."""
        return self.member_name or validate_level(socket.gethostname(), "host name")

    @field_serializer("secret")
    def _plain_secret(self, secret: SecretStr | None) -> str | None:
        return None if secret is None else secret.get_secret_value()

    def auth_service(self, secret: str | None = None) -> AuthService:
        """The service that signs and verifies under these settings: with the shared
        `secret` (HMAC), or with the key files (key pairs; no secret). `ValueError` naming
        what is missing, or the key file that cannot be read or does not fit."""
        if not self.uses_key_pairs:
            if secret is None:
                raise ValueError(f"{self.algorithm} tokens need the coven secret")
            return self._service(secret)
        if secret is not None:
            raise ValueError(
                f"{self.algorithm} signs with a private key, not the shared secret: "
                "name the key files in the coven settings"
            )
        if self.private_key_file is None and not self.verification_keys:
            raise ValueError(
                f"the coven settings choose {self.algorithm} but name no key: set "
                "private_key_file (to sign) or verification_keys (to verify)"
            )
        signing_key = None
        if self.private_key_file is not None:
            signing_key = read_key(self.private_key_file, self.algorithm, private=True)
        verification_keys = {
            key_id: read_key(path, self.algorithm, private=False)
            for key_id, path in self.verification_keys.items()
        }
        return self._service(
            None, signing_key=signing_key, verification_keys=verification_keys or None
        )

    def _service(
        self,
        secret: str | None,
        *,
        signing_key: Key | None = None,
        verification_keys: dict[str, Key] | None = None,
    ) -> AuthService:
        return AuthService(
            secret,
            algorithm=self.algorithm,
            key_id=self.key_id,
            issuer=self.issuer,
            access_ttl_s=self.access_ttl_s,
            refresh_ttl_s=self.refresh_ttl_s,
            rights=self.rights,
            signing_key=signing_key,
            verification_keys=verification_keys,
        )
