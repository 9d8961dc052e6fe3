"""One evolution of recipes from its settings to its end, the same in-process and in a
worker: `run_job` reports each generation and returns the `EvolutionFinished`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from phantom_cauldron.evolution.engine import evolve, evolve_pareto
from phantom_cauldron.evolution.individuals import Individual
from phantom_cauldron.evolution.progress import (
    EvolutionFinished,
    EvolutionSettings,
    GenerationProgress,
    LineageNode,
)
from phantom_cauldron.evolution.recipe_problem import Genome, RecipeProblem
from phantom_cauldron.evolution.records import GenerationRecord
from phantom_cauldron.recipes.effects import Conditions
from phantom_cauldron.recipes.model import Ingredient, PotionRecipe


@dataclass(frozen=True)
class EvolutionJob:
    """What a run needs: its id, its settings, the conditions at its start, the catalogue."""

    run: str
    settings: EvolutionSettings
    conditions: Conditions
    catalogue: tuple[Ingredient, ...]


Report = Callable[[GenerationProgress], None]
ShouldStop = Callable[[], bool]
Resample = Callable[[int], Conditions]
"""Asked after generation `g` (a multiple of `resample_every`) for the conditions now."""


class _Watch:
    """The problem's scoring watched: the best genome so far (single objective) or the
    non-dominated (potency, cost) points so far (multi-objective), with the id the engine
    gives each genome of a generation's batch (`g<gen>-i<index>`)."""

    def __init__(self, problem: RecipeProblem) -> None:
        self.problem = problem
        self.weights = problem.weights
        self.batch: tuple[Sequence[Genome], np.ndarray] | None = None
        self.best: tuple[float, Genome, str] | None = None
        self.front = np.empty((0, 2))

    def create(self, rng: np.random.Generator) -> Genome:
        return self.problem.create(rng)

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> tuple[Genome, Genome]:
        return self.problem.crossover(a, b, rng)

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        return self.problem.mutate(genome, rng)

    def diversity(self, genomes: Sequence[Genome]) -> float:
        return self.problem.diversity(genomes)

    def evaluate_all(self, genomes: Sequence[Genome]) -> np.ndarray:
        values = self.problem.evaluate_all(genomes)
        self.batch = (genomes, values)
        return values

    def generation_done(self, gen: int) -> None:
        """Take the batch scored for generation `gen` into account."""
        if self.batch is None:
            return
        genomes, values = self.batch
        self.batch = None
        if self.problem.multi_objective:
            points = np.vstack([self.front, values])
            self.front = np.unique(points[_non_dominated(points)], axis=0)
            values = values[:, 0]
        index = int(np.argmax(values))
        if self.best is None or values[index] > self.best[0]:
            self.best = (float(values[index]), genomes[index], f"g{gen}-i{index}")

    def best_recipe(self) -> PotionRecipe:
        """The best recipe so far (multi-objective: the most potent)."""
        if self.best is None:
            raise RuntimeError("no generation has been scored")
        value, genome, ident = self.best
        return self.problem.recipe_of(genome, ident, value, effects=True)


def _non_dominated(points: np.ndarray) -> np.ndarray:
    """Which (potency ↑, cost ↓) points no other point dominates."""
    potency, cost = points[:, 0][:, None], points[:, 1][:, None]
    at_least = (points[:, 0] >= potency) & (points[:, 1] <= cost)
    better = (points[:, 0] > potency) | (points[:, 1] < cost)
    return np.asarray(~(at_least & better).any(axis=1))


def run_job(
    job: EvolutionJob,
    report: Report,
    should_stop: ShouldStop | None = None,
    resample: Resample | None = None,
) -> EvolutionFinished:
    """Evolve `job`, calling `report` after each generation; `should_stop` is asked before
    each generation, `resample` every `resample_every` generations."""
    settings = job.settings
    problem = RecipeProblem(
        job.catalogue, job.conditions, settings.rarity_budget, settings.multi_objective
    )
    watch = _Watch(problem)
    started = time.perf_counter()

    def progress(record: GenerationRecord) -> None:
        watch.generation_done(record.gen)
        front = tuple((float(p), float(c)) for p, c in watch.front)
        pace = record.gen / max(time.perf_counter() - started, 1e-9)
        report(GenerationProgress(job.run, record, watch.best_recipe(), pace, front))
        every = settings.resample_every
        if resample is not None and every and record.gen and record.gen % every == 0:
            problem.conditions = resample(record.gen)

    options: dict[str, Any] = {
        "seed": settings.seed,
        "population": settings.population,
        "generations": settings.generations,
        "crossover_rate": settings.crossover_rate,
        "mutation_rate": settings.mutation_rate,
        "progress": progress,
        "should_stop": should_stop,
    }
    if settings.multi_objective:
        pareto = evolve_pareto(watch, **options)
        front = tuple(
            sorted((problem.recipe(i) for i in pareto.front), key=lambda r: -r.genetic_fitness)
        )
        return EvolutionFinished(
            job.run, front[0] if front else None, front, (), front, cancelled=pareto.stopped
        )
    result = evolve(watch, **options)
    return EvolutionFinished(
        job.run,
        problem.recipe(result.best),
        tuple(problem.recipe(i) for i in result.hall_of_fame),
        tuple(_node(i) for i in result.lineage),
        cancelled=result.stopped,
    )


def _node(individual: Individual[Genome]) -> LineageNode:
    return LineageNode(
        individual.id, individual.parents, individual.values[0], individual.generation
    )
