"""What a verified coven token says: its holder, role, lifetime and key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from phantom_gui.coven.roles import Role


class TokenType(StrEnum):
    """An access token goes with events; a refresh token only buys new access tokens."""

    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class Claims:
    """The checked contents of a token (never the token or its key)."""

    name: str
    role: Role
    issued_at: float
    expires_at: float
    token_id: str
    key_id: str
    issuer: str
    type: TokenType = TokenType.ACCESS

    @classmethod
    def from_payload(cls, payload: dict[str, Any], key_id: str) -> Claims:
        """The claims of a decoded payload; `ValueError` naming the claim that is wrong."""
        return cls(
            name=_text(payload, "sub"),
            role=Role.parse(payload.get("role")),
            issued_at=_number(payload, "iat"),
            expires_at=_number(payload, "exp"),
            token_id=_text(payload, "jti"),
            key_id=key_id,
            issuer=_text(payload, "iss"),
            type=_token_type(payload.get("type")),
        )


def _text(payload: dict[str, Any], claim: str) -> str:
    value = payload.get(claim)
    if not isinstance(value, str) or not value:
        raise ValueError(f"claim {claim!r} must be a non-empty string, got {value!r}")
    return value


def _number(payload: dict[str, Any], claim: str) -> float:
    value = payload.get(claim)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"claim {claim!r} must be a number, got {value!r}")
    return float(value)


def _token_type(value: Any) -> TokenType:
    try:
        return TokenType(value)
    except ValueError:
        raise ValueError(f"claim 'type' must be 'access' or 'refresh', got {value!r}") from None
