"""The generational loops: `evolve` (one objective) and `evolve_pareto` (NSGA-II).

Both follow deap's `varAnd` scheme (pair the selected parents, cross each pair with
`crossover_rate`, mutate each child with `mutation_rate`) on deap's `Toolbox`, with
deap's hall of fame, logbook and NSGA-II selection, but without deap's clones: genomes
are values, so a parent that passes unchanged is shared, and only new genomes are scored,
all at once. Every random draw comes from one `numpy.random.Generator` seeded by `seed`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from deap import base, tools

from phantom_cauldron.evolution.individuals import Ancestry, Individual, fitness_class
from phantom_cauldron.evolution.problem import Problem
from phantom_cauldron.evolution.records import (
    EvolutionResult,
    GenerationRecord,
    ParetoResult,
    logbook_entry,
)

G = TypeVar("G")

Progress = Callable[[GenerationRecord], None]
"""Called with each generation's record, generation 0 (the random population) included."""
ShouldStop = Callable[[], bool]
"""Asked before each new generation; True ends the run with what it has."""


@dataclass(frozen=True)
class Settings:
    """A run's size and rates, checked on creation."""

    population: int
    generations: int
    crossover_rate: float
    mutation_rate: float

    def __post_init__(self) -> None:
        if self.population < 2:
            raise ValueError(f"population: at least 2 individuals, got {self.population}")
        if self.generations < 0:
            raise ValueError(f"generations: 0 or more, got {self.generations}")
        for name in ("crossover_rate", "mutation_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name}: a probability between 0 and 1, got {rate}")


def _same(a: Individual[G], b: Individual[G]) -> bool:
    return a.id == b.id


class _Run(Generic[G]):
    """The state every generation shares: the problem, the generator, the toolbox."""

    def __init__(self, problem: Problem[G], seed: int, settings: Settings) -> None:
        self.problem = problem
        self.settings = settings
        self.rng = np.random.default_rng(seed)
        self.fitness = fitness_class(problem.weights)
        self.toolbox = base.Toolbox()
        self.toolbox.register("mate", problem.crossover, rng=self.rng)
        self.toolbox.register("mutate", problem.mutate, rng=self.rng)
        self.toolbox.register("evaluate", problem.evaluate_all)
        self.logbook = tools.Logbook()
        self.stopped = False

    def generations(self, should_stop: ShouldStop | None) -> Iterator[int]:
        """The numbers of the generations after the first, until `should_stop` says so."""
        for gen in range(1, self.settings.generations + 1):
            if should_stop is not None and should_stop():
                self.stopped = True
                return
            yield gen

    def first_generation(self) -> list[Individual[G]]:
        """The random, scored generation 0."""
        genomes = [self.problem.create(self.rng) for _ in range(self.settings.population)]
        return self.score([(genome, ()) for genome in genomes], 0)

    def score(self, births: Sequence[tuple[G, tuple[str, ...]]], gen: int) -> list[Individual[G]]:
        """Individuals of generation `gen` for `births` (genome, parent ids), scored together."""
        if not births:
            return []
        values = np.asarray(self.toolbox.evaluate([genome for genome, _ in births]), dtype=float)
        objectives = len(self.fitness.weights)
        if values.ndim == 1 and objectives == 1:
            values = values[:, None]
        if values.shape != (len(births), objectives):
            raise ValueError(
                f"{type(self.problem).__name__}.evaluate_all: expected shape "
                f"({len(births)}, {objectives}) for {len(births)} genomes, got {values.shape}"
            )
        bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
        if len(bad):
            raise ValueError(
                f"{type(self.problem).__name__}.evaluate_all: non-finite values for the "
                f"genomes at {bad[:5].tolist()}"
            )
        return [
            Individual(genome, self.fitness(tuple(row)), gen, index, parents)
            for index, ((genome, parents), row) in enumerate(
                zip(births, values.tolist(), strict=True)
            )
        ]

    def vary(self, parents: list[Individual[G]], gen: int) -> tuple[list[Individual[G]], int]:
        """Offspring of `parents` (paired in order) and how many of them are new."""
        crossed = self.rng.random(len(parents) // 2) < self.settings.crossover_rate
        mutated = self.rng.random(len(parents)) < self.settings.mutation_rate
        children: list[Individual[G] | tuple[G, tuple[str, ...]]] = []
        for pair, cross in enumerate(crossed):
            a, b = parents[2 * pair], parents[2 * pair + 1]
            if cross:
                first, second = self.toolbox.mate(a.genome, b.genome)
                children += [(first, (a.id, b.id)), (second, (a.id, b.id))]
            else:
                children += [a, b]
        children += parents[2 * len(crossed) :]
        births: list[tuple[G, tuple[str, ...]]] = []
        slots: list[int] = []
        for slot, (child, mutate) in enumerate(zip(children, mutated, strict=True)):
            if isinstance(child, Individual):
                if not mutate:
                    continue
                child = (child.genome, (child.id,))
            genome, ancestors = child
            births.append((self.toolbox.mutate(genome) if mutate else genome, ancestors))
            slots.append(slot)
        for slot, individual in zip(slots, self.score(births, gen), strict=True):
            children[slot] = individual
        return [child for child in children if isinstance(child, Individual)], len(births)

    def record(
        self, gen: int, population: list[Individual[G]], evaluations: int, progress: Progress | None
    ) -> None:
        """Log generation `gen` and tell `progress`."""
        entry = GenerationRecord.of(
            gen,
            np.array([individual.fitness.wvalues for individual in population])
            / self.fitness.weights,
            self.fitness.weights,
            self.problem.diversity([individual.genome for individual in population]),
            evaluations,
        )
        logbook_entry(self.logbook, entry)
        if progress is not None:
            progress(entry)


PRUNE_EVERY = 10
"""Generations between two prunings of the ancestry."""


def _scores(population: list[Individual[G]]) -> np.ndarray:
    """The weighted first objective of each individual (higher is better)."""
    return np.array([individual.fitness.wvalues[0] for individual in population])


def _best(population: list[Individual[G]], k: int) -> list[Individual[G]]:
    """The `k` best of `population`, best first (the earlier first among equals)."""
    order = np.argsort(-_scores(population), kind="stable")[:k]
    return [population[i] for i in order.tolist()]


def _contenders(population: list[Individual[G]], fame: tools.HallOfFame) -> list[Individual[G]]:
    """Those of `population` that could enter a full hall of fame: better than its last."""
    if len(fame) < fame.maxsize:
        return population
    better = np.flatnonzero(_scores(population) > fame[-1].fitness.wvalues[0])
    return [population[i] for i in better.tolist()]


def _tournament(
    population: list[Individual[G]], k: int, size: int, rng: np.random.Generator
) -> list[Individual[G]]:
    """`k` winners of tournaments among `size` individuals drawn at random (first objective)."""
    scores = _scores(population)
    entrants = rng.integers(0, len(population), (k, size))
    winners = entrants[np.arange(k), scores[entrants].argmax(axis=1)]
    return [population[i] for i in winners.tolist()]


def evolve(
    problem: Problem[G],
    *,
    seed: int,
    population: int,
    generations: int,
    crossover_rate: float = 0.5,
    mutation_rate: float = 0.2,
    tournament_size: int = 3,
    elite: int = 1,
    hall_of_fame_size: int = 10,
    ancestry_depth: int = 100,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> EvolutionResult[G]:
    """Evolve `problem` (its first objective) for `generations` after the random one.

    Each generation keeps the `elite` best unchanged and fills the rest with offspring of
    parents chosen by tournaments of `tournament_size`. Ancestors are remembered up to
    `ancestry_depth` generations back, as far as they lead to someone alive or famous.
    """
    settings = Settings(population, generations, crossover_rate, mutation_rate)
    if tournament_size < 1:
        raise ValueError(f"tournament_size: at least 1, got {tournament_size}")
    if not 0 <= elite < population:
        raise ValueError(f"elite: between 0 and population - 1, got {elite}")
    if hall_of_fame_size < 1:
        raise ValueError(f"hall_of_fame_size: at least 1, got {hall_of_fame_size}")
    run = _Run(problem, seed, settings)
    run.toolbox.register("select", _tournament, size=tournament_size, rng=run.rng)
    fame = tools.HallOfFame(hall_of_fame_size, similar=_same)
    ancestry: Ancestry[G] = Ancestry(ancestry_depth)
    people = run.first_generation()
    fame.update(people)
    ancestry.add(people)
    run.record(0, people, len(people), progress)
    for gen in run.generations(should_stop):
        elites = _best(people, elite)
        offspring, evaluations = run.vary(run.toolbox.select(people, population - elite), gen)
        people = elites + offspring
        fame.update(_contenders(people, fame))
        ancestry.add(individual for individual in offspring if individual.generation == gen)
        if gen % PRUNE_EVERY == 0:
            ancestry.prune([*people, *fame], gen)
        run.record(gen, people, evaluations, progress)
    best = fame[0]
    return EvolutionResult(best, list(fame), run.logbook, ancestry.lineage(best), run.stopped)


def _ranked_pairs(population: list[Individual[G]], rng: np.random.Generator) -> list[Individual[G]]:
    """Parents by binary tournaments on the order NSGA-II selection leaves a population in
    (better fronts first, the last front by falling crowding distance)."""
    entrants = rng.integers(0, len(population), (len(population), 2))
    return [population[i] for i in entrants.min(axis=1).tolist()]


def evolve_pareto(
    problem: Problem[G],
    *,
    seed: int,
    population: int,
    generations: int,
    crossover_rate: float = 0.9,
    mutation_rate: float = 1.0,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> ParetoResult[G]:
    """Evolve `problem`'s objectives together with NSGA-II (deap's `selNSGA2`): each
    generation parents and offspring compete for the `population` places."""
    settings = Settings(population, generations, crossover_rate, mutation_rate)
    run = _Run(problem, seed, settings)
    run.toolbox.register("select", tools.selNSGA2, nd="log")
    people = run.toolbox.select(run.first_generation(), population)
    run.record(0, people, len(people), progress)
    for gen in run.generations(should_stop):
        offspring, evaluations = run.vary(_ranked_pairs(people, run.rng), gen)
        known = {individual.id for individual in people}
        pool = people + [child for child in offspring if child.id not in known]
        people = run.toolbox.select(pool, population)
        run.record(gen, people, evaluations, progress)
    first = tools.sortNondominated(people, len(people), first_front_only=True)[0]
    front = sorted({individual.id: individual for individual in first}.values(), key=_first_value)
    return ParetoResult(front, run.logbook, run.stopped)


def _first_value(individual: Individual[G]) -> float:
    return individual.values[0]
