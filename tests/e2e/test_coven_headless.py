"""Joining a coven from real `phantom --headless` processes on a real mosquitto: members
see each other, hear a `phantom coven broadcast`, see a member killed with -9 go offline,
the coven's envelopes never reach the Cauldron's parser, forged tokens are refused and
audited while the others are still heard, a member flooding 20k events/s is throttled while
a calm member's events keep their latency, and `--coven` without a secret fails clearly."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from phantom_gui.audit.config import CONFIG_NAME, DEFAULT_CONFIG, AuditConfig
from phantom_gui.audit.database import DATABASE_NAME
from phantom_gui.core.settings import Settings
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.envelope import new_envelope, seal
from phantom_gui.coven.limits import LimitSettings
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.coven.topics import events_topic
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


def envelope(source: str, topic: str, bearer: str, sequence: int) -> bytes:
    return seal(
        new_envelope(topic, {"x": sequence}, source=source, sequence=sequence, token=bearer)
    )


def test_a_headless_member_refuses_forgeries_and_still_hears_the_others(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    url = f"mqtt://{mosquitto.host}:{mosquitto.port}"
    attic = member_data(tmp_path, "attic")
    intruder = events_topic("lab", "intruder-1a2b")
    genuine = AuthService(SECRET)
    forgeries = [
        AuthService("f" * 40).generate_token({"name": "intruder", "role": "admin"}),
        AuthService(SECRET, clock=lambda: time.time() - 7200).generate_token(
            {"name": "intruder", "role": "admin"}
        ),
        jwt.encode(
            {"sub": "intruder", "role": "admin", "exp": int(time.time()) + 600}, None, "none"
        ),
    ]
    first = start_headless(attic, "--coven", "lab", "--coven-broker", url, env=ENV)
    try:
        wait_for(lambda: logged(attic, "(attic, worker", "is online") >= 1, first, "joined")
        mosquitto.publish(
            intruder,
            *(
                envelope("intruder-1a2b", "chat/x", bearer, n)
                for n, bearer in enumerate(forgeries, 1)
            ),
            envelope(
                "intruder-1a2b",
                "system/halt",
                genuine.generate_token({"name": "intruder", "role": "user"}),
                4,
            ),
        )
        sender = tmp_path / "sender"
        sender.mkdir()
        Settings(sender / "settings.json").save(CovenSettings(member_name="bell"))
        sent = subprocess.run(
            [PHANTOM, "coven", "broadcast", "still here", "--coven", "lab",
             "--coven-broker", url, "--data-dir", str(sender)],
            capture_output=True, text=True, timeout=60, env={**os.environ, **ENV},
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        wait_for(lambda: recorded(attic, "topic", "coven/broadcast") >= 1, first, "heard")
        wait_for(lambda: recorded(attic, "topic", "coven/refused") >= 4, first, "refusals")
    finally:
        stop(first)
    records = exported(attic)
    refused = [r["data"] for r in records if r["topic"] == "coven/refused"]
    assert all(r["type"] == "security" for r in records if r["topic"] == "coven/refused")
    intruder_kinds = [r["kind"] for r in refused if r["member"] == "intruder-1a2b"]
    assert intruder_kinds == ["token", "token", "token", "forbidden"]
    reasons = " | ".join(r["reason"] for r in refused)
    for expected in ("signature", "expired", "unsigned", "may not publish on 'system/halt'"):
        assert expected in reasons
    [heard] = [r["data"] for r in records if r["topic"] == "coven/broadcast"]
    assert heard["message"] == "still here", "the others' events still arrive"
    assert not any(forged in json.dumps(refused) for forged in forgeries), "no token audited"


def test_a_headless_member_loses_nothing_and_doubles_nothing_across_a_broker_restart(
    make_mosquitto: Any, tmp_path: Path
) -> None:
    store = tmp_path / "broker-store"
    store.mkdir()
    broker = make_mosquitto(settings=["persistence true", f"persistence_location {store}/"])
    url = f"mqtt://{broker.host}:{broker.port}"
    attic = member_data(tmp_path, "attic")
    bearer = AuthService(SECRET).generate_token({"name": "bell", "role": "moderator"})
    sender = Client(CallbackAPIVersion.VERSION2, client_id="bell-sender", clean_session=False)
    sender.max_queued_messages_set(0)
    sender.reconnect_delay_set(0.1, 1)
    first = start_headless(attic, "--coven", "lab", "--coven-broker", url, env=ENV)
    try:
        wait_for(lambda: logged(attic, "(attic, worker", "is online") >= 1, first, "joined")
        sender.connect(broker.host, broker.port)
        sender.loop_start()
        topic = events_topic("lab", "bell-1a2b")
        for n in range(1, 301):
            message = {"message": str(n), "from": "bell"}
            sent = new_envelope("coven/broadcast", message, source="bell-1a2b", sequence=n,
                                token=bearer)  # fmt: skip
            sender.publish(topic, seal(sent), qos=1)  # queued by paho while reconnecting
            if n == 100:
                broker.restart()
            time.sleep(0.005)
        wait_for(lambda: recorded(attic, "topic", "coven/broadcast") >= 300, first, "all heard", 90)
    finally:
        sender.disconnect()
        sender.loop_stop()
        stop(first)
    heard = [r["data"]["message"] for r in exported(attic) if r["topic"] == "coven/broadcast"]
    assert sorted(heard, key=int) == [str(n) for n in range(1, 301)], "none lost, none twice"


FLOOD_RATE = 20_000
FLOOD_S = 3
CALM_PERIOD_S = 0.05


def paced(client: Client, topic: str, payloads: list[bytes], rate: float) -> float:
    """Publish `payloads` at QoS 0 (a client's QoS 1 window holds it to a few thousand a
    second), `rate` a second; the rate at which they left, the last one written."""
    start = time.monotonic()
    for number, payload in enumerate(payloads):
        last = client.publish(topic, payload, qos=0)
        ahead = number / rate - (time.monotonic() - start)
        if ahead > 0.001:
            time.sleep(ahead)
    last.wait_for_publish(30)
    return len(payloads) / (time.monotonic() - start)


def connected(port: int, client_id: str) -> Client:
    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def accounted(data: Path, member: str, topic: str) -> int:
    """`member`'s events on `topic` that reached the hub, plus those refused as throttled."""
    database = data / "audit" / DATABASE_NAME
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            [(heard,)] = connection.execute("SELECT count(*) FROM events WHERE topic = ?", (topic,))
            [(refused,)] = connection.execute(
                "SELECT total(json_extract(data, '$.unreported') + 1) FROM events"
                " WHERE topic = 'coven/refused' AND json_extract(data, '$.member') = ?",
                (member,),
            )
    except sqlite3.OperationalError:
        return 0
    return int(heard) + int(refused)


def test_a_member_flooding_20k_events_a_second_is_throttled_while_a_calm_one_keeps_its_latency(
    make_mosquitto: Any, tmp_path: Path
) -> None:
    broker = make_mosquitto(settings=["max_queued_messages 0"])
    attic = member_data(tmp_path, "attic")
    Settings(attic / "settings.json").save(LimitSettings(member_rate_per_s=200, member_burst=200))
    (attic / "audit").mkdir()
    AuditConfig(attic / "audit" / CONFIG_NAME).set(
        "record_topics", [*DEFAULT_CONFIG["record_topics"], "chat/#"]
    )
    genuine = AuthService(SECRET)
    flood_topic, calm_topic = events_topic("lab", "flood-1"), events_topic("lab", "calm-1")
    flood_bearer = genuine.generate_token({"name": "flood", "role": "user"})
    flood = [envelope("flood-1", "chat/flood", flood_bearer, n) for n in range(1, 60_001)]
    calm_bearer = genuine.generate_token({"name": "calm", "role": "user"})
    sent_calm: list[str] = []

    def calm(phase: str) -> None:
        sent_calm.append(phase)
        data = {"n": len(sent_calm), "phase": phase, "sent": time.time()}
        sealed = seal(new_envelope("chat/calm", data, source="calm-1", sequence=len(sent_calm),
                                   token=calm_bearer))  # fmt: skip
        calm_client.publish(calm_topic, sealed, qos=1)
        time.sleep(CALM_PERIOD_S)

    url = f"mqtt://{broker.host}:{broker.port}"
    first = start_headless(attic, "--coven", "lab", "--coven-broker", url, env=ENV)
    calm_client = connected(broker.port, "calm")
    flood_client = connected(broker.port, "flood")
    try:
        wait_for(lambda: logged(attic, "(attic, worker", "is online") >= 1, first, "joined")
        for _ in range(40):
            calm("before")
        flooding = concurrent.futures.ThreadPoolExecutor(1)
        reached = flooding.submit(paced, flood_client, flood_topic, flood, FLOOD_RATE)
        while not reached.done():
            calm("during")
        flooding.shutdown()
        for _ in range(20):
            calm("after")
        everything = len(sent_calm)
        wait_for(lambda: recorded(attic, "topic", "chat/calm") >= everything, first, "calm heard")
        wait_for(
            lambda: accounted(attic, "flood-1", "chat/flood") >= len(flood), first, "flood counted"
        )
    finally:
        for client in (calm_client, flood_client):
            client.disconnect()
            client.loop_stop()
        stop(first)
    assert reached.result() > 0.9 * FLOOD_RATE, "the flood came at 20k events/s"
    records = exported(attic)
    throttled = [r["data"] for r in records if r["topic"] == "coven/refused"]
    assert throttled and {(r["member"], r["kind"]) for r in throttled} == {("flood-1", "throttled")}
    assert all("faster than the coven's limit of 200/s" in r["reason"] for r in throttled)
    dropped = sum(r["unreported"] + 1 for r in throttled)
    heard = sum(r["topic"] == "chat/flood" for r in records)
    print(f"flood: {heard} of {len(flood)} reached the hub, {dropped} throttled")
    assert heard + dropped == len(flood) and dropped > 0, "every event passed or was counted"
    heard_calm = [r for r in records if r["topic"] == "chat/calm"]
    assert [r["data"]["n"] for r in heard_calm] == list(range(1, everything + 1))
    latencies: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    for record in heard_calm:
        arrived = datetime.fromisoformat(record["timestamp"]).timestamp()
        latencies[record["data"]["phase"]].append(arrived - record["data"]["sent"])
    normal, flooded = (statistics.median(latencies[p]) for p in ("before", "during"))
    print(f"calm latency: {normal * 1e3:.1f} ms before the flood, {flooded * 1e3:.1f} ms during")
    assert flooded <= max(10 * normal, 0.25), "the calm member's events kept their latency"
