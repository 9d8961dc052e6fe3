"""The coven's settings section: how tokens are signed and what each role may publish."""

from __future__ import annotations

from pydantic import SecretStr, field_serializer

from phantom_gui.core.settings import SettingsModel
from phantom_gui.coven.auth import DEFAULT_KEY_ID, AuthService
from phantom_gui.coven.roles import RoleRights


class CovenSettings(SettingsModel):
    """How this instance signs and checks coven tokens, and what each role may publish."""

    SECTION = "coven"

    algorithm: str = "HS256"
    key_id: str = DEFAULT_KEY_ID
    issuer: str = "phantom"
    access_ttl_s: float = 3600
    refresh_ttl_s: float = 7 * 24 * 3600
    rights: RoleRights = RoleRights()
    secret: SecretStr | None = None
    """The shared secret, only when the user chose to keep it in the settings file."""

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
