"""`CovenService` without a broker: the states it goes through, the failures it explains,
the member's instance id and claims."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.service import CONNECTION_ID, CovenError, CovenService, CovenState
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.service import MqttService
from phantom_gui.mqtt.states import Status, connection_state, state_topic

SECRET = "s" * 40
BROKER = ConnectionConfig(id="cli", name="Broker", host="broker.invalid")


def make(tmp_path: Path, loop: asyncio.AbstractEventLoop, **environ: str) -> CovenService:
    hub = EventHub(loop)
    settings = Settings(tmp_path / "settings.json")
    settings.save(CovenSettings(member_name="attic"))
    mqtt = MqttService(hub, settings, keyring_available=False)
    return CovenService(hub, mqtt, settings, environ=environ)


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("phantom_gui.coven.secret_store.keyring_usable", lambda: False)


def test_without_a_secret_or_a_token_joining_fails_with_the_remedy(
    tmp_path: Path, asyncio_loop: asyncio.AbstractEventLoop
) -> None:
    coven = make(tmp_path, asyncio_loop)
    seen: list[CovenState] = []
    coven.states().subscribe(seen.append)
    with pytest.raises(CovenError, match="no coven secret and no token"):
        asyncio_loop.run_until_complete(coven.join("lab", broker=BROKER))
    assert [state.status for state in seen] == ["left", "joining", "failed"]
    assert "PHANTOM_COVEN_SECRET" in coven.state.reason
    assert coven.claims is None and coven.instance is None

    with pytest.raises(CovenError, match="a token alone cannot join"):
        asyncio_loop.run_until_complete(coven.join("lab", broker=BROKER, token="a.b.c"))


def test_without_a_broker_or_with_a_refused_token_joining_fails(
    tmp_path: Path, asyncio_loop: asyncio.AbstractEventLoop
) -> None:
    coven = make(tmp_path, asyncio_loop, PHANTOM_COVEN_SECRET=SECRET)
    with pytest.raises(CovenError, match="no broker for the coven: give --coven-broker"):
        asyncio_loop.run_until_complete(coven.join("lab"))
    forged = AuthService("f" * 40).generate_token({"name": "attic", "role": "admin"})
    with pytest.raises(CovenError, match=r"own token is refused.*signature does not match"):
        asyncio_loop.run_until_complete(coven.join("lab", broker=BROKER, token=forged))
    with pytest.raises(CovenError, match="coven name"):
        asyncio_loop.run_until_complete(coven.join("a/b", broker=BROKER))
    assert coven.state.status == "failed"


def test_a_member_joins_under_its_name_is_joined_once_connected_and_leaves(
    tmp_path: Path, asyncio_loop: asyncio.AbstractEventLoop
) -> None:
    coven = make(tmp_path, asyncio_loop, PHANTOM_COVEN_SECRET=SECRET)
    seen: list[CovenState] = []
    coven.states().subscribe(seen.append)
    asyncio_loop.run_until_complete(coven.join("lab", broker=BROKER, role="moderator"))
    assert coven.state == CovenState("joining", "lab")
    assert coven.instance is not None and re.fullmatch(r"attic-[0-9a-f]{8}", coven.instance)
    assert coven.claims is not None
    assert (coven.claims.name, coven.claims.role) == ("attic", "moderator")
    assert SECRET not in repr(coven.claims)
    config = coven._mqtt.config(CONNECTION_ID)
    session = coven._settings.load(CovenSettings).session
    assert session is not None and config.client_id == f"phantom-attic-{session}"
    assert not config.clean_session, "the broker keeps what is sent while it is away"
    assert config.will is not None
    with pytest.raises(CovenError, match="already in coven 'lab'"):
        asyncio_loop.run_until_complete(coven.join("other", broker=BROKER))

    hub = coven._hub
    connected = connection_state(config, Status.CONNECTED)
    hub.publish(state_topic(CONNECTION_ID), connected, source="test")
    assert coven.state == CovenState("joined", "lab")
    asyncio_loop.run_until_complete(coven.leave())
    assert coven.state == CovenState("left") and coven.bridge is None
    assert not coven._mqtt.has(CONNECTION_ID)
    assert [state.status for state in seen] == ["left", "joining", "joined", "left"]
