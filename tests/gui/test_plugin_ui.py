"""Haunt packs as a user meets them: the menu, docks, the manager dialog, notifications."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDockWidget, QLabel

from phantom_gui.core.resilience import Backoff
from phantom_gui.plugins.host_settings import PluginHostSettings
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.qt.docks import dock_name

from support.waiting import until

pytestmark = pytest.mark.screen

UI_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "ui_plugins"


@pytest.fixture
def window(make_main_window):
    """A main window that discovers the test plugins; loads retry without long waits."""
    window = make_main_window(plugin_dirs=(UI_PLUGINS,))
    manager = window._services.plugins
    manager.load_policy = replace(manager.load_policy, backoff=Backoff(base=0.01, maximum=0.02))
    return window


def _plugin_docks(window) -> list[QDockWidget]:
    return [
        dock
        for dock in window.findChildren(QDockWidget)
        if dock.objectName().startswith("plugin-dock:")
    ]


def _candle_label(window) -> QLabel:
    return window.plugin_docks.docks["phantom_candle"].findChild(QLabel, "candleLabel")


def test_the_menu_lists_plugins_with_state_and_permissions(window) -> None:
    menu = window.haunt_menu
    candle = menu.plugin_actions["phantom_candle"]
    assert candle.text() == "Candle\tavailable"
    assert "hub:subscribe:candle/#" in candle.toolTip()
    submenus = {action.text(): action.menu() for action in menu.actions() if action.menu()}
    assert candle in submenus["Test"].actions()
    assert any(action.text() == "&Manage Haunt Packs…" for action in menu.actions())


def test_choosing_a_plugin_loads_it_into_one_dock_that_toggles(window, run_on_loop) -> None:
    manager = window._services.plugins
    candle = window.haunt_menu.plugin_actions["phantom_candle"]

    async def scenario() -> None:
        candle.trigger()
        await until(lambda: "phantom_candle" in window.plugin_docks.docks)
        dock = window.plugin_docks.docks["phantom_candle"]
        assert dock.isVisible() and dock.objectName() == dock_name("phantom_candle")
        assert manager.records["phantom_candle"].state is PluginState.ACTIVE
        assert candle.text() == "Candle\tactive"

        candle.trigger()
        assert not dock.isVisible()
        candle.trigger()
        assert dock.isVisible()
        assert _plugin_docks(window) == [dock]

        window._services.hub.publish("candle/lit", 1, source="test")
        await until(lambda: _candle_label(window).text() == "steady: 1")

    run_on_loop(scenario())


def _failure_toasts(window) -> list:  # type: ignore[no-untyped-def, type-arg]
    return [toast for toast in window.notifications.toasts() if toast.title != "Warning"]


def test_a_plugin_that_fails_to_load_is_reported_and_the_app_lives_on(window, run_on_loop) -> None:
    manager = window._services.plugins
    cursed = window.haunt_menu.plugin_actions["phantom_cursed"]

    async def scenario() -> None:
        cursed.trigger()
        await until(lambda: window.tasks.pending == 0 and _failure_toasts(window))

    run_on_loop(scenario())
    record = manager.records["phantom_cursed"]
    assert record.state is PluginState.FAILED
    assert record.load_attempts == 4
    assert "the relic crumbles to dust" in record.error
    [toast] = _failure_toasts(window)  # (the first run's audit notice is a "Warning")
    assert toast.title == "Could not load Cursed Relic"
    assert "gave up after 4 attempts" in toast.detail
    assert cursed.text() == "Cursed Relic\tfailed"
    assert _plugin_docks(window) == []

    window.show_plugin_manager()
    dialog = window.plugin_dialog
    dialog.select("phantom_cursed")
    details = dialog.details.toPlainText()
    assert "the relic crumbles to dust" in details
    assert "Traceback" in details
    assert dialog.load_button.isEnabled() and not dialog.unload_button.isEnabled()
    dialog.close()


def test_disable_and_enable_from_the_manager_dialog(window, run_on_loop) -> None:
    manager = window._services.plugins
    settings = window._services.settings
    window.show_plugin_manager()
    dialog = window.plugin_dialog
    dialog.select("phantom_candle")

    async def scenario() -> None:
        dialog.load_button.click()
        await until(lambda: "phantom_candle" in window.plugin_docks.docks)
        dialog.disable_button.click()
        await until(lambda: manager.records["phantom_candle"].state is PluginState.DISABLED)

    run_on_loop(scenario())
    assert "phantom_candle" not in window.plugin_docks.docks
    assert settings.load(PluginHostSettings).disabled == ("phantom_candle",)
    candle = window.haunt_menu.plugin_actions["phantom_candle"]
    assert not candle.isEnabled() and candle.text() == "Candle\tdisabled"
    assert dialog.enable_button.isEnabled() and not dialog.load_button.isEnabled()

    dialog.enable_button.click()
    assert manager.records["phantom_candle"].state is PluginState.RESOLVED
    assert settings.load(PluginHostSettings).disabled == ()
    assert candle.isEnabled()
    dialog.close()


def test_reload_rebuilds_the_panel_and_keeps_its_state(window, run_on_loop) -> None:
    manager = window._services.plugins
    hub = window._services.hub

    async def scenario() -> None:
        await manager.activate("phantom_candle")
        for _ in range(3):
            hub.publish("candle/lit", None, source="test")
        await until(lambda: _candle_label(window).text() == "steady: 3")
        old_dock = window.plugin_docks.docks["phantom_candle"]
        await manager.reload("phantom_candle")
        await until(lambda: window.plugin_docks.docks.get("phantom_candle") not in (None, old_dock))

    run_on_loop(scenario())
    assert _candle_label(window).text() == "steady: 3"
    assert len(_plugin_docks(window)) == 1


def test_a_haunt_with_a_disturbance_makes_the_panel_flicker(window, run_on_loop) -> None:
    manager = window._services.plugins
    seen = []
    window._services.hub.on("candle/flicker").subscribe(lambda event: seen.append(event.data))

    async def scenario() -> None:
        await manager.activate("phantom_candle")
        await until(lambda: "phantom_candle" in window.plugin_docks.docks)
        panel = window.plugin_docks.docks["phantom_candle"].widget()
        await until(lambda: panel.graphicsEffect() is None, timeout=3)
        replayed = {"plugin_id": "phantom_candle", "disturbance": True}
        window._services.hub.publish("plugin/phantom_candle/haunt", replayed, source="replay")
        assert panel.graphicsEffect() is None
        assert manager.haunt_tick() == ["phantom_candle"]
        assert panel.graphicsEffect() is not None
        await until(lambda: panel.graphicsEffect() is None, timeout=3)

    run_on_loop(scenario())
    assert seen == ["steady"]


def test_the_dock_layout_is_restored_with_the_plugins_after_a_restart(
    make_main_window, run_on_loop, tmp_path
) -> None:
    data = tmp_path / "shared"
    first = make_main_window(data_dir=data, plugin_dirs=(UI_PLUGINS,))

    async def load() -> None:
        first.haunt_menu.plugin_actions["phantom_candle"].trigger()
        await until(lambda: "phantom_candle" in first.plugin_docks.docks)

    run_on_loop(load())
    first.plugin_docks.docks["phantom_candle"].setFloating(True)
    first.close()
    run_on_loop(first._services.stop())

    second = make_main_window(data_dir=data, plugin_dirs=(UI_PLUGINS,))
    run_on_loop(second._services.plugins.restore_session())
    dock = second.plugin_docks.docks["phantom_candle"]
    assert dock.isVisible() and dock.isFloating()


FUTURE_MANIFEST = """\
schema_version = 2

[plugin]
id = "phantom_future"
name = "Future Lamp"
version = "2.0.0"
entry = "phantom_future.plugin:Lamp"
glow = "violet"
"""


def test_the_manager_dialog_speaks_plain_words_and_shows_discovery_warnings(
    make_main_window, run_on_loop, tmp_path: Path
) -> None:
    future = tmp_path / "future" / "phantom_future"
    future.mkdir(parents=True)
    (future / "phantom-plugin.toml").write_text(FUTURE_MANIFEST, encoding="utf-8")
    window = make_main_window(plugin_dirs=(UI_PLUGINS, tmp_path / "future"))
    manager = window._services.plugins
    window.show_plugin_manager()
    dialog = window.plugin_dialog

    dialog.select("phantom_cursed")
    assert "Haunts\nnever (haunt probability 0)" in dialog.details.toPlainText()
    dialog.select("phantom_candle")
    assert (
        "Haunts\nat every haunt tick (every 5 s); has not haunted yet this session"
        in dialog.details.toPlainText()
    )
    run_on_loop(manager.activate("phantom_candle"))
    manager.haunt_tick()
    details = dialog.details.toPlainText()
    assert "haunted once this session" in details
    assert "State\nrunning" in details
    assert "Panel\n“Candle”, docked right, listed under Haunt Packs › Test" in details
    assert "p = " not in details

    notes = dialog.problems.text()
    assert dialog.problems.isVisible()
    assert "Found with a warning:" in notes
    assert "written for manifest schema 2" in notes and "plugin.glow" in notes
    assert "Future Lamp" in window.haunt_menu.plugin_actions["phantom_future"].text()
    notices = [action.text() for action in window.haunt_menu.actions()]
    assert "1 plugin warning found…" in notices
    dialog.close()
