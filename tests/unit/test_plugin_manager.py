"""The plugin manager driven for real: folder plugins, a real hub, a real settings file.

Every plugin is written into `tmp_path` under a package name unique to the test, so
that no two tests share a module in `sys.modules`. Retries sleep in virtual time (an
injected `sleep`), the circuit breaker reads an injected clock, and haunt ticks run
on a `TestScheduler`.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import math
import os
import sys
import textwrap
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
from reactivex.testing import TestScheduler

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.context import SECURITY_TOPIC
from phantom_gui.plugins.host_settings import PluginHostSettings
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.manager import PluginManager, PluginRecord

T = TypeVar("T")

NO_ENTRY_POINTS = "phantom_gui.tests.no_such_plugin_group"

PLAIN = """
from phantom_gui.plugins.contract import Plugin as _Base


class Plugin(_Base):
    pass
"""

ECHO = """
import reactivex
from phantom_gui.plugins.contract import Plugin as _Base


class Plugin(_Base):
    def init(self, context):
        super().init(context)
        self.seen = []

    def process(self, event):
        self.seen.append(event.data)
        return reactivex.of(("echo/" + event.topic.split("/")[-1], event.data * 2))
"""


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine of the manager to completion on a fresh loop."""
    return asyncio.run(coroutine)


class Clock:
    """A clock for the circuit breaker that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move virtual time forward."""
        self.now += seconds


@dataclass
class PluginFolder:
    """A plugin folder in `tmp_path`: one package per plugin, each with its manifest."""

    root: Path
    token: str

    def package(self, plugin_id: str) -> str:
        """The (test-unique) Python package name of `plugin_id`."""
        return f"{self.token}_{plugin_id}"

    def add(
        self,
        plugin_id: str,
        source: str = PLAIN,
        *,
        version: str = "1.0.0",
        dependencies: tuple[str, ...] = (),
        permissions: tuple[str, ...] = (),
        consumes: tuple[str, ...] = (),
        haunt_probability: float = 0.0,
        spookiness: str = "mild",
        class_name: str = "Plugin",
    ) -> Path:
        """Write the plugin's package and manifest; return its module file."""
        package_dir = self.root / self.package(plugin_id)
        package_dir.mkdir(parents=True)
        (package_dir / "__init__.py").write_text("", encoding="utf-8")
        module = package_dir / "plugin.py"
        module.write_text(textwrap.dedent(source), encoding="utf-8")
        manifest = f"""\
            schema_version = 1

            [plugin]
            id = "{plugin_id}"
            name = "{plugin_id.replace("_", " ").title()}"
            version = "{version}"
            entry = "{self.package(plugin_id)}.plugin:{class_name}"
            dependencies = {json.dumps(list(dependencies))}
            permissions = {json.dumps(list(permissions))}
            consumes = {json.dumps(list(consumes))}
            haunt_probability = {haunt_probability}
            spookiness_level = "{spookiness}"
            """
        (package_dir / "phantom-plugin.toml").write_text(
            textwrap.dedent(manifest), encoding="utf-8"
        )
        return module

    def module(self, plugin_id: str) -> ModuleType:
        """The imported plugin module (after the plugin was activated)."""
        return importlib.import_module(f"{self.package(plugin_id)}.plugin")

    def forget(self) -> None:
        """Drop this folder's modules from `sys.modules` and the folder from `sys.path`."""
        for name in [n for n in sys.modules if n.startswith(self.token)]:
            del sys.modules[name]
        while str(self.root) in sys.path:
            sys.path.remove(str(self.root))


@dataclass
class Harness:
    """A hub that records every event, a settings file, a plugin folder and virtual time."""

    tmp_path: Path
    plugins: PluginFolder
    hub: EventHub = field(default_factory=EventHub)
    events: list[SpectralEvent] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        self.hub.subscribe(self.events.append)

    @property
    def settings_path(self) -> Path:
        """The settings file every manager of this harness shares."""
        return self.tmp_path / "settings.json"

    async def sleep(self, delay: float) -> None:
        """A virtual sleep: note the delay, yield once, return at once."""
        self.sleeps.append(delay)
        await asyncio.sleep(0)

    def manager(self, *, seed: int = 1, discover: bool = True, **options: Any) -> PluginManager:
        """A new manager over a new `Settings` read from the shared settings file."""
        manager = PluginManager(
            self.hub,
            Settings(self.settings_path),
            self.tmp_path / "data",
            [self.plugins.root],
            seed=seed,
            sleep=self.sleep,
            breaker_clock=self.clock,
            entry_points_group=NO_ENTRY_POINTS,
            **options,
        )
        if discover:
            manager.discover()
        return manager

    def on(self, topic: str) -> list[SpectralEvent]:
        """The events published so far on `topic`."""
        return [event for event in self.events if event.topic == topic]

    def data_on(self, topic: str) -> list[Any]:
        """The payloads published so far on `topic`."""
        return [event.data for event in self.on(topic)]

    def states(self, plugin_id: str) -> list[str]:
        """The states announced for `plugin_id`, in order."""
        return [data["state"] for data in self.data_on(f"plugin/{plugin_id}/state")]

    def transitions(self) -> list[tuple[str, str]]:
        """Every (plugin id, state) announced, in order."""
        return [
            (event.topic.split("/")[1], event.data["state"])
            for event in self.events
            if event.topic.startswith("plugin/") and event.topic.endswith("/state")
        ]

    def host_settings(self) -> PluginHostSettings:
        """The plugin host's settings as written on disk."""
        return Settings(self.settings_path).load(PluginHostSettings)


@pytest.fixture
def plugins(tmp_path: Path) -> Iterator[PluginFolder]:
    """An empty plugin folder whose packages are forgotten after the test."""
    folder = PluginFolder(tmp_path / "plugins", f"mp{uuid.uuid4().hex[:12]}")
    folder.root.mkdir()
    yield folder
    folder.forget()


@pytest.fixture
def h(tmp_path: Path, plugins: PluginFolder) -> Harness:
    """The harness of one test."""
    return Harness(tmp_path, plugins)


def failing_init(times: int) -> str:
    """Source of a plugin whose init raises `times` times (forever if negative), then works."""
    return f"""
        from phantom_gui.plugins.contract import Plugin as _Base

        FAILURES_LEFT = {times}
        ATTEMPTS = 0


        class Plugin(_Base):
            def init(self, context):
                global FAILURES_LEFT, ATTEMPTS
                ATTEMPTS += 1
                if FAILURES_LEFT != 0:
                    FAILURES_LEFT -= 1
                    raise RuntimeError("the candle went out")
                super().init(context)
        """


def chain(h: Harness) -> None:
    """base ← mid ← top, and a lone plugin depending on nothing."""
    h.plugins.add("base")
    h.plugins.add("mid", dependencies=("base",))
    h.plugins.add("top", dependencies=("mid",))
    h.plugins.add("lone")


# -- discovery and the lifecycle events ---------------------------------------------------


def test_discovery_resolves_folder_plugins_and_announces_them(h: Harness) -> None:
    h.plugins.add("lantern")
    manager = h.manager()

    assert manager.records["lantern"].state is PluginState.RESOLVED
    assert manager.records["lantern"].discovered.origin == "folder"
    assert h.states("lantern") == ["discovered", "resolved"]
    assert h.data_on("plugin/discovery") == [{"plugins": ["lantern"], "problems": []}]


def test_a_bad_manifest_is_reported_and_the_other_plugins_still_load(h: Harness) -> None:
    h.plugins.add("lantern")
    broken = h.plugins.root / "broken_pack"
    broken.mkdir()
    (broken / "phantom-plugin.toml").write_text("schema_version = 1\n[plugin]\nid = 3\n")
    manager = h.manager()

    assert [problem.path for problem in manager.problems] == [broken / "phantom-plugin.toml"]
    assert "plugin.id" in manager.problems[0].message
    [discovery] = h.data_on("plugin/discovery")
    assert discovery["plugins"] == ["lantern"]
    assert discovery["problems"][0]["path"] == str(broken / "phantom-plugin.toml")
    run(manager.activate("lantern"))
    assert manager.records["lantern"].state is PluginState.ACTIVE


def test_every_transition_is_published_in_order(h: Harness) -> None:
    h.plugins.add("lantern")
    manager = h.manager()
    run(manager.activate("lantern"))
    run(manager.deactivate("lantern"))

    assert h.states("lantern") == [
        "discovered",
        "resolved",
        "loading",
        "active",
        "stopping",
        "stopped",
    ]
    previous = [data["previous"] for data in h.data_on("plugin/lantern/state")]
    assert previous == [None, "discovered", "resolved", "loading", "active", "stopping"]
    assert {event.source for event in h.on("plugin/lantern/state")} == {"plugins"}
    assert manager.records["lantern"].state is PluginState.STOPPED


def test_a_stopped_plugin_can_be_activated_again(h: Harness) -> None:
    h.plugins.add("lantern")
    manager = h.manager()
    run(manager.activate("lantern"))
    run(manager.deactivate("lantern"))
    run(manager.activate("lantern"))

    assert h.states("lantern")[-2:] == ["loading", "active"]
    assert manager.records["lantern"].load_attempts == 2


def test_activating_an_active_plugin_does_nothing(h: Harness) -> None:
    h.plugins.add("lantern")
    manager = h.manager()
    first = run(manager.activate("lantern")).instance
    run(manager.activate("lantern"))

    assert manager.records["lantern"].instance is first
    assert h.states("lantern").count("loading") == 1


def test_an_unknown_plugin_is_a_manifestation_error(h: Harness) -> None:
    manager = h.manager()
    with pytest.raises(ManifestationError, match="no plugin named 'nobody'"):
        run(manager.activate("nobody"))


def test_an_async_init_is_awaited_before_the_plugin_is_active(h: Harness) -> None:
    h.plugins.add(
        "slow",
        """
        import asyncio
        from phantom_gui.plugins.contract import Plugin as _Base


        class Plugin(_Base):
            ready = False

            async def init(self, context):
                await asyncio.sleep(0)
                self.ready = True
        """,
    )
    manager = h.manager()
    record = run(manager.activate("slow"))

    assert record.state is PluginState.ACTIVE
    assert record.instance.ready  # type: ignore[union-attr]


# -- failures in init and retries -----------------------------------------------------------


def test_a_plugin_raising_in_init_fails_after_three_retries_and_the_app_survives(
    h: Harness,
) -> None:
    h.plugins.add("cursed", failing_init(-1))
    h.plugins.add("lantern")
    manager = h.manager()

    with pytest.raises(ManifestationError) as caught:
        run(manager.activate("cursed"))

    record = manager.records["cursed"]
    assert "gave up after 4 attempts" in str(caught.value)
    assert "RuntimeError: the candle went out" in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert record.state is PluginState.FAILED
    assert record.load_attempts == 4
    assert h.plugins.module("cursed").ATTEMPTS == 4
    assert record.error == "RuntimeError: the candle went out"
    assert record.traceback is not None
    assert "RuntimeError: the candle went out" in record.traceback
    assert "in init" in record.traceback

    retries = h.data_on("plugin/cursed/retry")
    assert [retry["attempt"] for retry in retries] == [1, 2, 3]
    delays = [retry["delay"] for retry in retries]
    assert delays == [0.5, 1.0, 2.0]
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    assert {retry["error"] for retry in retries} == {"RuntimeError: the candle went out"}
    assert h.sleeps == delays
    assert h.states("cursed") == ["discovered", "resolved"] + ["loading", "failed"] * 4

    assert not h.hub.is_stopped
    run(manager.activate("lantern"))
    assert manager.records["lantern"].state is PluginState.ACTIVE
    heard = h.hub.publish("after/the/storm", 1, source="test")
    assert h.events[-1] is heard


def test_a_plugin_failing_twice_then_succeeding_ends_active(h: Harness) -> None:
    h.plugins.add("flaky", failing_init(2))
    manager = h.manager()
    record = run(manager.activate("flaky"))

    assert record.state is PluginState.ACTIVE
    assert record.load_attempts == 3
    assert record.error is None
    assert record.traceback is None
    assert [retry["attempt"] for retry in h.data_on("plugin/flaky/retry")] == [1, 2]
    assert h.sleeps == [0.5, 1.0]
    assert h.states("flaky")[2:] == ["loading", "failed", "loading", "failed", "loading", "active"]


def test_retry_load_honours_a_smaller_retry_budget(h: Harness) -> None:
    h.plugins.add("cursed", failing_init(-1))
    manager = h.manager()
    with pytest.raises(ManifestationError, match="gave up after 2 attempts"):
        run(manager.retry_load("cursed", max_retries=1))
    assert manager.records["cursed"].load_attempts == 2
    assert h.sleeps == [0.5]


def test_a_failed_plugin_can_be_activated_again_later(h: Harness) -> None:
    h.plugins.add("flaky", failing_init(4))
    manager = h.manager()
    with pytest.raises(ManifestationError):
        run(manager.activate("flaky"))
    record = run(manager.activate("flaky"))

    assert record.state is PluginState.ACTIVE
    assert record.load_attempts == 5


# -- the contract ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "problems"),
    [
        (
            """
            class Plugin:
                def init(self, context): ...
                def teardown(self): ...
            """,
            ["missing process()"],
        ),
        (
            """
            class Plugin:
                def init(self): ...
                def process(self, event): ...
                def teardown(self): ...
            """,
            ["init() must accept 1 argument(s) besides self"],
        ),
        (
            """
            class Plugin:
                def init(self): ...
                teardown = 3
            """,
            ["init() must accept", "missing process()", "teardown is not callable"],
        ),
    ],
    ids=["no-process", "init-without-context", "several"],
)
def test_a_plugin_breaking_the_contract_fails_to_load(
    h: Harness, source: str, problems: list[str]
) -> None:
    h.plugins.add("crooked", source)
    manager = h.manager()

    with pytest.raises(ManifestationError, match="does not implement the plugin contract") as err:
        run(manager.activate("crooked"))

    record = manager.records["crooked"]
    assert record.state is PluginState.FAILED
    assert record.instance is None
    for problem in problems:
        assert problem in str(err.value)
        assert problem in (record.error or "")
    assert "crooked" in str(err.value)


def test_an_entry_naming_a_missing_class_fails_with_its_name(h: Harness) -> None:
    h.plugins.add("lost", class_name="Nowhere")
    manager = h.manager()
    with pytest.raises(ManifestationError, match="has no Nowhere"):
        run(manager.activate("lost"))
    assert manager.records["lost"].state is PluginState.FAILED


# -- dependencies ---------------------------------------------------------------------------


def test_activating_a_plugin_activates_its_dependencies_first(h: Harness) -> None:
    chain(h)
    manager = h.manager()
    run(manager.activate("top"))

    activations = [pid for pid, state in h.transitions() if state == "active"]
    assert activations == ["base", "mid", "top"]
    assert manager.records["lone"].state is PluginState.RESOLVED
    assert manager.load_order().index("base") < manager.load_order().index("mid")
    assert manager.load_order().index("mid") < manager.load_order().index("top")


def test_deactivating_a_dependency_unloads_its_dependants_first(h: Harness) -> None:
    chain(h)
    manager = h.manager()
    run(manager.activate("top"))
    run(manager.activate("lone"))
    start = len(h.events)

    unloaded = run(manager.deactivate("base"))

    assert unloaded == ["top", "mid", "base"]
    later = [(e.topic.split("/")[1], e.data["state"]) for e in h.events[start:]]
    assert later == [
        ("top", "stopping"),
        ("top", "stopped"),
        ("mid", "stopping"),
        ("mid", "stopped"),
        ("base", "stopping"),
        ("base", "stopped"),
    ]
    assert manager.records["lone"].state is PluginState.ACTIVE


def test_a_dependency_cycle_fails_only_the_plugins_involved(h: Harness) -> None:
    h.plugins.add("ouija", dependencies=("planchette",))
    h.plugins.add("planchette", dependencies=("ouija",))
    h.plugins.add("medium", dependencies=("ouija",))
    h.plugins.add("lantern")
    manager = h.manager()

    for plugin_id in ("ouija", "planchette"):
        record = manager.records[plugin_id]
        assert record.state is PluginState.FAILED
        assert record.error == "dependency cycle: ouija → planchette → ouija"
    assert manager.records["medium"].state is PluginState.FAILED
    assert manager.records["medium"].error == "depends on ouija, which cannot load"
    assert h.data_on("plugin/ouija/state")[-1]["error"].startswith("dependency cycle")

    with pytest.raises(ManifestationError, match="ouija: dependency cycle"):
        run(manager.activate("ouija"))
    with pytest.raises(ManifestationError, match="medium: depends on ouija"):
        run(manager.activate("medium"))
    assert h.states("ouija") == ["discovered", "failed"]

    run(manager.activate("lantern"))
    assert manager.records["lantern"].state is PluginState.ACTIVE
    assert manager.load_order() == ["lantern"]


def test_a_missing_dependency_names_it(h: Harness) -> None:
    h.plugins.add("seer", dependencies=("crystal_ball",))
    h.plugins.add("lantern")
    manager = h.manager()

    record = manager.records["seer"]
    assert record.state is PluginState.FAILED
    assert record.error == "needs crystal_ball, which is not installed"
    with pytest.raises(ManifestationError, match="seer: needs crystal_ball"):
        run(manager.activate("seer"))
    assert manager.records["lantern"].state is PluginState.RESOLVED


def test_an_unmet_version_range_names_the_dependency_and_both_versions(h: Harness) -> None:
    h.plugins.add("base", version="1.0.0")
    h.plugins.add("needy", dependencies=("base>=2",))
    h.plugins.add("content", dependencies=("base>=1,<2",))
    manager = h.manager()

    record = manager.records["needy"]
    assert record.state is PluginState.FAILED
    assert record.error == "needs base>=2, but version 1.0.0 is installed"
    with pytest.raises(ManifestationError, match=r"needs base>=2, but version 1\.0\.0"):
        run(manager.activate("needy"))
    run(manager.activate("content"))
    assert manager.records["content"].state is PluginState.ACTIVE
    assert manager.records["base"].state is PluginState.ACTIVE


def test_a_dependency_failing_to_load_fails_the_activation_of_its_dependant(h: Harness) -> None:
    h.plugins.add("base", failing_init(-1))
    h.plugins.add("child", dependencies=("base",))
    manager = h.manager()

    with pytest.raises(ManifestationError, match="base: gave up"):
        run(manager.activate("child"))
    assert manager.records["base"].state is PluginState.FAILED
    assert manager.records["child"].state is PluginState.RESOLVED
    assert manager.records["child"].load_attempts == 0


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
    assert error["where"] == "process"
    assert error["error"] == "BanishmentError"
    assert record.state is PluginState.ACTIVE

    h.hub.publish("sensor/door", "closed", source="test")
    assert record.instance.calls == 2  # type: ignore[union-attr]
    assert len(h.data_on(SECURITY_TOPIC)) == 2
    assert not h.hub.is_stopped


# -- process() and the circuit breaker ------------------------------------------------------


def test_consumed_events_reach_process_and_its_outputs_are_published(h: Harness) -> None:
    h.plugins.add(
        "echo",
        ECHO,
        permissions=("hub:subscribe:sensor/#", "hub:publish:echo/#"),
        consumes=("sensor/#",),
    )
    manager = h.manager()
    record = run(manager.activate("echo"))

    h.hub.publish("sensor/temp", 21, source="test")
    h.hub.publish("elsewhere/temp", 99, source="test")
    h.hub.publish("sensor/humidity", 40, source="test")

    assert record.instance.seen == [21, 40]  # type: ignore[union-attr]
    assert [(e.topic, e.data, e.source) for e in h.events if e.topic.startswith("echo/")] == [
        ("echo/temp", 42, "echo"),
        ("echo/humidity", 80, "echo"),
    ]


def test_no_event_reaches_process_after_deactivation(h: Harness) -> None:
    h.plugins.add(
        "echo",
        ECHO,
        permissions=("hub:subscribe:sensor/#", "hub:publish:echo/#"),
        consumes=("sensor/#",),
    )
    manager = h.manager()
    instance = run(manager.activate("echo")).instance
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
    h.plugins.add(
        "fragile",
        source,
        permissions=("hub:subscribe:sensor/#", "hub:publish:echo/#"),
        consumes=("sensor/#",),
    )
    manager = h.manager()
    return run(manager.activate("fragile"))


def poke(h: Harness, times: int = 1) -> None:
    """Publish `times` sensor events."""
    for _ in range(times):
        h.hub.publish("sensor/poke", None, source="test")


def test_a_process_that_keeps_raising_trips_the_breaker_then_gets_one_trial(
    h: Harness,
) -> None:
    record = breakable(h)
    instance: Any = record.instance

    poke(h, 5)
    assert instance.calls == 5
    assert len(h.data_on("plugin/fragile/error")) == 5
    assert h.data_on("plugin/fragile/breaker") == [{"state": "open", "trips": 1}]
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
        {"state": "open", "trips": 1},
        {"state": "open", "trips": 2},
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
    assert h.data_on("plugin/fragile/breaker") == [{"state": "open", "trips": 1}]
    assert record.error == "process: RuntimeError: ectoplasm spilled"


def test_a_plugin_does_not_keep_a_subscription_per_processed_event(h: Harness) -> None:
    h.plugins.add(
        "echo",
        ECHO,
        permissions=("hub:subscribe:sensor/#", "hub:publish:echo/#"),
        consumes=("sensor/#",),
    )
    manager = h.manager()
    record = run(manager.activate("echo"))
    wired = len(record.wiring)

    for value in range(500):
        h.hub.publish("sensor/temp", value, source="test")

    assert len(h.data_on("echo/temp")) == 500
    assert len(record.wiring) == wired


# -- hot reload -----------------------------------------------------------------------------

RELOADABLE = """
import reactivex
from phantom_gui.plugins.contract import Plugin as _Base

VERSION = "{version}"


class Plugin(_Base):
    def init(self, context):
        super().init(context)
        self.seen = 0
        context.hub.publish("ghost/version", {{"version": VERSION}})

    def process(self, event):
        self.seen += 1
        return reactivex.of(("ghost/seen", {{"version": VERSION, "seen": self.seen}}))

    def snapshot(self):
        return {{"seen": self.seen}}

    def restore(self, state):
        self.seen = state["seen"]
"""


def rewrite(module: Path, source: str) -> None:
    """Replace a module's source and move its mtime on, so no stale bytecode is used."""
    stat = module.stat()
    module.write_text(textwrap.dedent(source), encoding="utf-8")
    os.utime(module, (stat.st_atime + 5, stat.st_mtime + 5))


def test_reload_runs_the_new_code_restores_the_snapshot_and_the_dependants(h: Harness) -> None:
    module = h.plugins.add(
        "shade",
        RELOADABLE.format(version="first"),
        permissions=("hub:subscribe:sensor/#", "hub:publish:ghost/#"),
        consumes=("sensor/#",),
    )
    h.plugins.add("follower", dependencies=("shade",))
    manager = h.manager()
    run(manager.activate("follower"))
    before = manager.records["shade"].instance
    poke(h, 2)
    assert h.data_on("ghost/seen")[-1] == {"version": "first", "seen": 2}

    rewrite(module, RELOADABLE.format(version="second edition"))
    start = len(h.events)
    record = run(manager.reload("shade"))

    assert record.state is PluginState.ACTIVE
    assert record.instance is not before
    assert h.data_on("ghost/version") == [{"version": "first"}, {"version": "second edition"}]
    poke(h)
    assert h.data_on("ghost/seen")[-1] == {"version": "second edition", "seen": 3}
    assert manager.records["follower"].state is PluginState.ACTIVE
    assert [
        (e.topic.split("/")[1], e.data["state"])
        for e in h.events[start:]
        if e.topic.endswith("/state")
    ] == [
        ("follower", "stopping"),
        ("follower", "stopped"),
        ("shade", "stopping"),
        ("shade", "stopped"),
        ("shade", "loading"),
        ("shade", "active"),
        ("follower", "loading"),
        ("follower", "active"),
    ]
    assert h.data_on("plugin/shade/reloaded") == [{"restored": True}]


def test_reload_of_a_plugin_without_snapshot_says_nothing_was_restored(h: Harness) -> None:
    plain = "from phantom_gui.plugins.contract import Plugin\nCOLOR = {!r}\n"
    module = h.plugins.add("lantern", plain.format("red"))
    manager = h.manager()
    run(manager.activate("lantern"))
    rewrite(module, plain.format("green-blue"))
    run(manager.reload("lantern"))

    assert h.plugins.module("lantern").COLOR == "green-blue"
    assert h.data_on("plugin/lantern/reloaded") == [{"restored": False}]


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
    assert haunt.data == {"disturbance": True, "spookiness": "terrifying"}
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

    ticking = manager.start_haunting(scheduler, 5.0)
    scheduler.advance_to(4.9)
    assert times == []
    scheduler.advance_to(17.0)
    assert times == [5.0, 10.0, 15.0]

    ticking.dispose()
    scheduler.advance_to(60.0)
    assert times == [5.0, 10.0, 15.0]
    assert h.data_on("ghost/boo") == [1, 2, 3]


# -- disable, enable and the remembered session ---------------------------------------------


def test_disable_unloads_dependants_persists_and_survives_a_restart(h: Harness) -> None:
    h.plugins.add("base")
    h.plugins.add("child", dependencies=("base",))
    manager = h.manager()
    run(manager.activate("child"))

    run(manager.disable("base"))

    assert manager.records["base"].state is PluginState.DISABLED
    assert manager.records["child"].state is PluginState.STOPPED
    assert h.states("base")[-3:] == ["stopping", "stopped", "disabled"]
    assert h.host_settings().disabled == ("base",)
    with pytest.raises(ManifestationError, match="base is disabled"):
        run(manager.activate("base"))

    h.events.clear()
    again = h.manager()
    assert again.records["base"].state is PluginState.DISABLED
    assert h.states("base") == ["discovered", "disabled"]
    with pytest.raises(ManifestationError, match="disabled"):
        run(again.activate("base"))
    with pytest.raises(ManifestationError, match="disabled"):
        run(again.activate("child"))
    assert again.records["base"].load_attempts == 0

    again.enable("base")
    assert again.records["base"].state is PluginState.RESOLVED
    assert h.host_settings().disabled == ()
    run(again.activate("child"))
    assert again.records["base"].state is PluginState.ACTIVE
    assert again.records["child"].state is PluginState.ACTIVE


def test_enable_of_a_plugin_that_was_never_disabled_changes_nothing(h: Harness) -> None:
    h.plugins.add("lantern")
    manager = h.manager()
    run(manager.activate("lantern"))
    manager.enable("lantern")
    assert manager.records["lantern"].state is PluginState.ACTIVE


def test_a_remembered_plugin_is_restored_by_a_new_manager(h: Harness) -> None:
    h.plugins.add("base")
    h.plugins.add("child", dependencies=("base",))
    h.plugins.add("forgotten")
    manager = h.manager()
    run(manager.activate("child", remember=True))
    run(manager.activate("forgotten", remember=True))
    run(manager.deactivate("forgotten", remember=True))
    assert h.host_settings().active == ("child",)
    run(manager.shutdown())

    again = h.manager()
    run(again.restore_session())

    assert again.records["child"].state is PluginState.ACTIVE
    assert again.records["base"].state is PluginState.ACTIVE
    assert again.records["forgotten"].state is PluginState.RESOLVED


def test_restoring_a_session_goes_on_past_a_plugin_that_fails(h: Harness) -> None:
    h.plugins.add("cursed", failing_init(-1))
    h.plugins.add("lantern")
    Settings(h.settings_path).save(PluginHostSettings(active=("cursed", "lantern", "uninstalled")))
    manager = h.manager()

    run(manager.restore_session())

    assert manager.records["cursed"].state is PluginState.FAILED
    assert manager.records["lantern"].state is PluginState.ACTIVE


# -- teardown and shutdown ------------------------------------------------------------------


def test_a_plugin_raising_in_teardown_ends_failed_and_its_disposables_are_disposed(
    h: Harness,
) -> None:
    h.plugins.add(
        "messy",
        """
        from phantom_gui.plugins.contract import Plugin as _Base

        RELEASED = []
        HEARD = []


        class Plugin(_Base):
            def init(self, context):
                context.register_disposable(lambda: RELEASED.append("candles"))
                context.hub.on("sensor/#").subscribe(HEARD.append)

            def teardown(self):
                raise OSError("the door is stuck")
        """,
        permissions=("hub:subscribe:sensor/#",),
    )
    manager = h.manager()
    run(manager.activate("messy"))
    module = h.plugins.module("messy")
    assert h.hub.subscription_count == 1

    unloaded = run(manager.deactivate("messy"))

    record = manager.records["messy"]
    assert unloaded == ["messy"]
    assert record.state is PluginState.FAILED
    assert record.error == "teardown: OSError: the door is stuck"
    assert record.traceback is not None
    assert "OSError: the door is stuck" in record.traceback
    assert h.states("messy")[-2:] == ["stopping", "failed"]
    assert module.RELEASED == ["candles"]
    assert h.hub.subscription_count == 0
    h.hub.publish("sensor/door", 1, source="test")
    assert module.HEARD == []
    assert record.instance is None

    run(manager.activate("messy"))
    assert record.state is PluginState.ACTIVE


def test_a_failed_load_disposes_what_init_registered(h: Harness) -> None:
    h.plugins.add(
        "half_done",
        """
        from phantom_gui.plugins.contract import Plugin as _Base

        RELEASED = []


        class Plugin(_Base):
            def init(self, context):
                context.register_disposable(lambda: RELEASED.append("lamp"))
                context.hub.on("sensor/#").subscribe(print)
                raise RuntimeError("half way")
        """,
        permissions=("hub:subscribe:sensor/#",),
    )
    manager = h.manager()
    with pytest.raises(ManifestationError):
        run(manager.activate("half_done"))
    assert h.plugins.module("half_done").RELEASED == ["lamp"] * 4
    assert h.hub.subscription_count == 0


def test_shutdown_unloads_everything_dependants_first(h: Harness) -> None:
    chain(h)
    manager = h.manager()
    run(manager.activate("top"))
    run(manager.activate("lone"))
    start = len(h.events)

    run(manager.shutdown())

    assert {pid: record.state for pid, record in manager.records.items()} == dict.fromkeys(
        ("base", "mid", "top", "lone"), PluginState.STOPPED
    )
    stopping = [
        e.topic.split("/")[1]
        for e in h.events[start:]
        if e.topic.endswith("/state") and e.data["state"] == "stopping"
    ]
    assert sorted(stopping) == ["base", "lone", "mid", "top"]
    assert stopping.index("top") < stopping.index("mid") < stopping.index("base")


def test_shutdown_keeps_the_remembered_session(h: Harness) -> None:
    h.plugins.add("lantern")
    manager = h.manager()
    run(manager.activate("lantern", remember=True))
    run(manager.shutdown())
    assert h.host_settings().active == ("lantern",)
