"""What a run reports: one record per generation, and its final result."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Generic, TypeVar

import numpy as np
from deap import tools

from phantom_cauldron.evolution.individuals import Individual

G = TypeVar("G")


@dataclass(frozen=True)
class GenerationRecord:
    """A generation's statistics (generation 0 is the first, random population).

    `best`, `mean` and `std` have one entry per objective; best is the highest value of a
    maximised objective and the lowest of a minimised one. `evaluations` counts the
    genomes scored in this generation.
    """

    gen: int
    best: tuple[float, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    diversity: float
    evaluations: int

    @staticmethod
    def of(
        gen: int, values: np.ndarray, weights: tuple[float, ...], diversity: float, evaluations: int
    ) -> GenerationRecord:
        """The record of a population whose objective values are the rows of `values`."""
        signs = np.sign(np.asarray(weights))
        return GenerationRecord(
            gen=gen,
            best=tuple(float(v) for v in (values * signs).max(axis=0) * signs),
            mean=tuple(float(v) for v in values.mean(axis=0)),
            std=tuple(float(v) for v in values.std(axis=0)),
            diversity=diversity,
            evaluations=evaluations,
        )


def logbook_entry(logbook: tools.Logbook, record: GenerationRecord) -> None:
    """Append `record` to `logbook` (its fields become the logbook's columns)."""
    logbook.record(**asdict(record))


@dataclass(frozen=True)
class EvolutionResult(Generic[G]):
    """A single-objective run: the best individual ever seen, the hall of fame (best
    first), the logbook, the best's lineage (itself first, then its remembered ancestors)
    and whether `should_stop` ended it early."""

    best: Individual[G]
    hall_of_fame: list[Individual[G]]
    logbook: tools.Logbook
    lineage: list[Individual[G]]
    stopped: bool


@dataclass(frozen=True)
class ParetoResult(Generic[G]):
    """A multi-objective run: the non-dominated individuals of the final population (by
    their first objective), the logbook, and whether `should_stop` ended it early."""

    front: list[Individual[G]]
    logbook: tools.Logbook
    stopped: bool
