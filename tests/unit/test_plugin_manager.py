"""The plugin manager composing the host: discovery, the lifecycle events, dependencies,
the disabled list and the remembered session, teardown and shutdown."""

from __future__ import annotations

import pytest

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.host_settings import PluginHostSettings
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.status import DiscoveryReport

from support.plugin_host import Harness, chain, failing_init, plugin_harness, run

h = pytest.fixture(name="h")(plugin_harness)


# -- discovery and the lifecycle events ---------------------------------------------------


def test_discovery_resolves_folder_plugins_and_announces_them(h: Harness) -> None:
    h.plugins.add("lantern")
    manager = h.manager()

    assert manager.records["lantern"].state is PluginState.RESOLVED
    assert manager.records["lantern"].discovered.origin == "folder"
    assert h.states("lantern") == ["discovered", "resolved"]
    assert h.data_on("plugin/discovery") == [DiscoveryReport(("lantern",), (), ())]


def test_a_bad_manifest_is_reported_and_the_other_plugins_still_load(h: Harness) -> None:
    h.plugins.add("lantern")
    broken = h.plugins.root / "broken_pack"
    broken.mkdir()
    (broken / "phantom-plugin.toml").write_text("schema_version = 1\n[plugin]\nid = 3\n")
    manager = h.manager()

    [problem] = manager.problems
    assert problem.path == str(broken / "phantom-plugin.toml")
    assert "plugin.id" in problem.message
    [discovery] = h.data_on("plugin/discovery")
    assert discovery == DiscoveryReport(("lantern",), (problem,), ())
    assert h.board().problems == (problem,)
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
    previous = [status.previous for status in h.data_on("plugin/lantern/state")]
    assert previous == [None, *(PluginState(state) for state in h.states("lantern")[:-1])]
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
    assert h.transitions(since=start) == [
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
    assert h.data_on("plugin/ouija/state")[-1].error.startswith("dependency cycle")

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
    stopping = [pid for pid, state in h.transitions(since=start) if state == "stopping"]
    assert sorted(stopping) == ["base", "lone", "mid", "top"]
    assert stopping.index("top") < stopping.index("mid") < stopping.index("base")


def test_shutdown_keeps_the_remembered_session(h: Harness) -> None:
    h.plugins.add("lantern")
    manager = h.manager()
    run(manager.activate("lantern", remember=True))
    run(manager.shutdown())
    assert h.host_settings().active == ("lantern",)
