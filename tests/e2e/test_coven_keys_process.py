"""Coven key pairs end to end: `phantom coven keys --new` writes a pair, `phantom coven
token` signs with the private key the settings name, and a member that holds only the
public key (and no secret) joins a real mosquitto with that token."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.coven.service import CONNECTION_ID, CovenService
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.mqtt.service import MqttService

from support.mosquitto import MosquittoBroker

pytestmark = pytest.mark.e2e

PHANTOM = str(Path(sys.executable).with_name("phantom"))
NO_SECRET = {
    **{k: v for k, v in os.environ.items() if k != "PHANTOM_COVEN_SECRET"},
    "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
}
JOIN_TIMEOUT_S = 15.0


def _phantom(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PHANTOM, "coven", *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env=NO_SECRET,
    )


async def _joined(coven: CovenService) -> str:
    while coven.state.status not in ("joined", "failed"):
        await asyncio.sleep(0.05)
    return coven.state.status


def test_a_token_signed_with_the_private_key_lets_a_public_key_member_join(
    mosquitto: MosquittoBroker, tmp_path: Path, asyncio_loop: asyncio.AbstractEventLoop
) -> None:
    admin = tmp_path / "admin"
    keys = tmp_path / "keys"
    made = _phantom(
        admin, "keys", "--new", "--kid", "k2", "--algorithm", "EdDSA", "--out", str(keys)
    )
    assert made.returncode == 0, made.stderr
    private, public = keys / "k2.pem", keys / "k2.pub.pem"
    assert str(private) in made.stdout and str(public) in made.stdout
    assert stat.S_IMODE(private.stat().st_mode) == 0o600

    unsigned = _phantom(admin, "token", "--role", "user", "--name", "cellar")
    assert unsigned.returncode == 2 and "no coven secret" in unsigned.stderr
    Settings(admin / "settings.json").save(
        CovenSettings(algorithm="EdDSA", key_id="k2", private_key_file=private)
    )
    minted = _phantom(admin, "token", "--role", "moderator", "--name", "cellar")
    assert minted.returncode == 0, minted.stderr
    assert f"signed with the private key {private}" in minted.stderr
    token = minted.stdout.strip()

    member = Settings(tmp_path / "member" / "settings.json")
    member.save(CovenSettings(algorithm="EdDSA", verification_keys={"k2": public}))
    hub = EventHub(asyncio_loop)
    mqtt = MqttService(hub, member, keyring_available=False)
    coven = CovenService(hub, mqtt, member, environ={})
    try:
        asyncio_loop.run_until_complete(coven.join("lab", broker=mosquitto.config(), token=token))
        mqtt.connect(CONNECTION_ID)
        status = asyncio_loop.run_until_complete(asyncio.wait_for(_joined(coven), JOIN_TIMEOUT_S))
        assert status == "joined", coven.state.reason
        assert coven.claims is not None
        assert (coven.claims.name, coven.claims.role, coven.claims.key_id) == (
            "cellar",
            "moderator",
            "k2",
        )
    finally:
        asyncio_loop.run_until_complete(coven.leave())
        asyncio_loop.run_until_complete(mqtt.stop())
