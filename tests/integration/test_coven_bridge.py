"""The coven bridge on a real mosquitto, each member with its own hub and its own real
network process: events cross marked with their origin and are not echoed, copies reach
the hub once and in order, bad tokens and forbidden topics are refused and audited, a
flooding member is throttled while others flow, and a broker restart loses nothing."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from reactivex import operators as ops

from phantom_gui.audit.service import AuditService
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.core.errors import BanishmentError
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.bridge import REFUSED_TOPIC, CovenBridge, with_bridge
from phantom_gui.coven.envelope import EnvelopeError, new_envelope, seal
from phantom_gui.coven.ratelimit import RateLimiter
from phantom_gui.coven.topics import events_topic
from phantom_gui.coven.traffic import Refusal, RefusalKind
from phantom_gui.mqtt.messages import MqttMessage, message_topic
from phantom_gui.mqtt.network_process import ProcessConnection
from phantom_gui.mqtt.states import Status, subscription_topic
from phantom_gui.mqtt.throttling import throttled_topic

from support.mosquitto import MosquittoBroker
from support.waiting import until

COVEN = "lab"
SECRET = "s" * 40
SHARES = ("chat/#", "cauldron/reading/#", "seance/ritual/#")
"""A user may publish the first two; the rituals need a moderator."""


def auth() -> AuthService:
    return AuthService(SECRET)


def token(name: str, role: str = "user", **options: Any) -> str:
    return AuthService(SECRET, **options).generate_token({"name": name, "role": role})


class Member:
    """One instance: its hub, its connection in a network process, its bridge, and the
    events its hub saw."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        broker: MosquittoBroker,
        name: str,
        *,
        limiter: RateLimiter | None = None,
        persistent: bool = False,
    ) -> None:
        self.instance = f"{name}-0123abcd"
        self.hub = EventHub(loop)
        config = broker.config(
            id=name,
            client_id=f"phantom-{self.instance}",
            subscriptions=[],
            clean_session=not persistent,
        )
        self.connection = ProcessConnection(with_bridge(config, COVEN), self.hub, limiter)
        messages = self.hub.on(message_topic(name)).pipe(ops.map(_message))
        throttled = self.hub.on(throttled_topic(name)).pipe(ops.map(lambda event: event.data))
        self.bridge = CovenBridge(
            self.hub,
            self.connection,
            messages,
            coven=COVEN,
            instance=self.instance,
            auth=auth(),
            token=token(name),
            shares=SHARES,
            throttled=throttled,
            rate_per_s=None if limiter is None else limiter.rate_per_s,
        )
        self.seen: list[SpectralEvent] = []
        self.hub.on("chat/#").subscribe(self.seen.append)
        self.refused: list[Refusal] = []
        self.hub.on(REFUSED_TOPIC).subscribe(lambda event: self.refused.append(event.data))
        self.subscribed = False
        self.hub.on(subscription_topic(name)).subscribe(self._granted)

    def _granted(self, _: SpectralEvent) -> None:
        self.subscribed = True

    def join(self) -> None:
        self.bridge.start()
        self.connection.connect()

    def remote(self) -> list[SpectralEvent]:
        return [e for e in self.seen if "origin_realm" in e.metadata]

    def heard_from(self, member: str) -> int:
        return sum(f.received for f in self.bridge.traffic.snapshot().flows if f.member == member)

    def throttled(self) -> int:
        return self.bridge.traffic.snapshot().refused[RefusalKind.THROTTLED]


def _message(event: SpectralEvent) -> MqttMessage:
    message: MqttMessage = event.data
    return message


class Coven:
    def __init__(self, loop: asyncio.AbstractEventLoop, broker: MosquittoBroker) -> None:
        self.loop = loop
        self.broker = broker
        self.members: list[Member] = []

    def member(self, name: str, **options: Any) -> Member:
        member = Member(self.loop, self.broker, name, **options)
        self.members.append(member)
        return member

    async def joined(self, *members: Member) -> None:
        for member in members:
            member.join()
        await until(lambda: all(m.subscribed for m in members), timeout=15)

    def run(self, scenario: Coroutine[Any, Any, None], timeout: float = 120.0) -> None:
        self.loop.run_until_complete(asyncio.wait_for(scenario, timeout))


@pytest.fixture
def coven(asyncio_loop: asyncio.AbstractEventLoop, mosquitto: MosquittoBroker) -> Iterator[Coven]:
    yield from _coven(asyncio_loop, mosquitto)


def _coven(loop: asyncio.AbstractEventLoop, broker: MosquittoBroker) -> Iterator[Coven]:
    threads_before = set(threading.enumerate())
    coven = Coven(loop, broker)
    yield coven
    for member in coven.members:
        member.bridge.stop()
        member.connection.disconnect()
    loop.run_until_complete(loop.shutdown_default_executor())
    assert set(threading.enumerate()) <= threads_before


def intruder_envelope(topic: str, bearer: str | None, sequence: int = 1) -> bytes:
    return seal(new_envelope(topic, {"x": 1}, source="intruder-1", sequence=sequence, token=bearer))


def test_events_cross_to_every_member_marked_with_their_origin_and_are_not_echoed(
    coven: Coven,
) -> None:
    attic, cellar, porch = coven.member("attic"), coven.member("cellar"), coven.member("porch")

    async def scenario() -> None:
        await coven.joined(attic, cellar, porch)
        attic.hub.publish("chat/hello", {"text": "boo"}, source="test")
        attic.bridge.publish("chat/direct", [1, 2], correlation_id="c-1")
        attic.hub.publish("seance/level", 0.5, source="test")  # not shared
        await until(lambda: len(cellar.remote()) == 2 and len(porch.remote()) == 2)

    coven.run(scenario())
    for member in (cellar, porch):
        hello, direct = member.remote()
        assert (hello.topic, hello.data, hello.source) == (
            "chat/hello",
            {"text": "boo"},
            f"coven:{attic.instance}",
        )
        assert hello.metadata == {"origin_realm": attic.instance}
        assert (direct.topic, direct.data) == ("chat/direct", [1, 2])
        assert direct.metadata == {"origin_realm": attic.instance, "correlation_id": "c-1"}
    assert hello.id == attic.seen[0].id
    assert [e.topic for e in attic.seen] == ["chat/hello"]
    assert attic.remote() == []
    flows = {
        (f.member, f.topic): (f.sent, f.received) for f in attic.bridge.traffic.snapshot().flows
    }
    assert flows == {
        (attic.instance, "chat/hello"): (1, 0),
        (attic.instance, "chat/direct"): (1, 0),
    }


def test_a_copy_of_an_envelope_reaches_the_hub_once_and_a_thousand_events_keep_their_order(
    coven: Coven,
) -> None:
    attic, cellar = coven.member("attic"), coven.member("cellar")

    async def scenario() -> None:
        await coven.joined(attic, cellar)
        envelope = attic.bridge.publish("chat/once", "only once")
        await until(lambda: len(cellar.remote()) == 1)
        copies = [seal(envelope), seal(envelope)]
        await asyncio.to_thread(coven.broker.publish, events_topic(COVEN, attic.instance), *copies)
        await until(lambda: cellar.bridge.traffic.duplicates == 2)
        for n in range(1000):
            attic.bridge.publish("chat/count", n)
        await until(lambda: len(cellar.remote()) == 1001, timeout=30)

    coven.run(scenario())
    assert [e.data for e in cellar.remote()] == ["only once", *range(1000)]
    snapshot = cellar.bridge.traffic.snapshot()
    assert (snapshot.gaps, snapshot.late) == (0, 0)


def test_forged_expired_unsigned_and_forbidden_events_are_refused_reported_and_audited(
    coven: Coven, tmp_path: Path
) -> None:
    cellar = coven.member("cellar")
    audit = AuditService(AuditStorage(tmp_path / "audit"), cellar.hub, None)
    forged = AuthService("f" * 40).generate_token({"name": "intruder", "role": "admin"})
    expired = token("intruder", clock=lambda: time.time() - 7200)
    unsigned = jwt.encode(
        {"sub": "intruder", "role": "admin", "exp": int(time.time()) + 600}, None, "none"
    )
    envelopes = [
        intruder_envelope("chat/x", forged, 1),
        intruder_envelope("chat/x", expired, 2),
        intruder_envelope("chat/x", unsigned, 3),
        intruder_envelope("system/halt", token("intruder", "user"), 4),
        intruder_envelope("chat/x", token("attic", "admin"), 5),
        b"not an envelope",
    ]

    async def scenario() -> None:
        audit.start("test", asyncio.get_running_loop())
        await coven.joined(cellar)
        await asyncio.to_thread(coven.broker.publish, events_topic(COVEN, "intruder-1"), *envelopes)
        await until(lambda: len(cellar.refused) == 6)

    try:
        coven.run(scenario())
        assert audit.recorder is not None and audit.recorder.flush()
        audited = [e for e in audit.storage.get_events() if e["topic"] == REFUSED_TOPIC]
    finally:
        audit.stop()
    kinds = [refusal.kind for refusal in cellar.refused]
    assert kinds == ["token", "token", "token", "forbidden", "token", "malformed"]
    reasons = [refusal.reason for refusal in cellar.refused]
    assert "signature does not match" in reasons[0]
    assert "has expired" in reasons[1]
    assert "'none' (an unsigned token)" in reasons[2]
    assert "(user) may not publish on 'system/halt'" in reasons[3]
    assert "the token of attic cannot speak for 'intruder-1'" in reasons[4]
    assert "not JSON" in reasons[5]
    assert cellar.remote() == []
    assert [(e["type"], e["data"]["kind"], e["data"]["member"]) for e in audited] == [
        ("security", kind, "intruder-1") for kind in kinds
    ]
    assert all(SECRET not in str(e["data"]) and forged not in str(e["data"]) for e in audited)
    assert cellar.bridge.traffic.snapshot().refused_by_member == {"intruder-1": 6}


def test_a_flood_of_forged_events_is_counted_whole_but_reported_once_a_second(
    coven: Coven,
) -> None:
    cellar = coven.member("cellar")
    forged = AuthService("f" * 40).generate_token({"name": "intruder", "role": "admin"})
    envelopes = [intruder_envelope("chat/x", forged, n) for n in range(1, 2_001)]

    async def scenario() -> None:
        await coven.joined(cellar)
        started = time.monotonic()
        await asyncio.to_thread(coven.broker.publish, events_topic(COVEN, "intruder-1"), *envelopes)
        await until(lambda: cellar.bridge.traffic.snapshot().refused[RefusalKind.TOKEN] == 2_000)
        elapsed.append(time.monotonic() - started)

    elapsed: list[float] = []
    coven.run(scenario())
    reports = cellar.refused
    assert 1 <= len(reports) <= 2 + elapsed[0], "about one report a second, not one an event"
    assert reports[0].unreported == 0
    assert sum(1 + report.unreported for report in reports) <= 2_000
    assert cellar.remote() == []


def test_a_payload_that_cannot_travel_is_refused_at_the_sender_and_nothing_is_sent(
    coven: Coven,
) -> None:
    attic, cellar = coven.member("attic"), coven.member("cellar")

    async def scenario() -> None:
        await coven.joined(attic, cellar)
        with pytest.raises(EnvelopeError, match=r"payload\.when: a object is not JSON"):
            attic.bridge.publish("chat/x", {"when": object()})
        attic.hub.publish("chat/forwarded", {"bad": {1, 2}}, source="test")
        attic.bridge.publish("chat/after", "fine")
        await until(lambda: len(cellar.remote()) == 1)

    coven.run(scenario())
    assert [(e.topic, e.data) for e in cellar.remote()] == [("chat/after", "fine")]
    [refusal] = attic.refused
    assert (refusal.member, refusal.topic, refusal.kind) == (
        attic.instance,
        "chat/forwarded",
        RefusalKind.UNSEALABLE,
    )
    assert cellar.bridge.traffic.snapshot().gaps == 0


def test_what_the_members_role_may_not_publish_is_not_sent_and_says_why(
    coven: Coven,
) -> None:
    attic, cellar = coven.member("attic"), coven.member("cellar")

    async def scenario() -> None:
        await coven.joined(attic, cellar)
        attic.hub.publish("seance/ritual/summoning", True, source="test")
        with pytest.raises(BanishmentError, match=r"role \(user\) may not publish"):
            attic.bridge.publish("seance/ritual/banishing", True)
        attic.bridge.publish("chat/after", "fine")
        await until(lambda: len(cellar.remote()) == 1)

    coven.run(scenario())
    [refusal] = attic.refused
    assert (refusal.member, refusal.topic, refusal.kind) == (
        attic.instance,
        "seance/ritual/summoning",
        RefusalKind.FORBIDDEN,
    )
    assert "so it is not shared" in refusal.reason
    assert cellar.refused == [], "nothing doomed went out"
    assert cellar.bridge.traffic.snapshot().gaps == 0


@pytest.fixture
def roomy_coven(asyncio_loop: asyncio.AbstractEventLoop, make_mosquitto: Any) -> Iterator[Coven]:
    """A coven on a broker that queues without bound for a slow subscriber: by default
    mosquitto drops what is beyond 1,000 queued messages per client, which a flood on a
    busy machine reaches."""
    yield from _coven(asyncio_loop, make_mosquitto(settings=["max_queued_messages 0"]))


def test_a_flooding_member_is_throttled_while_another_members_events_still_arrive(
    roomy_coven: Coven,
) -> None:
    coven = roomy_coven
    attic = coven.member("attic")
    cellar = coven.member("cellar", limiter=RateLimiter(rate_per_s=200, burst=200))
    flood = [intruder_envelope("chat/flood", token("intruder"), n) for n in range(1, 20_001)]

    async def scenario() -> None:
        await coven.joined(attic, cellar)
        flooding = asyncio.create_task(
            asyncio.to_thread(coven.broker.publish, events_topic(COVEN, "intruder-1"), *flood)
        )
        await until(lambda: cellar.throttled() > 0, timeout=30)
        for n in range(50):
            attic.bridge.publish("chat/calm", n)
            await asyncio.sleep(0)
        await flooding
        await until(lambda: cellar.heard_from("intruder-1") + cellar.throttled() == 20_000, 60)
        await until(lambda: len([e for e in cellar.remote() if e.topic == "chat/calm"]) == 50)

    coven.run(scenario())
    snapshot = cellar.bridge.traffic.snapshot()
    flooded = sum(f.received for f in snapshot.flows if f.member == "intruder-1")
    throttled = snapshot.refused[RefusalKind.THROTTLED]
    assert throttled > flooded > 0
    assert [e.data for e in cellar.remote() if e.topic == "chat/calm"] == list(range(50))
    reports = [r for r in cellar.refused if r.kind == RefusalKind.THROTTLED]
    assert 1 <= len(reports) < throttled / 100


@pytest.fixture
def persistent_coven(
    asyncio_loop: asyncio.AbstractEventLoop, make_mosquitto: Any, tmp_path: Path
) -> Iterator[Coven]:
    """A coven on a broker that keeps its sessions on disk across a restart."""
    store = tmp_path / "broker-store"
    store.mkdir()
    broker = make_mosquitto(settings=["persistence true", f"persistence_location {store}/"])
    yield from _coven(asyncio_loop, broker)


def test_after_a_broker_restart_mid_stream_nothing_is_lost_and_nothing_arrives_twice(
    persistent_coven: Coven,
) -> None:
    coven = persistent_coven
    attic = coven.member("attic", persistent=True)
    cellar = coven.member("cellar", persistent=True)

    async def scenario() -> None:
        await coven.joined(attic, cellar)
        restarted = None
        for n in range(600):
            attic.bridge.publish("chat/stream", n)
            if n == 200:
                restarted = asyncio.create_task(asyncio.to_thread(coven.broker.restart))
            await asyncio.sleep(0.002)
        assert restarted is not None
        await restarted
        await until(lambda: attic.connection.state.status is Status.CONNECTED, timeout=30)
        await until(lambda: len(cellar.remote()) >= 600, timeout=60)
        attic.bridge.publish("chat/stream", "end")  # a late copy would come before it
        await until(lambda: cellar.remote()[-1].data == "end", timeout=30)

    coven.run(scenario())
    assert [e.data for e in cellar.remote()] == [*range(600), "end"]
