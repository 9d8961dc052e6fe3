"""The plugins as views see them: frozen statuses in the events and on the hub's blackboard."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

import pytest
import reactivex

from phantom_gui.core.resilience import BreakerState
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.status import (
    PLUGIN_STATUSES,
    BreakerChange,
    DiscoveryReport,
    Haunting,
    LoadRetry,
    PanelInfo,
    PluginFault,
    PluginStatus,
    PluginStatuses,
    Reloaded,
)

from support.plugin_host import Harness, failing_init, plugin_harness, poke, run

h = pytest.fixture(name="h")(plugin_harness)

FAILING_PROCESS = """
from phantom_gui.plugins.contract import Plugin as _Base


class Plugin(_Base):
    def process(self, event):
        raise RuntimeError("the séance went wrong")

    def haunt(self):
        return None
"""


def test_each_state_event_carries_the_plugins_status(h: Harness) -> None:
    h.plugins.add("base")
    h.plugins.add(
        "lantern",
        dependencies=("base>=1",),
        permissions=("hub:subscribe:sensor/#",),
        consumes=("sensor/#",),
        haunt_probability=0.2,
        spookiness="moderate",
    )
    manager = h.manager()
    run(manager.activate("lantern"))

    active = h.data_on("plugin/lantern/state")[-1]
    assert isinstance(active, PluginStatus)
    assert (active.id, active.name, active.version) == ("lantern", "Lantern", "1.0.0")
    assert (active.state, active.previous) == (PluginState.ACTIVE, PluginState.LOADING)
    assert (active.error, active.traceback, active.load_attempts) == (None, None, 1)
    assert active.dependencies == ("base>=1",)
    assert active.permissions == ("hub:subscribe:sensor/#",)
    assert active.consumes == ("sensor/#",)
    assert (active.haunt_probability, active.spookiness, active.haunts) == (0.2, "moderate", 0)
    assert (active.origin, active.isolation, active.panel) == ("folder", "inline", None)
    assert active.manifest_path.endswith("phantom-plugin.toml")
    assert (active.breaker, active.breaker_trips) == (BreakerState.CLOSED, 0)
    base = h.board().get("base")
    assert base is not None and base.dependants == ("lantern",)


def test_the_blackboard_holds_the_whole_picture_current_first_then_each_change(
    h: Harness,
) -> None:
    h.plugins.add("lantern")
    h.plugins.add("candle")
    manager = h.manager()
    seen: list[PluginStatuses] = []
    h.hub.select(PLUGIN_STATUSES).subscribe(seen.append)

    assert [status.id for status in seen[0].plugins] == ["candle", "lantern"]
    assert {status.state for status in seen[0].plugins} == {PluginState.RESOLVED}
    run(manager.activate("lantern"))

    assert [picture.get("lantern").state for picture in seen] == [  # type: ignore[union-attr]
        PluginState.RESOLVED,
        PluginState.LOADING,
        PluginState.ACTIVE,
    ]
    assert seen[-1].get("lantern") == h.data_on("plugin/lantern/state")[-1]
    assert seen[-1].get("candle") == seen[0].get("candle")
    assert seen[-1].get("nobody") is None


def fragile(h: Harness, haunt_probability: float = 0.0) -> None:
    """Add a plugin whose process() always raises (its haunts do nothing)."""
    h.plugins.add(
        "fragile",
        FAILING_PROCESS,
        permissions=("hub:subscribe:sensor/#",),
        consumes=("sensor/#",),
        haunt_probability=haunt_probability,
    )


def test_a_failing_process_shows_in_the_status_without_a_state_change(h: Harness) -> None:
    fragile(h)
    manager = h.manager()
    run(manager.activate("fragile"))
    state_events = len(h.on("plugin/fragile/state"))

    poke(h, 5)

    status = h.board().get("fragile")
    assert status is not None and status.state is PluginState.ACTIVE
    assert status.error == "process: RuntimeError: the séance went wrong"
    assert status.traceback is not None and "the séance went wrong" in status.traceback
    assert (status.breaker, status.breaker_trips) == (BreakerState.OPEN, 1)
    assert len(h.on("plugin/fragile/state")) == state_events


def test_every_event_of_the_host_carries_plain_frozen_data(h: Harness) -> None:
    fragile(h, haunt_probability=1.0)
    h.plugins.add("flaky", failing_init(1, 'OSError("damp matches")'))
    manager = h.manager()
    run(manager.activate("fragile"))
    run(manager.activate("flaky"))
    poke(h, 5)
    manager.haunt_tick()
    run(manager.reload("fragile"))

    kinds = {
        "state": PluginStatus,
        "discovery": DiscoveryReport,
        "retry": LoadRetry,
        "error": PluginFault,
        "breaker": BreakerChange,
        "haunt": Haunting,
        "reloaded": Reloaded,
    }
    published = [event for event in h.events if event.topic.startswith("plugin/")]
    assert {event.topic.rsplit("/", 1)[-1] for event in published} == set(kinds)
    for event in published:
        data = event.data
        assert isinstance(data, kinds[event.topic.rsplit("/", 1)[-1]])
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(data, dataclasses.fields(data)[0].name, None)
        assert json.loads(json.dumps(dataclasses.asdict(data), default=_enum_value))
    panel = PanelInfo("Lantern", "right", "Examples")
    assert json.loads(json.dumps(dataclasses.asdict(panel))) == {
        "title": "Lantern",
        "area": "right",
        "menu_path": "Examples",
    }


def test_a_view_subscribing_late_gets_the_current_picture(h: Harness) -> None:
    h.plugins.add("lantern")
    manager = h.manager()
    run(manager.activate("lantern"))
    [current] = _collect(h.hub.select(PLUGIN_STATUSES))
    status = current.get("lantern")
    assert status is not None and status.active and not status.loadable


def _collect(source: reactivex.Observable[Any]) -> list[Any]:
    items: list[Any] = []
    source.subscribe(items.append).dispose()
    return items


def _enum_value(value: object) -> object:
    """JSON for the enums in the statuses; anything else is not plain data."""
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{value!r} is not plain data")
