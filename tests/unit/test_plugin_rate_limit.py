"""A plugin that floods the hub is throttled by its own budget, reported once each time it
becomes blocked; other plugins' events, and the hub, go on."""

from __future__ import annotations

import logging

import pytest

from phantom_gui.coven.ratelimit import RateLimiter
from phantom_gui.plugins.context import SECURITY_TOPIC

from support.clock import Clock
from support.plugin_host import Harness, plugin_harness, run

h = pytest.fixture(name="h")(plugin_harness)

FLOOD = """
from phantom_gui.core.errors import BanishmentError
from phantom_gui.plugins.contract import Plugin as _Base

PLUGIN = None


class Plugin(_Base):
    def init(self, context):
        global PLUGIN
        super().init(context)
        PLUGIN = self

    def flood(self, times):
        refused = []
        for n in range(times):
            try:
                self.context.hub.publish("flood/drop", n)
            except BanishmentError as exc:
                refused.append(str(exc))
        return refused
"""

RATE = 100


@pytest.mark.parametrize("burst", [10, 100], ids=["below a chunk", "chunks then single"])
def test_a_flooding_plugin_is_throttled_and_reported_once_while_others_flow(
    h: Harness, caplog: pytest.LogCaptureFixture, burst: int
) -> None:
    h.plugins.add("flood", FLOOD, permissions=("hub:publish:flood/#",))
    h.plugins.add("calm", FLOOD, permissions=("hub:publish:flood/#",))
    clock = Clock()
    manager = h.manager(limiter=RateLimiter(RATE, burst, clock=clock))
    run(manager.activate("flood"))
    flood = h.plugins.module("flood").PLUGIN
    run(manager.activate("calm"))
    calm = h.plugins.module("calm").PLUGIN

    with caplog.at_level(logging.WARNING, "phantom.plugins.security"):
        refused = flood.flood(1_000)
    assert len(refused) == 1_000 - burst
    assert "publishes faster than its rate limit allows" in refused[0]
    assert [event.data for event in h.on("flood/drop")] == list(range(burst))
    assert h.data_on(SECURITY_TOPIC) == [
        {"plugin": "flood", "action": "publish on", "target": "flood/drop", "needed": "rate limit"}
    ]
    security = [r for r in caplog.records if r.name.startswith("phantom.plugins.security")]
    assert len(security) == 1, "reported once, not once per refused event"

    assert calm.flood(3) == []
    h.hub.publish("flood/outside", "still heard", source="test")
    assert [event.source for event in h.on("flood/drop")][burst:] == ["calm"] * 3
    assert h.data_on("flood/outside") == ["still heard"]

    clock.advance(burst / RATE)
    assert len(flood.flood(burst + 5)) == 5
    assert len(h.data_on(SECURITY_TOPIC)) == 2, "blocked anew: reported anew"
    assert manager.records["flood"].context.banisher.refusals == 1_000 - burst + 5


def test_without_a_limiter_a_plugin_publishes_as_fast_as_it_likes(h: Harness) -> None:
    h.plugins.add("flood", FLOOD, permissions=("hub:publish:flood/#",))
    manager = h.manager()
    run(manager.activate("flood"))
    assert h.plugins.module("flood").PLUGIN.flood(20_000) == []
    assert h.data_on(SECURITY_TOPIC) == []
