"""Whose word the Cauldron takes about an evolution run: this member's about its own
runs, a worker's about the runs this member requested of it, no one else's."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom_cauldron.evolution.owners import REMEMBERED, RunOwners, news_of
from phantom_gui.core.events import SpectralEvent

WORKER = "attic-0123abcd"
MALLORY = "mallory-00c0ffee"


def event(topic: str, sender: str | None = None) -> SpectralEvent:
    metadata: Any = {} if sender is None else {"origin_realm": sender}
    return SpectralEvent(topic, {}, "here" if sender is None else f"coven:{sender}", metadata)


class Runs:
    """The runs under way here (`local`) and those requested of workers (`requested`)."""

    def __init__(self) -> None:
        self.local: set[str] = {"mine"}
        self.requested: dict[str, str] = {"far": WORKER}

    def owners(self) -> RunOwners:
        return RunOwners(self.local.__contains__, self.requested.get)


@pytest.mark.parametrize("what", ["generation", "finished"])
def test_a_requested_run_is_believed_only_from_its_worker(
    what: str, caplog: pytest.LogCaptureFixture
) -> None:
    owners = Runs().owners()
    topic = f"cauldron/evolution/far/{what}"
    assert owners.believes(event(topic, WORKER))
    with caplog.at_level(logging.WARNING):
        assert not owners.believes(event(topic, MALLORY))
        assert not owners.believes(event("cauldron/evolution/far/generation", MALLORY))
    assert [r.getMessage() for r in caplog.records] == [
        f"evolution far: ignored the events of {MALLORY} (it runs on {WORKER})"
    ], "logged once per member and run, naming the member"


def test_a_local_run_is_never_taken_from_a_remote_member(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owners = Runs().owners()
    with caplog.at_level(logging.WARNING):
        for sender in (WORKER, MALLORY, MALLORY):
            assert not owners.believes(event("cauldron/evolution/mine/finished", sender))
    assert owners.believes(event("cauldron/evolution/mine/finished"))
    assert [r.getMessage() for r in caplog.records] == [
        f"evolution mine: ignored the events of {sender} (it runs on this computer)"
        for sender in (WORKER, MALLORY)
    ]


def test_other_members_own_runs_and_remote_requests_and_cancels_are_not_taken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owners = Runs().owners()
    with caplog.at_level(logging.WARNING):
        assert not owners.believes(event("cauldron/evolution/theirs/generation", WORKER))
        assert not owners.believes(event("cauldron/evolution/request", MALLORY))
        assert not owners.believes(event("cauldron/evolution/far/cancel", WORKER))
    assert not caplog.records, "another member's shared run is no one's fault"


@given(topic=st.sampled_from(["request", "x/generation", "x/cancel", "y/finished", "z"]))
def test_this_members_own_events_are_always_believed(topic: str) -> None:
    assert Runs().owners().believes(event(f"cauldron/evolution/{topic}"))


def test_a_requested_runs_worker_is_remembered_after_the_run_is_no_longer_followed() -> None:
    runs = Runs()
    owners = runs.owners()
    assert owners.believes(event("cauldron/evolution/far/finished", WORKER))
    del runs.requested["far"]
    assert owners.believes(event("cauldron/evolution/far/finished", WORKER))
    assert not owners.believes(event("cauldron/evolution/far/finished", MALLORY))


def test_the_memory_of_workers_is_bounded() -> None:
    runs = Runs()
    owners = runs.owners()
    runs.requested.update({f"r{i}": WORKER for i in range(REMEMBERED + 1)})
    for i in range(REMEMBERED + 1):
        assert owners.believes(event(f"cauldron/evolution/r{i}/generation", WORKER))
    runs.requested.clear()
    assert not owners.believes(event("cauldron/evolution/r0/generation", WORKER))
    assert owners.believes(event("cauldron/evolution/r1/generation", WORKER))


@pytest.mark.parametrize(
    ("topic", "run"),
    [
        ("cauldron/evolution/r1/generation", "r1"),
        ("cauldron/evolution/r1/finished", "r1"),
        ("cauldron/evolution/r1/cancel", None),
        ("cauldron/evolution/request", None),
        ("cauldron/brew/r1/finished", None),
        ("cauldron/evolution/r1/finished/x", None),
    ],
)
def test_the_news_of_a_run_is_its_generations_and_its_end(topic: str, run: str | None) -> None:
    assert news_of(topic) == run
