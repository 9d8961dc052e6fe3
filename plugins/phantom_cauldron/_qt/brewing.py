"""The Brewing tab: evolve recipes and watch them improve, inspect the winner and its
lineage, export and import recipes as JSON, and brew the chosen one in the cauldron.

A thin view over a `BrewingViewModel` and a `BrewFollowing`: the hub's events go into
them as they come (a replay's plain dicts revived), and the tab redraws from them on its
frame clock, only when they have changed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from reactivex import Observable

from phantom_cauldron._qt.evolution_chart import EvolutionChart
from phantom_cauldron._qt.lineage_view import LineageView
from phantom_cauldron._qt.recipe_card import RecipeCard
from phantom_cauldron._qt.settings_form import SettingsForm
from phantom_cauldron.brew_view_model import BrewControl, BrewFollowing
from phantom_cauldron.brewing.brews import BrewNotSent
from phantom_cauldron.brewing_view_model import BrewingViewModel, EvolutionControl, RemoteControl
from phantom_cauldron.evolution.progress import EvolutionFinished
from phantom_cauldron.evolution.remote import Worker
from phantom_cauldron.recipes.errors import RecipeFileError
from phantom_cauldron.recipes.files import recipe_from_json, recipe_to_json
from phantom_cauldron.recipes.model import PotionRecipe
from phantom_cauldron.replayed import revive
from phantom_gui.core.events import SpectralEvent
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.theme import ASH, BLOOD, PUMPKIN

FRAME_RATE_HZ = 30.0
RECIPE_FILES = "Recipes (*.json)"
UNAVAILABLE = "Evolution unavailable: nothing in this session can run one."
THIS_COMPUTER = "This computer"

STYLE = f"""
QLabel#brewingFieldError, QLabel#brewingFileMessage[failed="true"],
QLabel#brewingBrewStatus[failed="true"] {{ color: {BLOOD}; }}
QLabel#brewingFileMessage, QLabel#brewingStatus, QLabel#brewingBrewStatus {{ color: {ASH}; }}
QLabel#brewingUnavailable {{ color: {PUMPKIN}; font-weight: bold; }}
"""


def finished_text(finished: EvolutionFinished) -> str:
    """How a run ended, in a few words."""
    if finished.error is not None:
        return f"Failed: {finished.error}"
    best = "" if finished.best is None else f" · best {finished.best.genetic_fitness:.4g}"
    return ("Cancelled" if finished.cancelled else "Finished") + best


class BrewingTab(QWidget):
    """Settings, where to run, Evolve and Cancel, progress, the chart, the lineage of the
    winner, the recipes with their card, their export and import, and Brew. `evolution`
    runs the evolutions here (None: the tab says it is unavailable); `remote` runs them
    on coven workers (None: only here); `brewing` sends the brews (None: Brew is
    disabled)."""

    def __init__(
        self,
        evolution: EvolutionControl | None,
        brewing: BrewControl | None = None,
        frame_rate: float = FRAME_RATE_HZ,
        parent: QWidget | None = None,
        remote: RemoteControl | None = None,
    ) -> None:
        super().__init__(parent)
        self.evolution = evolution
        self.brewing = brewing
        self.remote = remote
        self._remote_run: str | None = None
        self._workers: tuple[Worker, ...] = ()
        self.model = BrewingViewModel()
        self.brew = BrewFollowing()
        self.subscriptions = Subscriptions(self)
        self._drawn_revision = (-1, -1)
        self._drawn_finished: EvolutionFinished | None = None
        self._listed: list[PotionRecipe] = []
        self.setStyleSheet(STYLE)

        self.form = SettingsForm()
        self.run_on = QComboBox(objectName="brewingRunOn")
        self.run_on.addItem(THIS_COMPUTER, None)
        self.run_on.setToolTip("Run the evolution here, or on a worker of your coven")
        self.evolve_button = QPushButton("Evolve", objectName="brewingEvolve")
        self.cancel_button = QPushButton("Cancel", objectName="brewingCancel")
        self.progress = QProgressBar(objectName="brewingProgress")
        self.progress.setFormat("%v / %m generations")
        self.status = QLabel("Not started", objectName="brewingStatus")
        self.status.setWordWrap(True)
        self.unavailable = QLabel(UNAVAILABLE, objectName="brewingUnavailable")
        self.unavailable.setWordWrap(True)
        self.unavailable.setVisible(evolution is None)
        self.chart = EvolutionChart()
        self.lineage = LineageView()
        self.recipe_list = QListWidget(objectName="brewingRecipes")
        self.card = RecipeCard()
        self.export_button = QPushButton("Export…", objectName="brewingExport")
        self.import_button = QPushButton("Import…", objectName="brewingImport")
        self.file_message = QLabel(objectName="brewingFileMessage")
        self.file_message.setWordWrap(True)
        self.file_message.hide()
        self.brew_button = QPushButton("Brew", objectName="brewingBrew")
        self.brew_button.setToolTip("Send the chosen recipe to the cauldron, step by step")
        self.stop_brew_button = QPushButton("Stop brew", objectName="brewingStopBrew")
        self.brew_status = QLabel(objectName="brewingBrewStatus")
        self.brew_status.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.evolve_button)
        buttons.addWidget(self.cancel_button)
        controls = QVBoxLayout()
        controls.addWidget(self.unavailable)
        controls.addWidget(self.form)
        place = QHBoxLayout()
        place.addWidget(QLabel("Run on"))
        place.addWidget(self.run_on, 1)
        controls.addLayout(place)
        controls.addLayout(buttons)
        controls.addWidget(self.progress)
        controls.addWidget(self.status)
        controls.addStretch(1)
        left = QWidget()
        left.setLayout(controls)
        left.setMaximumWidth(320)

        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.chart)
        middle.addWidget(self.lineage)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 1)

        files = QHBoxLayout()
        files.addWidget(self.export_button)
        files.addWidget(self.import_button)
        recipes = QVBoxLayout()
        recipes.setContentsMargins(0, 0, 0, 0)
        recipes.addWidget(QLabel("Hall of fame"))
        recipes.addWidget(self.recipe_list, 1)
        recipes.addLayout(files)
        recipes.addWidget(self.file_message)
        recipes.addWidget(self.card, 2)
        brewing = QHBoxLayout()
        brewing.addWidget(self.brew_button)
        brewing.addWidget(self.stop_brew_button)
        recipes.addLayout(brewing)
        recipes.addWidget(self.brew_status)
        right = QWidget()
        right.setLayout(recipes)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        for part in (left, middle, right):
            splitter.addWidget(part)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.form.changed.connect(self._enable)
        self.run_on.currentIndexChanged.connect(self._enable)
        self.evolve_button.clicked.connect(self.evolve)
        self.cancel_button.clicked.connect(self.cancel)
        self.recipe_list.currentRowChanged.connect(self._select)
        self.export_button.clicked.connect(self.export_recipe)
        self.import_button.clicked.connect(self.import_recipe)
        self.brew_button.clicked.connect(self.brew_recipe)
        self.stop_brew_button.clicked.connect(self.stop_brew)
        self.frame_clock = QTimer(self, interval=round(1000 / frame_rate))
        self.frame_clock.timeout.connect(self.frame)
        self.frame_clock.start()
        self.refresh()

    def follow(self, events: Observable[SpectralEvent]) -> None:
        """Take in the evolution's events (`cauldron/evolution/#`) for as long as the tab lives."""
        self.subscriptions.bind(events, self._take)

    def _take(self, event: SpectralEvent) -> None:
        self.model.on_event(revive(event.topic, event.data))

    def follow_brews(self, events: Observable[SpectralEvent]) -> None:
        """Take in the brews' news (`cauldron/brew/#`) for as long as the tab lives."""
        self.subscriptions.bind(events, self._take_brew)

    def _take_brew(self, event: SpectralEvent) -> None:
        self.brew.on_event(revive(event.topic, event.data))

    def brew_recipe(self) -> None:
        """Send the chosen recipe to the cauldron; say why when it cannot be sent."""
        recipe = self.card.recipe
        if self.brewing is None or recipe is None or self.brew.under_way:
            return
        try:
            self.brew.sent(self.brewing.brew(recipe))
        except BrewNotSent as exc:
            self.brew.not_sent(str(exc))
        self.refresh()

    def stop_brew(self) -> None:
        """Tell the cauldron to stop the brew under way."""
        if self.brewing is None or not self.brew.under_way or self.brew.brew is None:
            return
        try:
            self.brewing.cancel(self.brew.brew)
        except BrewNotSent as exc:
            self.brew.not_sent(str(exc))
        else:
            self.brew_status.setText("Stopping the brew…")

    @property
    def worker(self) -> str | None:
        """The instance id of the worker chosen to run on, None for this computer."""
        chosen = self.run_on.currentData()
        return chosen if isinstance(chosen, str) else None

    def evolve(self) -> None:
        """Start a run with the form's settings, here or on the worker chosen."""
        settings = self.form.settings
        worker = self.worker
        if settings is None or self.model.running:
            return
        if worker is not None and self.remote is not None:
            self.model.starting(settings)
            self._remote_run = self.remote.start(settings, worker)
            self.model.started(self._remote_run)
        elif worker is None and self.evolution is not None:
            self.model.starting(settings)
            self.model.started(self.evolution.start(settings))
        self.refresh()

    def cancel(self) -> None:
        """Ask the current run to stop, where it runs."""
        run = self.model.run
        if not self.model.running or run is None:
            return
        if run == self._remote_run and self.remote is not None:
            self.remote.cancel(run)
        elif self.evolution is not None:
            self.evolution.cancel(run)
        self.status.setText("Cancelling…")

    def frame(self) -> bool:
        """A tick of the frame clock: `refresh`, but not while the tab is hidden (it
        catches up on its first frame on show)."""
        if not self.isVisible():
            return False
        self.list_workers()
        return self.refresh()

    def list_workers(self) -> None:
        """Offer this computer and the coven's workers now; a worker chosen stays chosen
        while it is there."""
        workers = () if self.remote is None else self.remote.workers()
        if workers == self._workers:
            return
        chosen = self.worker
        self._workers = workers
        self.run_on.blockSignals(True)
        self.run_on.clear()
        self.run_on.addItem(THIS_COMPUTER, None)
        for worker in workers:
            self.run_on.addItem(worker.label, worker.instance)
        index = self.run_on.findData(chosen) if chosen is not None else 0
        self.run_on.setCurrentIndex(max(index, 0))
        self.run_on.blockSignals(False)
        self._enable()

    def refresh(self) -> bool:
        """One frame: redraw what the model changed since the last; False if nothing did."""
        model = self.model
        revision = (model.revision, self.brew.revision)
        if revision == self._drawn_revision:
            return False
        self._drawn_revision = revision
        self._show_brew()
        self.progress.setRange(0, max(model.total, 1))
        self.progress.setValue(model.done)
        latest = model.latest
        self.chart.draw(model.history, latest.front if latest is not None else ())
        if model.finished is not None:
            self.status.setText(finished_text(model.finished))
        elif latest is not None:
            self.status.setText(
                f"Generation {latest.record.gen} · best {latest.record.best[0]:.4g}"
                f" · {latest.generations_per_s:.1f} generations/s"
            )
        elif model.running:
            self.status.setText("Starting…")
        if model.finished is not self._drawn_finished:
            self._drawn_finished = model.finished
            self.lineage.show_lineage(() if model.finished is None else model.finished.lineage)
        self._list_recipes(model.recipes)
        self._enable()
        return True

    def _show_brew(self) -> None:
        label = self.brew_status
        label.setText(self.brew.text())
        label.setProperty("failed", self.brew.problem is not None)
        label.style().unpolish(label)
        label.style().polish(label)

    def _list_recipes(self, recipes: list[PotionRecipe]) -> None:
        if recipes == self._listed:
            return
        chosen = self.card.recipe
        self._listed = recipes
        self.recipe_list.blockSignals(True)
        self.recipe_list.clear()
        self.recipe_list.addItems(
            [f"{recipe.id} · {recipe.genetic_fitness:.4g}" for recipe in recipes]
        )
        self.recipe_list.blockSignals(False)
        row = recipes.index(chosen) if chosen in recipes else 0 if recipes else -1
        self.recipe_list.setCurrentRow(row)
        self._select(row)

    def _select(self, row: int) -> None:
        self.card.show_recipe(self._listed[row] if 0 <= row < len(self._listed) else None)
        self.export_button.setEnabled(self.card.recipe is not None)
        self._enable()

    def _enable(self) -> None:
        available = self.evolution is not None or self.remote is not None
        here = self.evolution is not None if self.worker is None else self.remote is not None
        running = self.model.running
        self.evolve_button.setEnabled(here and not running and self.form.settings is not None)
        self.cancel_button.setEnabled(available and running)
        self.form.setEnabled(not running)
        self.run_on.setEnabled(not running)
        brewing = self.brew.under_way
        chosen = self.card.recipe is not None
        self.brew_button.setEnabled(self.brewing is not None and chosen and not brewing)
        self.stop_brew_button.setEnabled(self.brewing is not None and brewing)

    def export_recipe(self) -> None:
        """Write the selected recipe to a JSON file the user chooses."""
        recipe = self.card.recipe
        if recipe is None:
            return
        name, _ = QFileDialog.getSaveFileName(
            self, "Export recipe", f"{recipe.id}.json", RECIPE_FILES
        )
        if not name:
            return
        try:
            recipe_to_json(recipe, Path(name))
        except OSError as exc:
            self._say(f"Could not export to {name}: {exc.strerror or exc}", failed=True)
            return
        self._say(f"Exported {recipe.id} to {name}", failed=False)

    def import_recipe(self) -> None:
        """Add the recipe of a JSON file the user chooses; a bad file changes nothing."""
        name, _ = QFileDialog.getOpenFileName(self, "Import recipe", "", RECIPE_FILES)
        if not name:
            return
        try:
            recipe = recipe_from_json(Path(name))
        except RecipeFileError as exc:
            self._say(str(exc), failed=True)
            return
        self.model.add_recipe(recipe)
        self._say(f"Imported {recipe.id}", failed=False)
        self.refresh()

    def _say(self, text: str, *, failed: bool) -> None:
        label = self.file_message
        label.setText(text)
        label.setProperty("failed", failed)
        label.style().unpolish(label)
        label.style().polish(label)
        label.show()
