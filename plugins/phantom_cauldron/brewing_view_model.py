"""What the Brewing tab shows, kept without Qt: the run under way, its generations so far
for the chart, its latest progress, its end, and the recipes on the list.

Events arrive as the hub delivers them; the tab reads this model on its frame clock and
redraws only when `revision` has moved. Data that is not a `GenerationProgress` or an
`EvolutionFinished` (a replay from the audit log carries plain dicts) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from phantom_cauldron.evolution.progress import (
    EvolutionFinished,
    EvolutionSettings,
    GenerationProgress,
)
from phantom_cauldron.evolution.remote import Worker
from phantom_cauldron.recipes.model import PotionRecipe


class EvolutionControl(Protocol):
    """What starts and cancels evolutions: `start` returns the new run's id."""

    def start(self, settings: EvolutionSettings) -> str:
        """Start a run with `settings`; its events then come on the hub."""
        ...

    def cancel(self, run: str) -> None:
        """Stop `run` at its next generation."""
        ...


class RemoteControl(Protocol):
    """What runs evolutions on coven workers: `workers` are those offered now."""

    def workers(self) -> tuple[Worker, ...]:
        """The workers that can run an evolution now."""
        ...

    def start(self, settings: EvolutionSettings, worker: str) -> str:
        """Ask `worker` (an instance id) to run one with `settings`; its run id."""
        ...

    def cancel(self, run: str) -> None:
        """Ask `run`'s worker to stop it."""
        ...


@dataclass
class FitnessHistory:
    """Per generation: its number, the best and mean of the first objective, the diversity."""

    generations: list[int] = field(default_factory=list)
    best: list[float] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    diversity: list[float] = field(default_factory=list)

    def add(self, progress: GenerationProgress) -> None:
        """Append `progress`'s generation."""
        record = progress.record
        self.generations.append(record.gen)
        self.best.append(record.best[0])
        self.mean.append(record.mean[0])
        self.diversity.append(record.diversity)


class BrewingViewModel:
    """The current run (or the last one) and the recipes the user can inspect."""

    def __init__(self) -> None:
        self.run: str | None = None
        self.settings: EvolutionSettings | None = None
        self.history = FitnessHistory()
        self.latest: GenerationProgress | None = None
        self.finished: EvolutionFinished | None = None
        self.imported: list[PotionRecipe] = []
        self.revision = 0

    @property
    def recipes(self) -> list[PotionRecipe]:
        """The last finished run's hall of fame (best first) and front, then the imports."""
        if self.finished is None:
            return list(self.imported)
        return [*self.finished.hall_of_fame, *self.finished.front, *self.imported]

    @property
    def running(self) -> bool:
        """Whether a run was started and has not finished."""
        return self.run is not None and self.finished is None

    @property
    def done(self) -> int:
        """Generations finished in the current run (the random one counts as the first)."""
        return 0 if self.latest is None else self.latest.record.gen + 1

    @property
    def total(self) -> int:
        """Generations the current run will have, the random one included (0: unknown)."""
        return 0 if self.settings is None else self.settings.generations + 1

    def starting(self, settings: EvolutionSettings) -> None:
        """Forget the previous run (imported recipes stay) and follow the next run whose
        events arrive, until `started` names it."""
        self.run = None
        self.settings = settings
        self.history = FitnessHistory()
        self.latest = None
        self.finished = None
        self.revision += 1

    def started(self, run: str) -> None:
        """Follow `run` (its first events may already have come)."""
        if run != self.run:
            self.run = run
            self.history = FitnessHistory()
            self.latest = None
            self.finished = None
        self.revision += 1

    def on_event(self, data: object) -> bool:
        """Take in an event's data; False when it is not of this run or not understood."""
        if not isinstance(data, GenerationProgress | EvolutionFinished):
            return False
        if self.run is None:
            self.run = data.run
        if data.run != self.run or self.finished is not None:
            return False
        if isinstance(data, GenerationProgress):
            self.history.add(data)
            self.latest = data
        else:
            self.finished = data
        self.revision += 1
        return True

    def add_recipe(self, recipe: PotionRecipe) -> None:
        """Put an imported recipe at the end of the list."""
        self.imported.append(recipe)
        self.revision += 1
