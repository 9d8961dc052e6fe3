"""The coven's settings section: how this instance joins (its name, presence role, shares
and broker), how tokens are signed and what each role may publish."""

from __future__ import annotations

import socket

from pydantic import SecretStr, field_serializer, field_validator

from phantom_gui.core.settings import SettingsModel
from phantom_gui.core.topics import validate_pattern
from phantom_gui.coven.auth import DEFAULT_KEY_ID, AuthService
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

    algorithm: str = "HS256"
    key_id: str = DEFAULT_KEY_ID
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

    @property
    def own_name(self) -> str:
        """The member name, or this host's name when none is set."""
        return self.member_name or validate_level(socket.gethostname(), "host name")

    @field_serializer("secret")
    def _plain_secret(self, secret: SecretStr | None) -> str | None:
        return None if secret is None else secret.get_secret_value()

    def auth_service(self, secret: str) -> AuthService:
        """The service that signs and verifies with the shared `secret` under these settings."""
        return AuthService(
            secret,
            algorithm=self.algorithm,
            key_id=self.key_id,
            issuer=self.issuer,
            access_ttl_s=self.access_ttl_s,
            refresh_ttl_s=self.refresh_ttl_s,
            rights=self.rights,
        )
