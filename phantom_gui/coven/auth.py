"""Coven tokens (JWTs, on PyJWT): minted for a member, checked on every remote event.

HS256 with the coven's shared secret by default; RS256, PS256, ES256 and EdDSA with key
pairs. Every token names its key (the ``kid`` header) so keys can be rotated: a service
verifies with whichever listed key the token names, and only with its own algorithm, so
``alg=none`` and a public key used as an HMAC secret are refused. A verified access
token is remembered until it expires, so a sender's session costs one signature check.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import jwt
from jwt.algorithms import Algorithm, get_default_algorithms

from phantom_gui.core.errors import BanishmentError
from phantom_gui.coven.claims import Claims, TokenType
from phantom_gui.coven.roles import Role, RoleRights

Key = Any
"""A secret (str or bytes), a PEM text, or a `cryptography` key object."""

SOURCE = "coven.auth"
DEFAULT_KEY_ID = "coven"
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
KEY_PAIR_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "EdDSA"})
MIN_SECRET_BYTES = 32
"""RFC 7518 §3.2: an HS256 key is at least as long as the hash (256 bits)."""
CACHE_SIZE = 4096
"""How many verified access tokens are remembered (the least recently used go first)."""

_WRONG_TYPE = {
    TokenType.ACCESS: "a refresh token cannot carry events: trade it for an access token",
    TokenType.REFRESH: "only a refresh token can buy a new access token",
}


class AuthService:
    """Mints and verifies coven tokens, and says which hub topics their holders may publish.

    With `secret` (HS256 and friends) the secret both signs and verifies. With a key pair
    algorithm, `signing_key` (private) signs and `verification_keys` (public, by key id)
    verify; a service with only verification keys cannot mint. `key_id` names the signing
    key in each token's header; without `verification_keys` the signing key verifies
    under that id.
    """

    def __init__(
        self,
        secret: str | bytes | None = None,
        *,
        algorithm: str = "HS256",
        signing_key: Key | None = None,
        verification_keys: Mapping[str, Key] | None = None,
        key_id: str | None = None,
        issuer: str = "phantom",
        access_ttl_s: float = 3600,
        refresh_ttl_s: float = 7 * 24 * 3600,
        rights: RoleRights | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if algorithm not in HMAC_ALGORITHMS | KEY_PAIR_ALGORITHMS:
            known = ", ".join(sorted(HMAC_ALGORITHMS | KEY_PAIR_ALGORITHMS))
            raise ValueError(f"algorithm {algorithm!r} is not supported (use one of {known})")
        for name, ttl in (("access_ttl_s", access_ttl_s), ("refresh_ttl_s", refresh_ttl_s)):
            if not ttl > 0:
                raise ValueError(f"{name} must be positive, got {ttl!r}")
        self.algorithm = algorithm
        self.key_id = key_id or DEFAULT_KEY_ID
        self.issuer = issuer
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self.rights = rights if rights is not None else RoleRights()
        self._clock = clock
        self._algorithm: Algorithm = get_default_algorithms()[algorithm]
        self._signing_key = self._prepare_signing_key(secret, signing_key)
        keys = verification_keys
        if keys is None:
            keys = {} if self._signing_key is None else {self.key_id: self._public(secret)}
        self._verification_keys: dict[str, Any] = {}
        for kid, key in keys.items():
            self.add_verification_key(kid, key)
        if not self._verification_keys and self._signing_key is None:
            raise ValueError("an AuthService needs a secret, a signing key or verification keys")
        self._verified: OrderedDict[str, Claims] = OrderedDict()

    # -- keys ---------------------------------------------------------------------------

    @property
    def can_mint(self) -> bool:
        """Whether this service holds a secret or signing key (else it only verifies)."""
        return self._signing_key is not None

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of the keys tokens may be verified with."""
        return tuple(self._verification_keys)

    def add_verification_key(self, key_id: str, key: Key) -> None:
        """Accept tokens signed with `key` under `key_id` (a rotation's new or old key)."""
        if not isinstance(key_id, str) or not key_id:
            raise ValueError(f"a key id must be a non-empty string, got {key_id!r}")
        self._verification_keys[key_id] = self._prepare(key, f"verification key {key_id!r}")

    def remove_verification_key(self, key_id: str) -> None:
        """Stop accepting tokens signed under `key_id`, including ones already verified."""
        self._verification_keys.pop(key_id, None)
        for token in [t for t, claims in self._verified.items() if claims.key_id == key_id]:
            del self._verified[token]

    def _prepare_signing_key(self, secret: str | bytes | None, signing_key: Key | None) -> Any:
        if secret is not None and signing_key is not None:
            raise ValueError("give either a secret or a signing key, not both")
        if secret is not None and self.algorithm not in HMAC_ALGORITHMS:
            raise ValueError(
                f"a shared secret signs only HMAC tokens; {self.algorithm} needs a signing key"
            )
        if signing_key is not None and self.algorithm in HMAC_ALGORITHMS:
            raise ValueError(f"{self.algorithm} signs with a shared secret: pass secret=...")
        key = secret if secret is not None else signing_key
        return None if key is None else self._prepare(key, "signing key")

    def _prepare(self, key: Key, what: str) -> Any:
        if self.algorithm in HMAC_ALGORITHMS:
            secret = key.encode() if isinstance(key, str) else key
            if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"the coven {what} must be at least {MIN_SECRET_BYTES} bytes "
                    "(make one with `phantom coven secret --new`)"
                )
        try:
            return self._algorithm.prepare_key(key)
        except (jwt.InvalidKeyError, ValueError, TypeError) as error:
            raise ValueError(f"the {what} is not a usable {self.algorithm} key: {error}") from None

    def _public(self, secret: str | bytes | None) -> Key:
        if secret is not None:
            return secret
        return self._signing_key.public_key()

    # -- minting --------------------------------------------------------------------------

    def generate_token(self, user: Mapping[str, Any], *, ttl_s: float | None = None) -> str:
        """An access token for `user` (a mapping with at least ``name`` and ``role``)."""
        return self._mint(user, TokenType.ACCESS, self.access_ttl_s if ttl_s is None else ttl_s)

    def generate_refresh_token(self, user: Mapping[str, Any], *, ttl_s: float | None = None) -> str:
        """A refresh token for `user`: it buys access tokens and cannot carry events."""
        return self._mint(user, TokenType.REFRESH, self.refresh_ttl_s if ttl_s is None else ttl_s)

    def refresh_token(self, refresh_token: str) -> str:
        """A new access token for the holder of a valid `refresh_token`."""
        claims = self.verify_refresh(refresh_token)
        return self.generate_token({"name": claims.name, "role": claims.role})

    def verify_refresh(self, refresh_token: str) -> Claims:
        """The claims of a valid refresh token; `BanishmentError` saying why it is refused."""
        return self._decode(refresh_token, TokenType.REFRESH)

    def _mint(self, user: Mapping[str, Any], token_type: TokenType, ttl_s: float) -> str:
        if self._signing_key is None:
            raise ValueError(
                "this AuthService only verifies: it was given no secret or signing key"
            )
        name = user.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"user 'name' must be a non-empty string, got {name!r}")
        role = Role.parse(user.get("role"))
        if not ttl_s > 0:
            raise ValueError(f"a token's lifetime must be positive, got {ttl_s!r} s")
        now = self._clock()
        payload = {
            "sub": name,
            "name": name,
            "role": role.value,
            "iat": int(now),
            "exp": int(now + ttl_s),
            "iss": self.issuer,
            "jti": uuid.uuid4().hex,
            "type": token_type.value,
        }
        return jwt.encode(
            payload, self._signing_key, algorithm=self.algorithm, headers={"kid": self.key_id}
        )

    # -- checking -------------------------------------------------------------------------

    def verify(self, token: str) -> Claims:
        """The claims of a valid access token; `BanishmentError` saying why it is refused."""
        claims = self._verified.get(token) if isinstance(token, str) else None
        if claims is not None:
            if self._clock() < claims.expires_at:
                self._verified.move_to_end(token)
                return claims
            del self._verified[token]
        claims = self._decode(token, TokenType.ACCESS)
        self._verified[token] = claims
        if len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def validate_role(self, claims: Claims, role: Role | str) -> bool:
        """Whether the holder of `claims` has at least `role`."""
        return claims.role >= Role.parse(role)

    def may_publish(self, claims: Claims, topic: str) -> bool:
        """Whether the holder of `claims` may publish a remote event on hub `topic`."""
        return self.rights.allows(claims.role, topic)

    def authorize(self, token: str, topic: str) -> Claims:
        """The claims of `token` if its holder may publish on `topic`; else `BanishmentError`."""
        claims = self.verify(token)
        self.check_right(claims, topic)
        return claims

    def check_right(self, claims: Claims, topic: str) -> None:
        """`BanishmentError` unless the holder of (verified) `claims` may publish on `topic`."""
        if not self.may_publish(claims, topic):
            raise BanishmentError(
                f"{claims.name} ({claims.role}) may not publish on {topic!r}: "
                f"the {claims.role} role has no right on that topic",
                source=SOURCE,
            )

    def _decode(self, token: str, expected: TokenType) -> Claims:
        if not isinstance(token, str):
            _refuse(f"a token must be a string, got {type(token).__name__}")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            _refuse(f"the token is malformed ({error})")
        algorithm = header.get("alg")
        if algorithm != self.algorithm:
            unsigned = " (an unsigned token)" if str(algorithm).lower() == "none" else ""
            _refuse(
                f"the token is signed with {algorithm!r}{unsigned}; "
                f"this coven accepts only {self.algorithm}"
            )
        key_id = header.get("kid")
        if not isinstance(key_id, str) or key_id not in self._verification_keys:
            _refuse(f"the token names an unknown key id {key_id!r}")
        try:
            payload = jwt.decode(
                token,
                self._verification_keys[key_id],
                algorithms=[self.algorithm],
                issuer=self.issuer,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidSignatureError:
            _refuse(
                "the token's signature does not match: it was forged or signed with another key"
            )
        except jwt.InvalidIssuerError:
            _refuse(f"the token was not issued by {self.issuer!r}")
        except jwt.MissingRequiredClaimError as error:
            _refuse(f"the token lacks a claim: {error}")
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            _refuse(f"the token is malformed ({error})")
        try:
            claims = Claims.from_payload(payload, key_id)
        except ValueError as error:
            _refuse(f"the token's claims are not valid: {error}")
        if claims.type is not expected:
            _refuse(f"{_WRONG_TYPE[expected]} (this is a {claims.type} token)")
        if self._clock() >= claims.expires_at:
            _refuse(f"the token of {claims.name} has expired")
        return claims


def _refuse(reason: str) -> NoReturn:
    raise BanishmentError(f"coven token refused: {reason}", source=SOURCE)
