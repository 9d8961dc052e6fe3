"""Remote evolutions without the coven's transport: the request as it travels, the
worker's handling of requests and cancels, and the desktop's choice and loss of workers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom_cauldron.evolution.progress import EvolutionFinished, EvolutionSettings
from phantom_cauldron.evolution.remote import RemoteEvolutions
from phantom_cauldron.evolution.requests import (
    REQUEST_TOPIC,
    EvolutionRequest,
    RequestError,
    cancel_topic,
    read_request,
)
from phantom_cauldron.evolution.runs import EvolutionRuns
from phantom_cauldron.evolution.serving import RequestedEvolutions
from phantom_cauldron.recipes.catalogue import load_catalogue
from phantom_cauldron.recipes.effects import Conditions
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.plain import plain
from phantom_gui.coven.presence import Members, own_status

CONDITIONS = Conditions(temperature=61.0, humidity=45.0, ph=5.5, mystical_energy=0.8)
SETTINGS = EvolutionSettings(population=8, generations=2, seed=3)
WORKER = "attic-0123abcd"
DESK = "desk-89abcdef"


def request(**changes: Any) -> dict[str, Any]:
    """A request's plain JSON form, as the coven hands it over."""
    model = EvolutionRequest(run="r1", settings=SETTINGS, conditions=CONDITIONS, worker=WORKER)
    return {**plain(model), **changes}


def remote(topic: str, data: Any, sender: str = DESK) -> SpectralEvent:
    return SpectralEvent(topic, data, f"coven:{sender}", {"origin_realm": sender})


class Published(list[tuple[str, Any]]):
    def __call__(self, topic: str, data: Any = None, **_: Any) -> None:
        self.append((topic, data))


@given(
    population=st.integers(4, 5000),
    generations=st.integers(1, 2000),
    temperature=st.floats(-50, 200),
    run=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
)
def test_a_request_reads_back_from_its_plain_json_form(
    population: int, generations: int, temperature: float, run: str
) -> None:
    model = EvolutionRequest(
        run=run,
        settings=EvolutionSettings(population=population, generations=generations),
        conditions=Conditions(temperature, 40.0, 6.0, 1.0),
        worker=WORKER,
    )
    assert read_request(plain(model)) == model


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"settings": {"population": 2}}, "settings.population"),
        ({"run": "a/b"}, "run"),
        ({"conditions": {"temperature": "hot"}}, "conditions.temperature"),
        ({"worker": ""}, "worker"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_request_names_its_field(changes: dict[str, Any], named: str) -> None:
    with pytest.raises(RequestError, match=rf"not a valid evolution request \({named}"):
        read_request(request(**changes))


class Runs(EvolutionRuns):
    """Real runs whose starts and cancels are also listed."""

    def __init__(self, publish: Published) -> None:
        super().__init__(publish, lambda callback: callback(), tuple(load_catalogue().values()))
        self.started: list[tuple[str, EvolutionSettings, Conditions]] = []
        self.cancelled: list[str] = []

    def start(self, settings: EvolutionSettings, conditions: Any, run: str | None = None) -> str:
        self.started.append((str(run), settings, conditions()))
        self.runs[str(run)] = None  # type: ignore[assignment]
        return str(run)

    def cancel(self, run: str) -> None:
        self.cancelled.append(run)


def serving(instance: str | None = WORKER) -> tuple[RequestedEvolutions, Runs, Published]:
    published = Published()
    runs = Runs(published)
    return RequestedEvolutions(runs, published, lambda: instance), runs, published


def test_a_request_for_this_worker_runs_under_its_run_id_and_conditions() -> None:
    handler, runs, published = serving()
    handler.take_request(remote(REQUEST_TOPIC, request()))
    assert runs.started == [("r1", SETTINGS, CONDITIONS)]
    assert handler.requesters == {"r1": DESK}
    assert not published


@pytest.mark.parametrize("instance", [None, "cellar-0123abcd"])
def test_a_request_for_another_member_or_with_no_coven_is_left_alone(instance: str | None) -> None:
    handler, runs, published = serving(instance)
    handler.take_request(remote(REQUEST_TOPIC, request()))
    assert not runs.started and not published


def test_a_request_it_cannot_run_is_answered_with_a_failed_end() -> None:
    handler, runs, published = serving()
    handler.take_request(remote(REQUEST_TOPIC, request(settings={"population": 2})))
    assert not runs.started
    [(topic, finished)] = published
    assert topic == "cauldron/evolution/r1/finished"
    assert isinstance(finished, EvolutionFinished) and finished.run == "r1"
    assert finished.error is not None and "settings.population" in finished.error


def test_a_request_without_a_valid_run_id_or_for_a_run_under_way_is_ignored() -> None:
    handler, runs, published = serving()
    handler.take_request(remote(REQUEST_TOPIC, request(run="../x")))
    assert not runs.started and not published
    handler.take_request(remote(REQUEST_TOPIC, request()))
    handler.take_request(remote(REQUEST_TOPIC, request(settings={"population": 2})))
    assert len(runs.started) == 1 and not published, "the run under way is not ended"


def test_only_the_requester_cancels_its_run() -> None:
    handler, runs, _ = serving()
    handler.take_request(remote(REQUEST_TOPIC, request()))
    handler.take_cancel(remote(cancel_topic("r1"), {"run": "r1"}, sender="mallory-00000000"))
    handler.take_cancel(remote(cancel_topic("nope"), {}, sender=DESK))
    assert runs.cancelled == []
    handler.take_cancel(remote(cancel_topic("r1"), {"run": "r1"}))
    assert runs.cancelled == ["r1"]


def test_a_request_runs_a_real_evolution_under_its_run_id() -> None:
    loop = asyncio.new_event_loop()
    try:
        ended: asyncio.Future[EvolutionFinished] = loop.create_future()
        events: list[tuple[str, Any]] = []

        def publish(topic: str, data: Any = None, **_: Any) -> None:
            events.append((topic, data))
            if isinstance(data, EvolutionFinished):
                ended.set_result(data)

        runs = EvolutionRuns(publish, loop.call_soon_threadsafe, tuple(load_catalogue().values()))
        handler = RequestedEvolutions(runs, publish, lambda: WORKER)
        handler.take_request(remote(REQUEST_TOPIC, request()))
        finished = loop.run_until_complete(asyncio.wait_for(ended, 60))
        runs.close()
    finally:
        loop.close()
    assert finished.run == "r1" and finished.error is None and finished.best is not None
    assert [topic for topic, _ in events[:3]] == ["cauldron/evolution/r1/generation"] * 3


class Coven:
    def __init__(self, instance: str | None, members: Members | None) -> None:
        self.instance = instance
        self.members = members


def member(instance: str, role: str, plugins: tuple[str, ...], state: str = "online") -> bytes:
    status = own_status(instance, instance.rpartition("-")[0], role, plugins)
    return status.now(state).to_json()  # type: ignore[arg-type]


def coven_members() -> Members:
    members = Members("lab")
    for instance, role, plugins in [
        (WORKER, "worker", ("phantom_cauldron",)),
        ("porch-00000001", "worker", ("phantom_seance",)),
        ("study-00000002", "desktop", ("phantom_cauldron",)),
        (DESK, "worker", ("phantom_cauldron",)),
    ]:
        members.receive(f"phantom/coven/lab/members/{instance}", member(instance, role, plugins))
    return members


def test_the_workers_offered_are_other_online_cauldron_workers() -> None:
    desk = RemoteEvolutions(Coven(DESK, coven_members()), Published(), lambda: CONDITIONS)
    assert [w.instance for w in desk.workers()] == [WORKER]
    assert desk.workers()[0].label.startswith("attic on ")
    assert RemoteEvolutions(Coven(None, None), Published(), lambda: CONDITIONS).workers() == ()


def test_a_worker_leaving_fails_its_runs_and_a_cancel_goes_to_it() -> None:
    published = Published()
    desk = RemoteEvolutions(Coven(DESK, coven_members()), published, lambda: CONDITIONS)
    run = desk.start(SETTINGS, WORKER)
    [(topic, sent)] = published
    assert topic == REQUEST_TOPIC
    assert sent == EvolutionRequest(
        run=run, settings=SETTINGS, conditions=CONDITIONS, worker=WORKER
    )
    desk.cancel(run)
    assert published[-1] == (cancel_topic(run), {"run": run})
    desk.member_changed(
        SpectralEvent("coven/member", {"instance": WORKER, "state": "online"}, "coven")
    )
    assert len(published) == 2
    desk.member_changed(
        SpectralEvent("coven/member", {"instance": WORKER, "state": "offline"}, "coven")
    )
    topic, finished = published[-1]
    assert topic == f"cauldron/evolution/{run}/finished"
    assert finished.error == "the worker attic left" and not desk.runs


def test_a_worker_no_longer_there_fails_the_run_at_once() -> None:
    published = Published()
    desk = RemoteEvolutions(Coven(DESK, coven_members()), published, lambda: CONDITIONS)
    run = desk.start(SETTINGS, "gone-00000000")
    [(topic, finished)] = published
    assert topic == f"cauldron/evolution/{run}/finished"
    assert finished.error == "the worker gone-00000000 is not in the coven"


def left(instance: str, name: str, state: str = "offline") -> SpectralEvent:
    data = {"instance": instance, "name": name, "role": "desktop", "host": "h", "state": state}
    return SpectralEvent("coven/member", data, "coven")


def test_a_requester_that_leaves_has_its_runs_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    handler, runs, _ = serving()
    handler.take_request(remote(REQUEST_TOPIC, request()))
    handler.take_request(remote(REQUEST_TOPIC, request(run="r2"), sender="study-00000002"))
    handler.member_changed(left(DESK, "desk", state="online"))
    handler.member_changed(left("study-00000003", "study"))
    assert runs.cancelled == []
    with caplog.at_level(logging.INFO):
        handler.member_changed(left(DESK, "desk"))
    assert runs.cancelled == ["r1"]
    assert "evolution r1: cancelled, desk left" in [r.getMessage() for r in caplog.records]
    del runs.runs["r1"]
    handler.member_changed(left(DESK, "desk", state="gone"))
    assert runs.cancelled == ["r1"], "a run that has ended is not cancelled again"


def test_a_real_run_whose_requester_leaves_ends_cancelled() -> None:
    loop = asyncio.new_event_loop()
    try:
        ended: asyncio.Future[EvolutionFinished] = loop.create_future()
        generations: list[int] = []

        def publish(topic: str, data: Any = None, **_: Any) -> None:
            if isinstance(data, EvolutionFinished):
                ended.set_result(data)
            elif topic.endswith("/generation"):
                generations.append(data.record.gen)
                if len(generations) == 1:
                    handler.member_changed(left(DESK, "desk"))

        runs = EvolutionRuns(publish, loop.call_soon_threadsafe, tuple(load_catalogue().values()))
        handler = RequestedEvolutions(runs, publish, lambda: WORKER)
        long_run = {"population": 200, "generations": 2000, "seed": 3}
        handler.take_request(remote(REQUEST_TOPIC, request(settings=long_run)))
        finished = loop.run_until_complete(asyncio.wait_for(ended, 60))
        runs.close()
    finally:
        loop.close()
    assert finished.run == "r1" and finished.cancelled and finished.error is None
    assert len(generations) < 2001
