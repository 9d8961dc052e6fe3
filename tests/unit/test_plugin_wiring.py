"""A running plugin's wiring: consumed events into process(), its outputs on the hub within
its permissions, and the circuit breaker."""

from __future__ import annotations

from typing import Any

import pytest

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.resilience import BreakerState
from phantom_gui.plugins.context import SECURITY_TOPIC
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.manager import PluginManager
from phantom_gui.plugins.registry import PluginRecord
from phantom_gui.plugins.status import BreakerChange

from support.plugin_host import ECHO, Harness, plugin_harness, poke, run

h = pytest.fixture(name="h")(plugin_harness)


# -- permissions ----------------------------------------------------------------------------


def test_publishing_outside_the_permissions_in_init_is_banished(h: Harness) -> None:
    h.plugins.add(
        "snoop",
        """
        from phantom_gui.plugins.contract import Plugin as _Base


        class Plugin(_Base):
            def init(self, context):
                context.hub.publish("ghost/allowed", 1)
                context.hub.publish("secret/plans", "stolen")
        """,
        permissions=("hub:publish:ghost/#",),
    )
    h.plugins.add("lantern")
    manager = h.manager()

    with pytest.raises(ManifestationError, match="BanishmentError"):
        run(manager.activate("snoop"))

    record = manager.records["snoop"]
    assert record.state is PluginState.FAILED
    assert record.error is not None
    assert "may not publish on 'secret/plans'" in record.error
    assert "hub:publish:secret/plans" in record.error
    refusals = h.data_on(SECURITY_TOPIC)
    assert len(refusals) == record.load_attempts == 4
    assert refusals[0] == {
        "plugin": "snoop",
        "action": "publish on",
        "target": "secret/plans",
        "needed": "hub:publish:secret/plans",
    }
    assert h.on("secret/plans") == []
    assert [event.source for event in h.on("ghost/allowed")] == ["snoop"] * 4
    run(manager.activate("lantern"))
    assert manager.records["lantern"].state is PluginState.ACTIVE


def test_subscribing_outside_the_permissions_in_init_is_banished(h: Harness) -> None:
    h.plugins.add(
        "eavesdropper",
        """
        from phantom_gui.plugins.contract import Plugin as _Base


        class Plugin(_Base):
            def init(self, context):
                context.hub.on("secret/#").subscribe(print)
        """,
        permissions=("hub:subscribe:ghost/#",),
    )
    manager = h.manager()
    with pytest.raises(ManifestationError, match="may not subscribe to 'secret/#'"):
        run(manager.activate("eavesdropper"))
    assert h.data_on(SECURITY_TOPIC)[0]["action"] == "subscribe to"
    assert h.hub.subscription_count == 0


def test_process_output_outside_the_permissions_is_banished_and_the_plugin_goes_on(
    h: Harness,
) -> None:
    h.plugins.add(
        "leaky",
        """
        import reactivex
        from phantom_gui.plugins.contract import Plugin as _Base


        class Plugin(_Base):
            calls = 0

            def process(self, event):
                self.calls += 1
                return reactivex.of(("secret/plans", event.data))
        """,
        permissions=("hub:subscribe:sensor/#", "hub:publish:echo/#"),
        consumes=("sensor/#",),
    )
    manager = h.manager()
    record = run(manager.activate("leaky"))

    h.hub.publish("sensor/door", "open", source="test")

    assert h.on("secret/plans") == []
    assert h.data_on(SECURITY_TOPIC) == [
        {
            "plugin": "leaky",
            "action": "publish on",
            "target": "secret/plans",
            "needed": "hub:publish:secret/plans",
        }
    ]
    [error] = h.data_on("plugin/leaky/error")
    assert (error.plugin_id, error.where, error.error) == ("leaky", "process", "BanishmentError")
    assert "may not publish on 'secret/plans'" in error.message
    assert record.state is PluginState.ACTIVE

    h.hub.publish("sensor/door", "closed", source="test")
    assert record.instance.calls == 2  # type: ignore[union-attr]
    assert len(h.data_on(SECURITY_TOPIC)) == 2
    assert not h.hub.is_stopped


# -- process() and the circuit breaker ------------------------------------------------------


def sensor_plugin(h: Harness, plugin_id: str, source: str) -> tuple[PluginManager, PluginRecord]:
    """A manager with an active plugin that consumes sensor/# and may publish on echo/#."""
    h.plugins.add(
        plugin_id,
        source,
        permissions=("hub:subscribe:sensor/#", "hub:publish:echo/#"),
        consumes=("sensor/#",),
    )
    manager = h.manager()
    return manager, run(manager.activate(plugin_id))


def echo(h: Harness) -> tuple[PluginManager, PluginRecord]:
    """A manager with a plugin that answers each sensor event on echo/<its last level>."""
    return sensor_plugin(h, "echo", ECHO)


def test_consumed_events_reach_process_and_its_outputs_are_published(h: Harness) -> None:
    _, record = echo(h)

    h.hub.publish("sensor/temp", 21, source="test")
    h.hub.publish("elsewhere/temp", 99, source="test")
    h.hub.publish("sensor/humidity", 40, source="test")

    assert record.instance.seen == [21, 40]  # type: ignore[union-attr]
    assert [(e.topic, e.data, e.source) for e in h.events if e.topic.startswith("echo/")] == [
        ("echo/temp", 42, "echo"),
        ("echo/humidity", 80, "echo"),
    ]


def test_no_event_reaches_process_after_deactivation(h: Harness) -> None:
    manager, record = echo(h)
    instance = record.instance
    h.hub.publish("sensor/temp", 1, source="test")
    run(manager.deactivate("echo"))
    h.hub.publish("sensor/temp", 2, source="test")

    assert instance.seen == [1]  # type: ignore[union-attr]
    assert h.data_on("echo/temp") == [2]
    assert h.hub.subscription_count == 0


BREAKABLE = """
import reactivex
from phantom_gui.plugins.contract import Plugin as _Base


class Plugin(_Base):
    def init(self, context):
        super().init(context)
        self.calls = 0
        self.failing = True

    def process(self, event):
        self.calls += 1
        if self.failing:
            raise RuntimeError("the séance went wrong")
        return reactivex.of(("echo/ok", self.calls))
"""


def breakable(h: Harness, source: str = BREAKABLE) -> PluginRecord:
    """Activate a plugin that consumes sensor/# and whose process() fails while told to."""
    return sensor_plugin(h, "fragile", source)[1]


def test_a_process_that_keeps_raising_trips_the_breaker_then_gets_one_trial(
    h: Harness,
) -> None:
    record = breakable(h)
    instance: Any = record.instance

    poke(h, 5)
    assert instance.calls == 5
    assert len(h.data_on("plugin/fragile/error")) == 5
    assert h.data_on("plugin/fragile/breaker") == [BreakerChange("fragile", BreakerState.OPEN, 1)]
    assert record.error == "process: RuntimeError: the séance went wrong"
    assert record.state is PluginState.ACTIVE

    poke(h, 3)
    assert instance.calls == 5
    h.clock.advance(29.0)
    poke(h)
    assert instance.calls == 5

    h.clock.advance(1.0)
    instance.failing = False
    poke(h)
    assert instance.calls == 6
    assert h.data_on("echo/ok") == [6]
    assert record.breaker.state.value == "closed"
    poke(h, 2)
    assert instance.calls == 8
    assert h.data_on("echo/ok") == [6, 7, 8]


def test_a_failed_trial_call_opens_the_breaker_again(h: Harness) -> None:
    record = breakable(h)
    instance: Any = record.instance
    poke(h, 5)
    h.clock.advance(30.0)

    poke(h, 3)

    assert instance.calls == 6
    assert h.data_on("plugin/fragile/breaker") == [
        BreakerChange("fragile", BreakerState.OPEN, 1),
        BreakerChange("fragile", BreakerState.OPEN, 2),
    ]


def test_a_process_whose_observable_keeps_failing_trips_the_breaker(h: Harness) -> None:
    record = breakable(
        h,
        """
        import reactivex
        from phantom_gui.plugins.contract import Plugin as _Base


        class Plugin(_Base):
            calls = 0

            def process(self, event):
                self.calls += 1
                return reactivex.throw(RuntimeError("ectoplasm spilled"))
        """,
    )
    poke(h, 8)

    assert record.instance.calls == 5  # type: ignore[union-attr]
    assert h.data_on("plugin/fragile/breaker") == [BreakerChange("fragile", BreakerState.OPEN, 1)]
    assert record.error == "process: RuntimeError: ectoplasm spilled"


def test_a_plugin_does_not_keep_a_subscription_per_processed_event(h: Harness) -> None:
    _, record = echo(h)
    wired = len(record.wiring)

    for value in range(500):
        h.hub.publish("sensor/temp", value, source="test")

    assert len(h.data_on("echo/temp")) == 500
    assert len(record.wiring) == wired
