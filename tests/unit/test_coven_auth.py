"""Coven tokens: minting, verifying, the refusals an attacker meets, roles and rights."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from phantom_gui.core.errors import BanishmentError
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.claims import TokenType
from phantom_gui.coven.roles import Role, RoleRights

SECRET = "a coven secret long enough for HS256!"
OTHER_SECRET = "another coven's secret, also long enough"
ALICE = {"name": "alice", "role": "user"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unverified(token: str) -> dict[str, Any]:
    """A token's payload, read without checking it."""
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


def refused(service: AuthService, token: str, reason: str) -> None:
    with pytest.raises(BanishmentError, match=reason) as caught:
        service.verify(token)
    assert caught.value.source == "coven.auth"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_token_round_trips_with_its_claims() -> None:
    clock = Clock()
    service = AuthService(SECRET, clock=clock)
    claims = service.verify(service.generate_token({"name": "alice", "role": "moderator"}))
    assert (claims.name, claims.role, claims.type) == ("alice", Role.MODERATOR, TokenType.ACCESS)
    assert claims.expires_at == int(clock.now + 3600)
    assert claims.key_id == "coven" and claims.issuer == "phantom" and claims.token_id


def test_a_forged_signature_is_refused() -> None:
    service = AuthService(SECRET)
    forged = AuthService(OTHER_SECRET).generate_token({"name": "mallory", "role": "admin"})
    refused(service, forged, "signature does not match")
    genuine = service.generate_token(ALICE)
    header, _, signature = genuine.split(".")
    promoted = b64({**unverified(genuine), "role": "admin"})
    refused(service, f"{header}.{promoted}.{signature}", "signature does not match")


def test_an_expired_token_is_refused_even_once_cached() -> None:
    clock = Clock()
    service = AuthService(SECRET, clock=clock, access_ttl_s=60)
    token = service.generate_token(ALICE)
    service.verify(token)
    clock.now += 59
    assert service.verify(token).name == "alice"
    clock.now += 1
    refused(service, token, "has expired")
    assert service.verify(service.generate_token(ALICE, ttl_s=10)).name == "alice"


def test_an_unsigned_alg_none_token_is_refused() -> None:
    service = AuthService(SECRET)
    genuine = unverified(service.generate_token(ALICE))
    payload = b64({**genuine, "role": "admin"})
    for alg in ("none", "None", "NONE"):
        token = f"{b64({'alg': alg, 'typ': 'JWT', 'kid': 'coven'})}.{payload}."
        refused(service, token, "unsigned token")


def test_an_hmac_token_signed_with_the_public_key_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    service = AuthService(algorithm="RS256", signing_key=rsa_key)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    genuine = unverified(service.generate_token(ALICE))
    header = b64({"alg": "HS256", "typ": "JWT", "kid": "coven"})
    payload = b64({**genuine, "role": "admin"})
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    refused(service, token, "signed with 'HS256'; this coven accepts only RS256")
    assert service.verify(service.generate_token(ALICE)).name == "alice"


def test_eddsa_key_pairs_sign_and_a_verify_only_service_cannot_mint() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    signer = AuthService(algorithm="EdDSA", signing_key=private, key_id="2026")
    verifier = AuthService(algorithm="EdDSA", verification_keys={"2026": private.public_key()})
    assert verifier.verify(signer.generate_token(ALICE)).key_id == "2026"
    with pytest.raises(ValueError, match="only verifies"):
        verifier.generate_token(ALICE)


def test_an_unknown_key_id_is_refused() -> None:
    service = AuthService(SECRET, key_id="k1")
    stranger = AuthService(SECRET, key_id="k9")
    refused(service, stranger.generate_token(ALICE), "unknown key id 'k9'")


def test_rotation_keeps_an_old_key_valid_while_it_is_listed() -> None:
    old_key, new_key = SECRET, OTHER_SECRET
    old = AuthService(old_key, key_id="2025")
    new = AuthService(new_key, key_id="2026", verification_keys={"2026": new_key, "2025": old_key})
    old_token = old.generate_token(ALICE)
    assert new.verify(old_token).key_id == "2025"
    assert new.verify(new.generate_token(ALICE)).key_id == "2026"
    new.remove_verification_key("2025")
    refused(new, old_token, "unknown key id '2025'")
    assert new.key_ids == ("2026",)


def test_the_wrong_issuer_is_refused() -> None:
    token = AuthService(SECRET, issuer="elsewhere").generate_token(ALICE)
    refused(AuthService(SECRET), token, "not issued by 'phantom'")


def test_a_refresh_token_cannot_carry_events_but_buys_access_tokens() -> None:
    clock = Clock()
    service = AuthService(SECRET, clock=clock, access_ttl_s=60)
    refresh = service.generate_refresh_token({"name": "bob", "role": "moderator"})
    refused(service, refresh, "refresh token cannot carry events")
    clock.now += 3600
    claims = service.verify(service.refresh_token(refresh))
    assert (claims.name, claims.role, claims.expires_at) == ("bob", Role.MODERATOR, clock.now + 60)
    with pytest.raises(BanishmentError, match="only a refresh token"):
        service.refresh_token(service.generate_token(ALICE))


def test_an_unknown_role_is_refused_and_never_minted() -> None:
    service = AuthService(SECRET)
    with pytest.raises(ValueError, match="unknown role 'wizard'"):
        service.generate_token({"name": "alice", "role": "wizard"})
    payload = unverified(service.generate_token(ALICE))
    token = jwt.encode({**payload, "role": "wizard"}, SECRET, headers={"kid": "coven"})
    refused(service, token, "unknown role 'wizard'")


def test_roles_are_ordered_and_validate_role_means_at_least() -> None:
    assert Role.USER < Role.MODERATOR < Role.ADMIN
    service = AuthService(SECRET)
    moderator = service.verify(service.generate_token({"name": "m", "role": "moderator"}))
    assert service.validate_role(moderator, "user")
    assert service.validate_role(moderator, Role.MODERATOR)
    assert not service.validate_role(moderator, Role.ADMIN)


def test_a_user_publishing_on_an_admin_only_topic_is_refused() -> None:
    service = AuthService(SECRET)
    user = service.generate_token(ALICE)
    admin = service.generate_token({"name": "root", "role": "admin"})
    assert service.authorize(user, "cauldron/reading/cellar").name == "alice"
    with pytest.raises(BanishmentError, match="alice \\(user\\) may not publish on 'app/stopping'"):
        service.authorize(user, "app/stopping")
    with pytest.raises(BanishmentError, match="may not publish on 'cauldron/brew/start'"):
        service.authorize(user, "cauldron/brew/start")
    assert service.authorize(admin, "app/stopping").role is Role.ADMIN


@pytest.mark.parametrize(
    "topic", ["cauldron/evolution/request", "cauldron/evolution/r1/generation"]
)
def test_a_user_may_publish_evolutions_but_not_brews_or_faults(topic: str) -> None:
    rights = RoleRights()
    assert rights.allows(Role.USER, topic)
    for moderators in ("cauldron/brew/start", "cauldron/simulator/fault", "coven/broadcast"):
        assert not rights.allows(Role.USER, moderators)
        assert rights.allows(Role.MODERATOR, moderators)


def test_rights_are_configurable_and_add_up() -> None:
    rights = RoleRights(user=("chat/#",), moderator=("cauldron/+/evolution",), admin=())
    service = AuthService(SECRET, rights=rights)
    admin = service.verify(service.generate_token({"name": "root", "role": "admin"}))
    assert service.may_publish(admin, "chat/room")
    assert service.may_publish(admin, "cauldron/x/evolution")
    assert not service.may_publish(admin, "seance/speech/alice")
    with pytest.raises(ValueError, match="'#' must be the whole last level"):
        RoleRights(user=("chat/#/x",))


def test_bad_configuration_is_reported_by_name() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        AuthService("short")
    with pytest.raises(ValueError, match="'none' is not supported"):
        AuthService(SECRET, algorithm="none")
    with pytest.raises(ValueError, match="needs a signing key"):
        AuthService(SECRET, algorithm="RS256")
    with pytest.raises(ValueError, match="not a usable RS256 key"):
        AuthService(algorithm="RS256", signing_key="not a pem")
    with pytest.raises(ValueError, match="user 'name'"):
        AuthService(SECRET).generate_token({"role": "user"})


def test_malformed_tokens_are_refused() -> None:
    service = AuthService(SECRET)
    for token in ("", "abc", "a.b.c", "..", f"{b64({'alg': 'HS256', 'kid': 'coven'})}.e30."):
        with pytest.raises(BanishmentError):
            service.verify(token)
    no_expiry = jwt.encode(
        {"sub": "x", "role": "user", "iss": "phantom", "iat": 1, "jti": "j", "type": "access"},
        SECRET,
        headers={"kid": "coven"},
    )
    refused(service, no_expiry, "claim 'exp' must be a number")


def test_verification_is_cached_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    service = AuthService(SECRET)
    token = service.generate_token(ALICE)
    decoded = []
    original = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append(1) or original(*a, **k))
    for _ in range(100):
        service.verify(token)
    assert len(decoded) == 1


@given(st.text() | st.binary().map(lambda b: base64.urlsafe_b64encode(b).decode()))
def test_garbage_never_verifies_and_raises_only_banishment(garbage: str) -> None:
    service = AuthService(SECRET)
    for token in (
        garbage,
        f"{garbage}.{garbage}.{garbage}",
        f"{b64({'alg': 'HS256', 'kid': 'coven'})}.{garbage}.{garbage}",
    ):
        with pytest.raises(BanishmentError):
            service.verify(token)
