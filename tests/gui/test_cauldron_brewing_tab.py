"""The cauldron panel's Brewing tab on the virtual screen, driven by real evolutions: the
engine runs a sphere in a thread, and its generations and end reach the tab as real
`GenerationProgress` and `EvolutionFinished` events on a real `EventHub`."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from phantom_cauldron._qt.panel import CauldronPanel
from phantom_cauldron.evolution import GenerationRecord, Individual, evolve
from phantom_cauldron.evolution.benchmarks import Sphere
from phantom_cauldron.evolution.progress import (
    EVOLUTION_TOPIC,
    EvolutionFinished,
    EvolutionSettings,
    GenerationProgress,
    LineageNode,
    finished_topic,
    generation_topic,
)
from phantom_cauldron.recipes.catalogue import load_catalogue
from phantom_cauldron.recipes.effects import Conditions, predict
from phantom_cauldron.recipes.files import recipe_to_json
from phantom_cauldron.recipes.model import BrewingStep, PotionRecipe
from phantom_cauldron.series import SeriesStore
from phantom_cauldron.topics import TopicTree
from phantom_gui.core.hub import EventHub

pytestmark = pytest.mark.screen

HERBS = ("Nettle leaf", "Chamomile flower", "Garlic clove")
CONDITIONS = Conditions(temperature=20.0, humidity=50.0, ph=7.0, mystical_energy=1.0)
SMALL = {"population": "12", "generations": "15", "seed": "3"}


def as_recipe(individual: Individual[np.ndarray]) -> PotionRecipe:
    """A sphere individual as a recipe (see `herbs`)."""
    return herbs(individual.id, individual.genome, individual.values[0], individual.parents)


def herbs(ident: str, genome: np.ndarray, fitness: float, parents: tuple[str, ...]) -> PotionRecipe:
    """A sphere genome read as the quantities of three catalogue herbs, brewed hot."""
    catalogue = load_catalogue()
    quantities = [round(abs(float(x)) + 0.1, 3) for x in genome]
    ingredients = tuple(
        catalogue[name].model_copy(update={"quantity": quantity})
        for name, quantity in zip(HERBS, quantities, strict=True)
    )
    steps = (
        BrewingStep(action="heat_to", duration_s=120.0, temperature_c=80.0),
        *(
            BrewingStep(action="add", duration_s=10.0, ingredient=name, quantity=quantity)
            for name, quantity in zip(HERBS, quantities, strict=True)
        ),
        BrewingStep(action="simmer", duration_s=600.0, temperature_c=75.0),
    )
    recipe = PotionRecipe(
        id=ident,
        ingredients=ingredients,
        brewing_steps=steps,
        genetic_fitness=fitness,
        lineage=parents,
    )
    return recipe.model_copy(update={"predicted_effects": predict(recipe, CONDITIONS).effects})


class EngineEvolution:
    """Runs `evolve` on a 3-D sphere in a thread per run; `deliver` publishes the events
    it has made so far on the hub, from the GUI thread. Records what it was asked to cancel."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self.cancelled: list[str] = []
        self.outbox: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self.stops: dict[str, threading.Event] = {}
        self.threads: list[threading.Thread] = []
        self.runs = itertools.count(1)

    def start(self, settings: EvolutionSettings) -> str:
        run = f"run-{next(self.runs)}"
        self.stops[run] = threading.Event()
        thread = threading.Thread(target=self._evolve, args=(run, settings), daemon=True)
        self.threads.append(thread)
        thread.start()
        return run

    def cancel(self, run: str) -> None:
        self.cancelled.append(run)
        self.stops[run].set()

    def _evolve(self, run: str, settings: EvolutionSettings) -> None:
        began = time.perf_counter()

        def progress(record: GenerationRecord) -> None:
            pace = (record.gen + 1) / max(time.perf_counter() - began, 1e-9)
            point = np.full(3, np.sqrt(record.best[0] / 3))
            best = herbs(f"{run}-best-{record.gen}", point, record.best[0], ())
            self.outbox.put((generation_topic(run), GenerationProgress(run, record, best, pace)))

        result = evolve(
            Sphere(3),
            seed=settings.seed,
            population=settings.population,
            generations=settings.generations,
            crossover_rate=settings.crossover_rate,
            mutation_rate=settings.mutation_rate,
            progress=progress,
            should_stop=self.stops[run].is_set,
        )
        finished = EvolutionFinished(
            run,
            best=as_recipe(result.best),
            hall_of_fame=tuple(as_recipe(individual) for individual in result.hall_of_fame),
            lineage=tuple(
                LineageNode(each.id, each.parents, each.values[0], each.generation)
                for each in result.lineage
            ),
            cancelled=result.stopped,
        )
        self.outbox.put((finished_topic(run), finished))

    def deliver(self, limit: int | None = None) -> None:
        """Publish the waiting events (at most `limit` of them)."""
        count = itertools.count()
        while not self.outbox.empty() and (limit is None or next(count) < limit):
            topic, data = self.outbox.get()
            self.hub.publish(topic, data, source="test-evolution")

    def close(self) -> None:
        for stop in self.stops.values():
            stop.set()
        for thread in self.threads:
            thread.join()


@pytest.fixture
def hub() -> EventHub:
    return EventHub()


@pytest.fixture
def evolution(qapp, hub: EventHub) -> Iterator[EngineEvolution]:  # type: ignore[no-untyped-def]
    standin = EngineEvolution(hub)
    yield standin
    standin.close()


@pytest.fixture
def panel(qtbot, hub: EventHub, evolution: EngineEvolution) -> Iterator[CauldronPanel]:  # type: ignore[no-untyped-def]
    """A shown panel on its Brewing tab, whose frame clock ticks only when the test says."""
    panel = CauldronPanel(SeriesStore(), TopicTree(), evolution=evolution)
    panel.charts.frame_clock.stop()
    panel.status_clock.stop()
    panel.brewing.frame_clock.stop()
    panel.follow_evolution(hub.on(f"{EVOLUTION_TOPIC}/#"))
    qtbot.addWidget(panel)
    panel.resize(1400, 900)
    panel.tabs.setCurrentWidget(panel.brewing)
    panel.show()
    qtbot.waitExposed(panel)
    yield panel


def type_settings(panel: CauldronPanel, values: dict[str, str]) -> None:
    for name, text in values.items():
        panel.brewing.form.edits[name].setText(text)


def finish(qtbot, panel: CauldronPanel, evolution: EngineEvolution) -> EvolutionFinished:  # type: ignore[no-untyped-def]
    """Deliver the run's events until it ends, then draw a frame."""

    def ended() -> bool:
        evolution.deliver()
        return panel.brewing.model.finished is not None

    qtbot.waitUntil(ended, timeout=20_000)
    panel.brewing.frame_clock.timeout.emit()
    finished = panel.brewing.model.finished
    assert finished is not None
    return finished


def test_a_short_evolution_fills_progress_chart_hall_of_fame_card_and_lineage(
    qtbot, panel: CauldronPanel, evolution: EngineEvolution
) -> None:  # type: ignore[no-untyped-def]
    tab = panel.brewing
    type_settings(panel, SMALL)
    assert tab.evolve_button.isEnabled()
    tab.evolve_button.click()
    assert tab.cancel_button.isEnabled() and not tab.evolve_button.isEnabled()

    qtbot.waitUntil(lambda: evolution.outbox.qsize() >= 3, timeout=20_000)
    evolution.deliver(3)
    assert len(tab.model.history.generations) == 3
    assert tab.chart.best_curve.getData()[0] is None, "the chart waits for its frame clock"
    tab.frame_clock.timeout.emit()
    assert list(tab.chart.best_curve.getData()[0]) == [0, 1, 2]
    assert tab.progress.value() == 3
    assert "generations/s" in tab.status.text()

    finished = finish(qtbot, panel, evolution)
    assert not finished.cancelled
    xs, best = tab.chart.best_curve.getData()
    assert list(xs) == list(range(16))
    assert (
        len(tab.chart.mean_curve.getData()[0]) == len(tab.chart.diversity_curve.getData()[0]) == 16
    )
    assert best[-1] <= best[0]
    assert tab.progress.value() == tab.progress.maximum() == 16
    assert tab.status.text().startswith("Finished")
    assert not tab.chart.front_plot.isVisible()

    assert tab.recipe_list.count() == len(finished.hall_of_fame) > 1
    assert tab.recipe_list.currentRow() == 0
    assert tab.card.recipe == finished.best
    tab.recipe_list.setCurrentRow(1)
    second = finished.hall_of_fame[1]
    text = tab.card.toPlainText()
    assert tab.card.recipe == second
    assert second.id in text
    for ingredient in second.ingredients:
        assert f"{ingredient.name} ({ingredient.rarity})" in text
    assert "heat to 80 °C for 120 s" in text
    assert second.predicted_effects[0].name in text
    assert f"{second.genetic_fitness:.4g}" in text

    winner = tab.lineage.topLevelItem(0)
    assert tab.lineage.topLevelItemCount() == 1
    assert (winner.text(0), winner.text(1)) == (
        finished.lineage[0].id,
        str(finished.lineage[0].generation),
    )
    parents = {winner.child(i).text(0) for i in range(winner.childCount())}
    known = {node.id for node in finished.lineage}
    assert parents == set(finished.lineage[0].parents) & known
    assert parents, "the winner of 15 generations has known parents"
    assert tab.evolve_button.isEnabled() and not tab.cancel_button.isEnabled()
    panel.grab().save("/tmp/brewing_tab.png")


def test_a_front_in_the_progress_shows_as_a_scatter(
    panel: CauldronPanel, hub: EventHub, evolution: EngineEvolution
) -> None:
    tab = panel.brewing
    tab.model.starting(EvolutionSettings(multi_objective=True))
    tab.model.started("pareto")
    record = GenerationRecord(0, (3.0, 1.0), (2.0, 2.0), (0.5, 0.5), 1.0, 12)
    winner = herbs("g0-i0", np.ones(3), 3.0, ())
    front = ((3.0, 4.0), (2.0, 2.5), (1.0, 1.0))
    hub.publish(
        generation_topic("pareto"),
        GenerationProgress("pareto", record, winner, 10.0, front),
        source="test-evolution",
    )
    tab.frame_clock.timeout.emit()
    assert tab.chart.front_plot.isVisible()
    assert sorted(map(tuple, tab.chart.front_scatter.data[["x", "y"]].tolist())) == sorted(front)


def test_invalid_settings_disable_evolve_and_name_the_field(panel: CauldronPanel) -> None:
    tab = panel.brewing
    type_settings(panel, {"population": "2"})
    assert not tab.evolve_button.isEnabled()
    error = tab.form.error_labels["population"]
    assert error.isVisible()
    assert "greater than or equal to 4" in error.text()
    type_settings(panel, {"population": "40", "mutation_rate": "lots"})
    assert not tab.form.error_labels["population"].isVisible()
    assert "valid number" in tab.form.error_labels["mutation_rate"].text()
    assert not tab.evolve_button.isEnabled()
    type_settings(panel, {"mutation_rate": "0.3"})
    assert tab.evolve_button.isEnabled()
    assert tab.form.settings == EvolutionSettings(population=40, mutation_rate=0.3)


def test_cancel_asks_the_evolution_to_stop_the_run(
    qtbot, panel: CauldronPanel, evolution: EngineEvolution
) -> None:  # type: ignore[no-untyped-def]
    tab = panel.brewing
    type_settings(panel, {"population": "40", "generations": "2000"})
    tab.evolve_button.click()
    run = tab.model.run
    tab.cancel_button.click()
    assert evolution.cancelled == [run]
    finished = finish(qtbot, panel, evolution)
    assert finished.cancelled
    assert tab.status.text().startswith("Cancelled")
    assert tab.progress.value() < tab.progress.maximum()


def test_replayed_data_that_does_not_read_is_ignored(panel: CauldronPanel, hub: EventHub) -> None:
    tab = panel.brewing
    hub.publish(generation_topic("old"), {"run": "old", "record": {}}, source="audit")
    hub.publish(finished_topic("old"), {"run": "old"}, source="audit")
    assert tab.model.run is None and tab.model.revision == 0


def test_export_then_import_and_a_bad_file_changes_nothing(
    qtbot,
    panel: CauldronPanel,
    evolution: EngineEvolution,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    tab = panel.brewing
    type_settings(panel, SMALL)
    tab.evolve_button.click()
    finished = finish(qtbot, panel, evolution)
    exported = tmp_path / "winner.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(exported), ""))
    tab.export_button.click()
    assert exported.exists()

    bad = tmp_path / "bad.json"
    recipe_to_json(finished.hall_of_fame[0], bad)
    bad.write_text(bad.read_text().replace('"rarity": "common"', '"rarity": "mythic"', 1))
    listed = [tab.recipe_list.item(i).text() for i in range(tab.recipe_list.count())]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    tab.import_button.click()
    tab.frame_clock.timeout.emit()
    message = tab.file_message.text()
    assert str(bad) in message and "rarity" in message
    assert tab.file_message.property("failed") is True
    assert [tab.recipe_list.item(i).text() for i in range(tab.recipe_list.count())] == listed

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(exported), ""))
    tab.import_button.click()
    assert tab.recipe_list.count() == len(listed) + 1
    assert tab.model.imported == [finished.hall_of_fame[0]]
    assert tab.file_message.property("failed") is False


def test_without_an_evolution_the_tab_says_so(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = CauldronPanel(SeriesStore(), TopicTree())
    qtbot.addWidget(panel)
    panel.tabs.setCurrentWidget(panel.brewing)
    panel.show()
    assert panel.brewing.unavailable.isVisible()
    assert not panel.brewing.evolve_button.isEnabled()
    assert not panel.brewing.cancel_button.isEnabled()


def test_the_closed_tab_leaves_no_subscription_behind(qtbot, hub: EventHub) -> None:  # type: ignore[no-untyped-def]
    panel = CauldronPanel(SeriesStore(), TopicTree())
    panel.follow_evolution(hub.on(f"{EVOLUTION_TOPIC}/#"))
    assert hub.is_heard(generation_topic("r"))
    panel.close()
    panel.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not hub.is_heard(generation_topic("r"))


def test_a_hidden_tab_draws_nothing_and_catches_up_when_shown(
    qtbot, panel: CauldronPanel, evolution: EngineEvolution
) -> None:  # type: ignore[no-untyped-def]
    tab = panel.brewing
    type_settings(panel, SMALL)
    panel.tabs.setCurrentIndex(0)
    tab.evolve()
    finish(qtbot, panel, evolution)
    assert not tab.isVisible() and tab.progress.value() == 0, "nothing drawn while hidden"
    panel.tabs.setCurrentWidget(tab)
    tab.frame_clock.timeout.emit()
    assert tab.progress.value() == tab.model.total
    assert tab.recipe_list.count() == len(tab.model.recipes) > 0
