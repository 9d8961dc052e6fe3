"""The Brewing tab in the running app: Evolve starts a real evolution in a worker process
under the cauldron's conditions (a real broker with no sensors yet: the defaults), in the
spare worker that opening the panel started, and the tab fills as it runs."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from support.mosquitto import MosquittoBroker


def test_evolve_in_the_app_runs_a_worker_and_shows_the_winner_and_its_lineage(
    make_main_window, qtbot, make_mosquitto: Callable[..., MosquittoBroker]
) -> None:  # type: ignore[no-untyped-def]
    window = make_main_window()
    window._services.mqtt.add_session(make_mosquitto().config(id="lab", name="Lab"))
    window.plugin_docks.toggle("phantom_cauldron")
    qtbot.waitUntil(lambda: "phantom_cauldron" in window.plugin_docks.docks, timeout=10_000)
    panel = window.plugin_docks.docks["phantom_cauldron"].findChild(QWidget, "cauldronPanel")
    tab = panel.brewing
    evolution = window._services.plugins.records["phantom_cauldron"].instance.evolution
    spare = evolution.spare.pid
    panel.tabs.setCurrentWidget(tab)
    for name, text in {"population": "16", "generations": "8", "seed": "5"}.items():
        tab.form.edits[name].setText(text)

    tab.evolve_button.click()
    assert [state.child.pid for state in evolution.runs.values()] == [spare]
    assert evolution.spare.pid != spare
    qtbot.waitUntil(lambda: tab.model.finished is not None, timeout=60_000)
    qtbot.waitUntil(lambda: tab.recipe_list.count() > 0, timeout=5_000)  # its next frame
    assert tab.progress.value() == 9  # generations 0 to 8
    finished = tab.model.finished
    assert finished.error is None and not finished.cancelled
    assert finished.best is not None and finished.best.genetic_fitness > 0
    assert tab.recipe_list.count() == len(finished.hall_of_fame) > 1
    assert tab.card.recipe == finished.best
    assert tab.lineage.topLevelItem(0).text(0) == finished.lineage[0].id
    assert not evolution.runs, "the worker has ended"
