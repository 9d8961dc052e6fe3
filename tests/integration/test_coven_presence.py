"""Coven presence on a real mosquitto, each member on a real network process: members see
each other join, leave, and vanish through their last will after a kill -9; a late member
is handed the statuses retained; malformed statuses are refused and counted."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from phantom_gui.core.hub import EventHub
from phantom_gui.coven.presence import Members, Presence, own_status, with_presence
from phantom_gui.coven.topics import member_topic
from phantom_gui.mqtt.network_process import ProcessConnection
from phantom_gui.mqtt.retained import RetainedMessages

from support.mosquitto import MosquittoBroker
from support.waiting import until

COVEN = "lab"
PLUGINS = ("phantom_cauldron",)


class Member:
    """One instance in the coven: its connection in a network process of its own, its
    presence, and the members it sees."""

    def __init__(
        self, hub: EventHub, retained: RetainedMessages, broker: MosquittoBroker, instance: str
    ) -> None:
        self.status = own_status(instance, f"Bench {instance}", "desktop", PLUGINS)
        config = broker.config(id=instance, client_id=f"phantom-{instance}", subscriptions=[])
        self.connection = ProcessConnection(with_presence(config, COVEN, self.status), hub)
        self.presence = Presence(hub, self.connection, COVEN, self.status)
        self.members = Members(COVEN)
        self.members.follow(retained.messages(instance))

    def join(self) -> None:
        self.presence.start()
        self.connection.connect()

    async def leave(self) -> None:
        await asyncio.to_thread(self.presence.leave)
        await asyncio.to_thread(self.connection.disconnect)

    def sees(self, instance: str, state: str) -> bool:
        status = self.members.statuses.get(instance)
        return status is not None and status.state == state


class Coven:
    """Members on one hub and loop; every network process ends with the test."""

    def __init__(self, loop: asyncio.AbstractEventLoop, broker: MosquittoBroker) -> None:
        self.loop = loop
        self.broker = broker
        self.hub = EventHub(loop)
        self.retained = RetainedMessages(self.hub)
        self.members: list[Member] = []

    def member(self, instance: str) -> Member:
        member = Member(self.hub, self.retained, self.broker, instance)
        self.members.append(member)
        return member

    def run(self, scenario: Coroutine[Any, Any, None], timeout: float = 60.0) -> None:
        self.loop.run_until_complete(asyncio.wait_for(scenario, timeout))


@pytest.fixture
def coven(asyncio_loop: asyncio.AbstractEventLoop, mosquitto: MosquittoBroker) -> Iterator[Coven]:
    threads_before = set(threading.enumerate())
    coven = Coven(asyncio_loop, mosquitto)
    yield coven
    for member in coven.members:
        member.connection.disconnect()
    asyncio_loop.run_until_complete(asyncio_loop.shutdown_default_executor())
    assert set(threading.enumerate()) <= threads_before


def test_a_member_that_joins_is_seen_online_by_the_others_with_what_it_runs(
    coven: Coven,
) -> None:
    attic, cellar = coven.member("attic"), coven.member("cellar")

    async def scenario() -> None:
        attic.join()
        cellar.join()
        await until(lambda: attic.sees("cellar", "online") and cellar.sees("attic", "online"))

    coven.run(scenario())
    seen = cellar.members.statuses["attic"]
    assert (seen.name, seen.role, seen.plugins, seen.pid) == (
        "Bench attic",
        "desktop",
        PLUGINS,
        os.getpid(),
    )
    assert seen.host == attic.status.host and seen.version == attic.status.version
    assert [status.instance for status in cellar.members.online()] == ["attic", "cellar"]


def test_a_clean_leave_shows_offline(coven: Coven) -> None:
    attic, cellar = coven.member("attic"), coven.member("cellar")

    async def scenario() -> None:
        attic.join()
        cellar.join()
        await until(lambda: cellar.sees("attic", "online"))
        await attic.leave()
        await until(lambda: cellar.sees("attic", "offline"))

    coven.run(scenario())
    assert [status.instance for status in cellar.members.online()] == ["cellar"]
    assert cellar.members.statuses["attic"].since >= attic.status.since


def test_a_member_whose_network_process_is_killed_shows_offline_through_its_last_will(
    coven: Coven,
) -> None:
    attic, cellar = coven.member("attic"), coven.member("cellar")

    async def scenario() -> None:
        attic.join()
        cellar.join()
        await until(lambda: cellar.sees("attic", "online"))
        pid = attic.connection.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await until(lambda: attic.connection.state.status == "failed")
        await until(lambda: cellar.sees("attic", "offline"))

    coven.run(scenario())
    assert cellar.members.statuses["attic"] == attic.status.model_copy(update={"state": "offline"})


def test_a_late_member_is_handed_the_retained_statuses_of_those_there_and_gone(
    coven: Coven,
) -> None:
    attic, cellar, porch = coven.member("attic"), coven.member("cellar"), coven.member("porch")

    async def scenario() -> None:
        attic.join()
        cellar.join()
        await until(lambda: attic.sees("cellar", "online") and cellar.sees("attic", "online"))
        await cellar.leave()
        await until(lambda: attic.sees("cellar", "offline"))
        porch.join()
        await until(lambda: len(porch.members.statuses) == 3)

    coven.run(scenario())
    assert {i: s.state for i, s in porch.members.statuses.items()} == {
        "attic": "online",
        "cellar": "offline",
        "porch": "online",
    }


def test_after_the_broker_restarts_a_member_announces_itself_again(coven: Coven) -> None:
    """A broker without persistence forgets retained statuses when it restarts: each member
    publishes its status again on reconnecting, so one that joins afterwards still sees it."""
    attic, porch = coven.member("attic"), coven.member("porch")

    async def scenario() -> None:
        attic.join()
        await until(lambda: attic.sees("attic", "online"))
        await asyncio.to_thread(coven.broker.restart)
        porch.join()
        await until(lambda: porch.sees("attic", "online"), timeout=15)

    coven.run(scenario())


def test_malformed_statuses_are_refused_and_counted_and_an_empty_one_removes_a_member(
    coven: Coven, caplog: pytest.LogCaptureFixture
) -> None:
    attic = coven.member("attic")
    ghost = own_status("ghost", "Ghost", "worker")
    garbage = [b"\x00\xff not json", b'{"instance": "moth", "state": "online"}', ghost.to_json()]
    publish = coven.broker.publish

    async def scenario() -> None:
        attic.join()
        await until(lambda: attic.sees("attic", "online"))
        await asyncio.to_thread(publish, member_topic(COVEN, "moth"), *garbage, retain=True)
        await asyncio.to_thread(publish, member_topic(COVEN, "ghost"), ghost.to_json(), retain=True)
        await until(lambda: attic.sees("ghost", "online"))
        await asyncio.to_thread(publish, member_topic(COVEN, "ghost"), b"", retain=True)
        await until(lambda: "ghost" not in attic.members.statuses)

    with caplog.at_level(logging.WARNING, "phantom.coven"):
        coven.run(scenario())
    assert attic.members.refused == 3
    assert list(attic.members.statuses) == ["attic"]
    refusals = [r.getMessage() for r in caplog.records if r.name == "phantom.coven"]
    assert len(refusals) == 3
    assert all(
        m.startswith("refused the member status on phantom/coven/lab/members/moth: ")
        for m in refusals
    )
    assert refusals[2].endswith("it names instance 'ghost', not 'moth'")
