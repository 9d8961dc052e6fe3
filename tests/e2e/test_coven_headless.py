"""Joining a coven from real `phantom --headless` processes on a real mosquitto: members
see each other, hear a `phantom coven broadcast`, see a member killed with -9 go offline,
the coven's envelopes never reach the Cauldron's parser, and `--coven` without a secret
fails clearly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.core.settings import Settings
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.plugins.host_settings import PluginHostSettings

from support.headless import exported, recorded, start_headless, stop, wait_for
from support.mosquitto import MosquittoBroker

pytestmark = pytest.mark.e2e

PHANTOM = str(Path(sys.executable).with_name("phantom"))
SECRET = "a-coven-secret-of-forty-bytes-or-more!!"
ENV = {
    "PHANTOM_COVEN_SECRET": SECRET,
    "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
}


def member_data(root: Path, name: str) -> Path:
    data = root / name
    data.mkdir()
    settings = Settings(data / "settings.json")
    settings.save(CovenSettings(member_name=name, role="worker"))
    settings.save(PluginHostSettings(active=("phantom_cauldron",)))
    return data


def logged(data: Path, *texts: str) -> int:
    """Lines of `data`'s log whose message holds every one of `texts`."""
    log = data / "logs" / "phantom.log.jsonl"
    if not log.exists():
        return 0
    messages = [json.loads(line).get("message", "") for line in log.read_text().splitlines()]
    return sum(all(text in message for text in texts) for message in messages)


def members_seen(data: Path) -> list[dict[str, Any]]:
    return [r["data"] for r in exported(data) if r["topic"] == "coven/member"]


def test_headless_members_see_each_other_hear_a_broadcast_and_see_a_kill(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    url = f"mqtt://{mosquitto.host}:{mosquitto.port}"
    attic, cellar = member_data(tmp_path, "attic"), member_data(tmp_path, "cellar")
    options = ("--coven", "lab", "--coven-broker", url)
    first = start_headless(attic, *options, env=ENV)
    second = start_headless(cellar, *options, env=ENV)
    try:
        wait_for(lambda: logged(attic, "(cellar, worker") >= 1, first, "cellar seen")
        wait_for(lambda: logged(cellar, "(attic, worker") >= 1, second, "attic seen")
        sender = tmp_path / "sender"
        sender.mkdir()
        Settings(sender / "settings.json").save(CovenSettings(member_name="bell"))
        sent = subprocess.run(
            [
                PHANTOM,
                "coven",
                "broadcast",
                "boo",
                "--coven",
                "lab",
                "--coven-broker",
                url,
                "--data-dir",
                str(sender),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **ENV},
        )
        assert sent.returncode == 0, sent.stderr
        wait_for(lambda: recorded(attic, "topic", "coven/broadcast") >= 1, first, "heard")
        wait_for(lambda: recorded(cellar, "topic", "coven/broadcast") >= 1, second, "heard")
        assert (
            logged(attic, "broadcast from bell-cli")
            == logged(cellar, "broadcast from bell-cli")
            == 1
        )
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        wait_for(
            lambda: logged(attic, "(cellar, worker", "is offline") >= 1,
            first,
            "the killed member offline",
        )
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(10)
        stop(first)
    [heard] = [r["data"] for r in exported(attic) if r["topic"] == "coven/broadcast"]
    assert heard == {"message": "boo", "from": "bell-cli"}
    states = [(m["name"], m["state"]) for m in members_seen(attic)]
    assert ("cellar", "online") in states and ("cellar", "offline") in states
    assert ("bell-cli", "offline") in states, "the broadcaster left cleanly"
    records = exported(attic)
    assert not [r for r in records if r["topic"] == "cauldron/parser/problem"]
    cauldron = [r for r in records if (r["topic"] or "").startswith("cauldron/")]
    assert not [r for r in cauldron if "phantom/coven" in json.dumps(r["data"])], "not sensors"


def test_joining_without_a_secret_or_a_token_fails_with_the_remedy(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    data = tmp_path / "lonely"
    data.mkdir()
    url = f"mqtt://{mosquitto.host}:{mosquitto.port}"
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "PHANTOM_COVEN_SECRET": ""}
    process = start_headless(data, "--coven", "lab", "--coven-broker", url, env=env)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "could not join the coven 'lab': there is no coven secret and no token" in err
    assert "PHANTOM_COVEN_SECRET" in err
