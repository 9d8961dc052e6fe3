"""Coven key pairs from the settings: key files written and read, the services the settings
build from them, rotation by listing key ids, and files that cannot serve named."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from phantom_gui.core.errors import BanishmentError
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.coven.keyfiles import read_key, write_key_pair
from phantom_gui.coven.service import CovenError, CovenService
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.service import MqttService

BROKER = ConnectionConfig(id="cli", name="Broker", host="broker.invalid")
MEMBER = {"name": "attic", "role": "moderator"}


def signer(directory: Path, key_id: str, algorithm: str = "EdDSA") -> CovenSettings:
    private, _ = write_key_pair(directory, key_id, algorithm)
    return CovenSettings(algorithm=algorithm, key_id=key_id, private_key_file=private)


def verifier(directory: Path, *key_ids: str, algorithm: str = "EdDSA") -> CovenSettings:
    keys = {key_id: directory / f"{key_id}.pub.pem" for key_id in key_ids}
    return CovenSettings(algorithm=algorithm, verification_keys=keys)


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256", "PS256"])
def test_a_member_with_only_the_public_key_verifies_what_the_private_key_signs(
    tmp_path: Path, algorithm: str
) -> None:
    token = signer(tmp_path, "k1", algorithm).auth_service().generate_token(MEMBER)
    member = verifier(tmp_path, "k1", algorithm=algorithm).auth_service()
    assert not member.can_mint
    claims = member.verify(token)
    assert (claims.name, claims.role, claims.key_id) == ("attic", "moderator", "k1")
    with pytest.raises(ValueError, match="only verifies"):
        member.generate_token(MEMBER)
    forged = signer(tmp_path / "other", "k1", algorithm).auth_service().generate_token(MEMBER)
    with pytest.raises(BanishmentError, match="signature does not match"):
        member.verify(forged)


def test_the_private_key_is_its_owners_alone_and_never_overwritten(tmp_path: Path) -> None:
    private, public = write_key_pair(tmp_path / "keys", "k1", "EdDSA")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.name == "k1.pub.pem" and b"PUBLIC KEY" in public.read_bytes()
    with pytest.raises(FileExistsError, match=r"k1\.pem exists already"):
        write_key_pair(tmp_path / "keys", "k1", "EdDSA")
    with pytest.raises(ValueError, match="does not use key pairs"):
        write_key_pair(tmp_path, "k2", "HS256")


def test_listing_two_key_ids_verifies_both_and_dropping_one_refuses_its_tokens(
    tmp_path: Path,
) -> None:
    old = signer(tmp_path, "old").auth_service().generate_token(MEMBER)
    new = signer(tmp_path, "new").auth_service().generate_token(MEMBER)
    both = verifier(tmp_path, "old", "new").auth_service()
    assert {both.verify(old).key_id, both.verify(new).key_id} == {"old", "new"}
    rotated = verifier(tmp_path, "new").auth_service()
    assert rotated.verify(new).key_id == "new"
    with pytest.raises(BanishmentError, match="unknown key id 'old'"):
        rotated.verify(old)


def test_a_signer_listing_verification_keys_signs_under_its_key_id(tmp_path: Path) -> None:
    settings = signer(tmp_path, "new")
    write_key_pair(tmp_path, "old", "EdDSA")
    keys = {"old": tmp_path / "old.pub.pem", "new": tmp_path / "new.pub.pem"}
    service = settings.model_copy(update={"verification_keys": keys}).auth_service()
    assert service.verify(service.generate_token(MEMBER)).key_id == "new"
    assert service.key_ids == ("old", "new")


def test_key_files_that_cannot_serve_are_named(tmp_path: Path) -> None:
    write_key_pair(tmp_path, "ed", "EdDSA")
    write_key_pair(tmp_path, "rsa", "RS256")
    (tmp_path / "junk.pem").write_text("not a key\n")
    cases = [
        (verifier(tmp_path, "missing"), r"cannot read the coven public key .*missing\.pub\.pem"),
        (
            CovenSettings(algorithm="EdDSA", verification_keys={"j": tmp_path / "junk.pem"}),
            r"junk\.pem is not an unencrypted PEM public key",
        ),
        (
            verifier(tmp_path, "rsa"),
            r"rsa\.pub\.pem holds a key of type RSAPublicKey; EdDSA needs an Ed25519",
        ),
        (
            CovenSettings(algorithm="ES256", private_key_file=tmp_path / "ed.pem"),
            r"ed\.pem holds a key of type Ed25519PrivateKey; ES256 needs an elliptic curve private",
        ),
        (
            CovenSettings(algorithm="EdDSA", verification_keys={"ed": tmp_path / "ed.pem"}),
            r"ed\.pem is not an unencrypted PEM public key",
        ),
    ]
    for settings, message in cases:
        with pytest.raises(ValueError, match=message):
            settings.auth_service()


def test_the_settings_say_what_key_or_secret_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="HS256 tokens need the coven secret"):
        CovenSettings().auth_service()
    with pytest.raises(ValueError, match="name no key: set private_key_file"):
        CovenSettings(algorithm="EdDSA").auth_service()
    with pytest.raises(ValueError, match="not the shared secret"):
        signer(tmp_path, "k1").auth_service("s" * 40)


def test_key_files_survive_the_settings_file(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    saved = signer(tmp_path, "k1").model_copy(
        update={"verification_keys": {"k1": tmp_path / "k1.pub.pem"}}
    )
    settings.save(saved)
    reread = Settings(settings.path).load(CovenSettings)
    assert reread.private_key_file == tmp_path / "k1.pem"
    assert reread.verification_keys == {"k1": tmp_path / "k1.pub.pem"}
    assert read_key(tmp_path / "k1.pub.pem", "EdDSA", private=False) is not None


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("phantom_gui.coven.secret_store.keyring_usable", lambda: False)


def test_a_verifying_member_joins_with_a_token_and_no_secret(
    tmp_path: Path, asyncio_loop: asyncio.AbstractEventLoop
) -> None:
    token = signer(tmp_path, "k1").auth_service().generate_token(MEMBER)
    hub = EventHub(asyncio_loop)
    settings = Settings(tmp_path / "settings.json")
    settings.save(verifier(tmp_path, "k1").model_copy(update={"member_name": "attic"}))
    mqtt = MqttService(hub, settings, keyring_available=False)
    coven = CovenService(hub, mqtt, settings, environ={})
    with pytest.raises(CovenError, match=r"only verifies EdDSA tokens.*--coven-token"):
        asyncio_loop.run_until_complete(coven.join("lab", broker=BROKER))
    asyncio_loop.run_until_complete(coven.join("lab", broker=BROKER, token=token))
    assert coven.claims is not None and coven.claims.key_id == "k1"
    asyncio_loop.run_until_complete(coven.leave())
    asyncio_loop.run_until_complete(mqtt.stop())
