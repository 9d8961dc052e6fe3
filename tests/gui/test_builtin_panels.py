"""The Hub Monitor and the example lantern: real plugins, loaded by the real manager,
their panels built over a real hub and shown on the virtual screen."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractAnimation
from PySide6.QtWidgets import QApplication

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.manager import PluginManager

pytestmark = pytest.mark.screen

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"


@pytest.fixture
def hub() -> EventHub:
    return EventHub()


@pytest.fixture
def manager(hub: EventHub, tmp_path: Path, run_on_loop) -> Iterator[PluginManager]:  # type: ignore[no-untyped-def]
    """A plugin manager that finds the built-ins and the example plugins."""
    manager = PluginManager(
        hub, Settings(tmp_path / "settings.json"), tmp_path / "plugin-data", [EXAMPLES], seed=13
    )
    manager.discover()
    yield manager
    run_on_loop(manager.shutdown())


def topics_shown(panel) -> list[str]:  # type: ignore[no-untyped-def]
    table = panel.events
    return [table.index(row, 1).data() for row in range(table.rowCount())]


def show(qtbot, widget, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)


def test_the_hub_monitor_shows_filters_pauses_and_clears_events(
    qtbot, manager: PluginManager, hub: EventHub, run_on_loop, tmp_path: Path
) -> None:
    monitor = run_on_loop(manager.activate("phantom_hub_monitor")).instance
    panel = monitor.create_panel(None)
    show(qtbot, panel, (900, 360))
    rows_before = panel.events.rowCount()

    for sensor in range(3):
        hub.publish(f"cauldron/sensor/s{sensor}/reading", {"value": 20 + sensor}, source="mqtt")
    hub.publish("seance/voice", {"level": 0.4}, source="seance")
    assert panel.events.rowCount() == rows_before, "the table must wait for its frame clock"
    qtbot.waitUntil(lambda: topics_shown(panel)[0] == "seance/voice")
    assert topics_shown(panel)[1] == "cauldron/sensor/s2/reading"
    assert panel.events.index(1, 2).data() == "mqtt"
    assert panel.events.index(1, 3).data() == '{"value": 22}'

    panel.filter_edit.setText("cauldron/sensor/+/reading")
    qtbot.waitUntil(lambda: len(topics_shown(panel)) == 3)
    assert all(topic.startswith("cauldron/sensor/") for topic in topics_shown(panel))
    assert not panel.filter_error.isVisible()

    panel.filter_edit.setText("cauldron/#/reading")
    assert panel.filter_error.isVisible()
    assert "'#' must be the whole last level" in panel.filter_error.text()
    assert "Still showing cauldron/sensor/+/reading" in panel.filter_error.text()
    assert monitor.model.pattern == "cauldron/sensor/+/reading"
    panel.filter_edit.setText("cauldron/#")
    assert not panel.filter_error.isVisible()
    QApplication.processEvents()  # let the layout take back the error line's room
    panel.grab().save(str(tmp_path / "hub_monitor.png"))
    assert (tmp_path / "hub_monitor.png").stat().st_size > 0

    panel.pause_button.click()
    assert panel.pause_button.text() == "Resume"
    hub.publish("cauldron/sensor/s9/reading", {"value": 99}, source="mqtt")
    qtbot.waitUntil(lambda: "1 skipped" in panel.status.text())
    assert "cauldron/sensor/s9/reading" not in topics_shown(panel)
    panel.pause_button.click()
    hub.publish("cauldron/sensor/s8/reading", {"value": 98}, source="mqtt")
    qtbot.waitUntil(lambda: topics_shown(panel)[:1] == ["cauldron/sensor/s8/reading"])

    panel.clear_button.click()
    assert panel.events.rowCount() == 0


def test_the_hub_monitor_keeps_its_filter_and_pause_across_a_hot_reload(
    qtbot, manager: PluginManager, hub: EventHub, run_on_loop
) -> None:
    old = run_on_loop(manager.activate("phantom_hub_monitor")).instance
    panel = old.create_panel(None)
    show(qtbot, panel, (600, 300))
    panel.filter_edit.setText("plugin/+/state")
    panel.pause_button.click()

    record = run_on_loop(manager.reload("phantom_hub_monitor"))
    new = record.instance
    assert new is not old and record.state is PluginState.ACTIVE
    assert (new.model.pattern, new.model.paused) == ("plugin/+/state", True)
    new_panel = new.create_panel(None)
    show(qtbot, new_panel, (600, 300))
    assert new_panel.filter_edit.text() == "plugin/+/state"
    assert new_panel.pause_button.isChecked()

    old_count, new_skipped = old.model.seen + old.model.skipped, new.model.skipped
    hub.publish("app/started", {}, source="app")
    assert old.model.seen + old.model.skipped == old_count, "the old subscription must end"
    assert new.model.skipped == new_skipped + 1

    new.restore({"filter": "app/#", "paused": False})
    qtbot.waitUntil(lambda: new_panel.filter_edit.text() == "app/#")
    assert not new_panel.pause_button.isChecked() and new_panel.pause_button.text() == "Pause"


def test_the_lantern_answers_flickers_and_remembers_its_brightness(
    qtbot, manager: PluginManager, hub: EventHub, run_on_loop, tmp_path: Path
) -> None:
    published: list[SpectralEvent] = []
    hub.on("lantern/#").subscribe(published.append)
    lantern = run_on_loop(manager.activate("phantom_lantern")).instance
    panel = lantern.create_panel(None)
    show(qtbot, panel, (340, 380))
    assert panel.slider.value() == 70

    hub.publish("app/started", {}, source="app")
    hub.publish("app/stopping", {}, source="app")
    assert [(e.topic, e.source, e.data["mood"]) for e in published] == [
        ("lantern/seen", "phantom_lantern", "glows")
    ]

    panel.slider.setValue(35)
    assert Settings(tmp_path / "settings.json").section("plugin/phantom_lantern") == {
        "brightness": 35
    }
    assert panel.value_label.text() == "35%"

    animation = panel.lantern_view.flicker_animation
    assert animation.state() == QAbstractAnimation.State.Stopped
    for _ in range(200):
        if "phantom_lantern" in manager.haunt_tick():
            break
    flickers = [event for event in published if event.topic == "lantern/flicker"]
    assert [event.data for event in flickers] == [{"brightness": 35, "flicker": 1}]
    assert animation.state() == QAbstractAnimation.State.Running
    qtbot.waitUntil(lambda: panel.lantern_view.glow < 0.5, timeout=2000)
    panel.grab().save(str(tmp_path / "lantern.png"))
    assert (tmp_path / "lantern.png").stat().st_size > 0
    qtbot.waitUntil(lambda: animation.state() == QAbstractAnimation.State.Stopped, timeout=3000)
    assert panel.lantern_view.glow == pytest.approx(1.0)
    qtbot.waitUntil(lambda: "1 flickers" in panel.status.text())

    run_on_loop(manager.deactivate("phantom_lantern"))
    stats = tmp_path / "plugin-data" / "phantom_lantern" / "lantern.json"
    assert json.loads(stats.read_text()) == {"sightings": 1}
    again = run_on_loop(manager.activate("phantom_lantern")).instance
    assert (again.brightness, again.sightings) == (35, 1)
    again_panel = again.create_panel(None)
    show(qtbot, again_panel, (340, 380))
    again.restore({"brightness": 80, "sightings": 4})
    qtbot.waitUntil(lambda: again_panel.slider.value() == 80)
    assert "4 sightings" in again_panel.status.text()


def test_the_monitor_model_is_a_bounded_ring_with_counts_per_topic() -> None:
    from phantom_hub_monitor.model import MonitorModel, preview

    model = MonitorModel(capacity=3)
    for n in range(5):
        model.record(SpectralEvent(f"t/{n % 2}", n, "test"))
    assert [event.data for event in model.visible()] == [4, 3, 2]
    assert dict(model.counts) == {"t/0": 3, "t/1": 2} and model.seen == 5
    model.set_pattern("t/1")
    assert [event.data for event in model.visible()] == [3]
    with pytest.raises(ValueError, match="'\\+' must be a whole level"):
        model.set_pattern("t/1+")
    assert model.pattern == "t/1"
    assert preview({"text": "x" * 500}, limit=20) == '{"text": "xxxxxxxxx…'
    assert preview({"seen": {3}}) == '{"seen": "{3}"}'
