"""Haunt ticks: the manifest's probability, a seeded and replayable random source."""

from __future__ import annotations

import math

import pytest
from reactivex.testing import TestScheduler

from phantom_gui.plugins.manager import PluginManager
from phantom_gui.plugins.status import Haunting

from support.plugin_host import Harness, plugin_harness, run

h = pytest.fixture(name="h")(plugin_harness)


# -- haunts ---------------------------------------------------------------------------------

HAUNTER = """
import reactivex
from phantom_gui.plugins.contract import Plugin as _Base


class Plugin(_Base):
    haunts = 0

    def haunt(self):
        self.haunts += 1
        return reactivex.of(("ghost/boo", self.haunts))

    def manifest_disturbance(self):
        return True
"""


def haunting(h: Harness, probability: float, plugin_id: str = "poltergeist") -> None:
    """Add a haunting plugin with the given probability."""
    h.plugins.add(
        plugin_id,
        HAUNTER,
        permissions=("hub:publish:ghost/#",),
        haunt_probability=probability,
        spookiness="terrifying",
    )


def haunt_ticks(manager: PluginManager, ticks: int, plugin_id: str = "poltergeist") -> list[int]:
    """The tick numbers, among `ticks` haunt ticks, at which `plugin_id` haunted."""
    return [tick for tick in range(ticks) if plugin_id in manager.haunt_tick()]


def test_haunts_happen_with_the_manifest_probability(h: Harness) -> None:
    haunting(h, 0.3)
    manager = h.manager(seed=20240601)
    run(manager.activate("poltergeist"))
    n, p = 2000, 0.3

    count = len(haunt_ticks(manager, n))

    assert abs(count - n * p) <= 4.5 * math.sqrt(n * p * (1 - p))
    assert manager.records["poltergeist"].haunts == count
    status = h.board().get("poltergeist")
    assert status is not None and status.haunts == count
    assert len(h.on("plugin/poltergeist/haunt")) == count
    assert manager.records["poltergeist"].instance.haunts == count  # type: ignore[union-attr]


def test_the_same_seed_replays_the_same_haunts_and_another_seed_does_not(h: Harness) -> None:
    haunting(h, 0.3)
    sequences = []
    for seed in (7, 7, 8):
        manager = h.manager(seed=seed)
        run(manager.activate("poltergeist"))
        sequences.append(haunt_ticks(manager, 300))
        run(manager.shutdown())

    assert sequences[0] == sequences[1]
    assert sequences[0] != sequences[2]
    assert sequences[0]


def test_a_plugin_with_zero_probability_never_haunts(h: Harness) -> None:
    haunting(h, 0.0, "calm")
    haunting(h, 1.0, "restless")
    manager = h.manager()
    run(manager.activate("calm"))
    run(manager.activate("restless"))

    ticks = [manager.haunt_tick() for _ in range(500)]

    assert ticks == [["restless"]] * 500
    assert h.on("plugin/calm/haunt") == []
    assert manager.records["calm"].instance.haunts == 0  # type: ignore[union-attr]


def test_a_haunt_is_published_with_haunted_metadata_and_its_outputs(h: Harness) -> None:
    haunting(h, 1.0)
    manager = h.manager()
    run(manager.activate("poltergeist"))
    start = len(h.events)

    assert manager.haunt_tick() == ["poltergeist"]

    haunt, boo = h.events[start:]
    assert haunt.topic == "plugin/poltergeist/haunt"
    assert haunt.metadata == {"haunted": True}
    assert haunt.data == Haunting("poltergeist", True, "terrifying", haunts=1)
    assert (boo.topic, boo.data, boo.source) == ("ghost/boo", 1, "poltergeist")


def test_only_active_plugins_haunt(h: Harness) -> None:
    haunting(h, 1.0)
    manager = h.manager()
    assert manager.haunt_tick() == []
    run(manager.activate("poltergeist"))
    assert manager.haunt_tick() == ["poltergeist"]
    run(manager.deactivate("poltergeist"))
    assert manager.haunt_tick() == []
    assert len(h.on("plugin/poltergeist/haunt")) == 1


def test_start_haunting_ticks_at_the_right_virtual_times(h: Harness) -> None:
    haunting(h, 1.0)
    manager = h.manager()
    run(manager.activate("poltergeist"))
    scheduler = TestScheduler()
    times: list[float] = []
    h.hub.on("plugin/poltergeist/haunt").subscribe(lambda _: times.append(scheduler.clock))

    assert h.board().haunt_period_s is None
    ticking = manager.start_haunting(scheduler, 5.0)
    assert h.board().haunt_period_s == 5.0
    scheduler.advance_to(4.9)
    assert times == []
    scheduler.advance_to(17.0)
    assert times == [5.0, 10.0, 15.0]

    ticking.dispose()
    scheduler.advance_to(60.0)
    assert times == [5.0, 10.0, 15.0]
    assert h.data_on("ghost/boo") == [1, 2, 3]
    assert h.board().haunt_period_s is None
