"""Brew in the running app: the chosen recipe goes over a real broker to a simulated
cauldron, which follows it; the Brewing tab shows the steps, then the predicted pH and
temperature against the measured ones; the brew is a run in the audit log, and so is the
evolution before it, and both replay from the log into a Brewing tab opened afresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from phantom_cauldron.brewing.commands import BREW_TOPIC
from phantom_cauldron.recipes.catalogue import load_catalogue
from phantom_cauldron.recipes.model import BrewingStep, PotionRecipe
from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.replay import ReplaySession
from phantom_gui.core.scheduling import loop_scheduler

from support.mosquitto import MosquittoBroker
from support.simulated_cauldron import simulated_cauldron

SPEED = 100.0
TEMPERATURE_TOLERANCE = 1.5
"""°C: the brew's sensor lags and is noisy (as the recipes' own test states)."""
PH_TOLERANCE = 0.15


def soured_and_warmed() -> PotionRecipe:
    """Acid dissolved, then held at 45 °C by the thermostat: an end that stands still."""
    catalogue = load_catalogue()
    return PotionRecipe(
        id="sour-warmth",
        ingredients=(catalogue["Basilisk fang"],),
        brewing_steps=(
            BrewingStep(action="add", duration_s=300.0, ingredient="Basilisk fang", quantity=3.0),
            BrewingStep(action="heat_to", duration_s=500.0, temperature_c=45.0),
            BrewingStep(action="simmer", duration_s=300.0, temperature_c=45.0),
        ),
    )


def open_brewing_tab(window: Any, qtbot: Any) -> tuple[Any, Any]:
    """The Cauldron plugin and its panel's Brewing tab, shown."""
    window.plugin_docks.toggle("phantom_cauldron")
    qtbot.waitUntil(lambda: "phantom_cauldron" in window.plugin_docks.docks, timeout=10_000)
    panel = window.plugin_docks.docks["phantom_cauldron"].findChild(QWidget, "cauldronPanel")
    panel.tabs.setCurrentWidget(panel.brewing)
    plugin = window._services.plugins.records["phantom_cauldron"].instance
    return plugin, panel.brewing


def choose(tab: Any, recipe: PotionRecipe) -> None:
    tab.model.add_recipe(recipe)
    tab.refresh()
    tab.recipe_list.setCurrentRow(tab.recipe_list.count() - 1)
    assert tab.card.recipe == recipe


def replay(window: Any, qt_loop: Any, kind: str) -> None:
    """Replay the one run of `kind` in the audit log onto the hub, at once."""
    audit = window._services.audit
    assert audit.recorder.flush()
    (run,) = [run for run in audit.storage.list_audits() if run["kind"] == kind]
    session = ReplaySession(
        audit.storage,
        window._services.hub,
        loop_scheduler(qt_loop),
        EventFilter(audit_id=run["id"]),
        speed=None,
    )
    while session.step():
        pass


def test_an_evolution_and_a_brew_replay_from_the_audit_log_into_a_new_tab(
    make_main_window, qtbot, qt_loop, make_mosquitto: Callable[..., MosquittoBroker]
) -> None:  # type: ignore[no-untyped-def]
    broker = make_mosquitto()
    window = make_main_window()
    window._services.mqtt.add_session(broker.config(id="lab", name="Lab"))
    with simulated_cauldron(broker.host, broker.port, BREW_TOPIC, SPEED):
        _, tab = open_brewing_tab(window, qtbot)
        for name, text in {"population": "12", "generations": "4", "seed": "3"}.items():
            tab.form.edits[name].setText(text)
        tab.evolve_button.click()
        qtbot.waitUntil(lambda: tab.model.finished is not None, timeout=60_000)
        evolved = tab.model.finished
        choose(tab, soured_and_warmed())
        tab.brew_button.click()
        qtbot.waitUntil(lambda: tab.brew.ended is not None, timeout=60_000)
        brewed = tab.brew.ended
    qt_loop.run_until_complete(window._services.plugins.deactivate("phantom_cauldron"))
    qtbot.waitUntil(lambda: "phantom_cauldron" not in window.plugin_docks.docks)

    _, fresh = open_brewing_tab(window, qtbot)
    assert fresh.model.finished is None and fresh.brew.ended is None
    replay(window, qt_loop, "evolution")
    replay(window, qt_loop, "brew")
    assert fresh.model.finished == evolved
    assert fresh.model.history.generations == [0, 1, 2, 3, 4]
    assert fresh.brew.ended == brewed
    qtbot.waitUntil(lambda: fresh.recipe_list.count() == len(evolved.hall_of_fame))
    assert fresh.lineage.topLevelItem(0).text(0) == evolved.lineage[0].id
    assert "Temperature: predicted" in fresh.brew_status.text()


def test_brew_follows_the_recipe_and_shows_predicted_against_measured(
    make_main_window, qtbot, make_mosquitto: Callable[..., MosquittoBroker]
) -> None:  # type: ignore[no-untyped-def]
    broker = make_mosquitto()
    window = make_main_window()
    window._services.mqtt.add_session(broker.config(id="lab", name="Lab"))
    with simulated_cauldron(broker.host, broker.port, BREW_TOPIC, SPEED):
        plugin, tab = open_brewing_tab(window, qtbot)
        qtbot.waitUntil(lambda: not {"temperature", "ph"} & set(plugin.sample().defaulted))
        brew_sensor = plugin.sample().sensors["temperature"]
        assert plugin.ingest.parser.sensors.get(brew_sensor, "temperature").name == (
            "Brew temperature"
        ), "the brew's own thermometer, not the room's, the rim's or the wall's"
        recipe = soured_and_warmed()
        choose(tab, recipe)
        assert tab.brew_button.isEnabled() and not tab.stop_brew_button.isEnabled()

        tab.brew_button.click()
        qtbot.waitUntil(lambda: tab.brew.started is not None, timeout=5_000)
        assert "Lab" in tab.brew.started.destination
        assert not tab.brew_button.isEnabled() and tab.stop_brew_button.isEnabled()
        qtbot.waitUntil(lambda: "step 3 of 3 (simmer)" in tab.brew_status.text(), timeout=30_000)
        qtbot.waitUntil(lambda: tab.brew.ended is not None, timeout=30_000)
        qtbot.waitUntil(lambda: "Temperature: predicted" in tab.brew_status.text(), timeout=2_000)

    ended = tab.brew.ended
    assert (ended.ending, ended.reason) == ("done", None)
    comparison = ended.comparison
    assert comparison.predicted.temperature == pytest.approx(45.0, abs=1.0)
    assert comparison.predicted.ph < 6.0, "the fangs soured it"
    assert abs(comparison.temperature_error) < TEMPERATURE_TOLERANCE
    assert abs(comparison.ph_error) < PH_TOLERANCE
    assert f"measured {comparison.temperature:.1f} °C" in tab.brew_status.text()
    assert tab.brew_button.isEnabled(), "the next brew may go"
    assert not any(BREW_TOPIC in topic for topic, _ in plugin.problem_counts()), (
        "the commands and statuses are not taken for sensors"
    )

    audit = window._services.audit
    assert audit.recorder.flush()
    runs = [run for run in audit.storage.list_audits() if run["kind"] == "brew"]
    assert [(run["name"], run["status"]) for run in runs] == [("Brew sour-warmth", "completed")]
    events = audit.storage.get_events(runs[0]["id"])
    started = [event["phase"] for event in events if event["type"] == "phase_started"]
    assert started == [1, 2, 3]
    ends = [event for event in events if event["type"] == "audit_completed"]
    assert ends[0]["data"]["temperature_error"] == pytest.approx(comparison.temperature_error)
    news = [event["topic"] for event in events if (event["topic"] or "").startswith("cauldron/")]
    assert news[0].endswith("/started") and news[-1].endswith("/ended")


def test_a_brew_with_no_connection_says_why_a_refused_one_fails_and_stop_cancels(
    make_main_window, qtbot, qt_loop, make_mosquitto: Callable[..., MosquittoBroker]
) -> None:  # type: ignore[no-untyped-def]
    broker = make_mosquitto()
    window = make_main_window()
    lab = broker.config(id="lab", name="Lab")
    window._services.mqtt.add_session(lab)
    plugin, tab = open_brewing_tab(window, qtbot)
    recipe = soured_and_warmed()
    choose(tab, recipe)
    mqtt = window._services.mqtt
    qt_loop.run_until_complete(mqtt.disconnect("lab"))
    tab.brew_button.click()
    assert tab.brew_status.text() == (
        "Not brewed: no MQTT connection is connected to send the brew on."
    )
    assert tab.brew_button.isEnabled() and not plugin.brews.brews

    mqtt.connect("lab")
    qtbot.waitUntil(lambda: mqtt.connections.get("lab").status == "connected", timeout=10_000)
    with simulated_cauldron(broker.host, broker.port, BREW_TOPIC, SPEED):
        tab.brew_button.click()
        qtbot.waitUntil(lambda: tab.brew.started is not None, timeout=5_000)
        busy = plugin.brews.brew(recipe)
        qtbot.waitUntil(lambda: busy not in plugin.brews.brews, timeout=10_000)
        tab.stop_brew_button.click()
        qtbot.waitUntil(lambda: tab.brew.ended is not None, timeout=10_000)
    assert tab.brew.ended.ending == "cancelled"
    qtbot.waitUntil(lambda: tab.brew_status.text() == "Brew of sour-warmth cancelled.")
    runs = {run["status"] for run in window._services.audit.storage.list_audits()
            if run["kind"] == "brew"}  # fmt: skip
    assert runs == {"completed", "failed"}, "the cancelled brew, and the refused second one"
