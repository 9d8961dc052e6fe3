"""The contract an evolvable problem keeps, and a generic diversity measure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import numpy as np

G = TypeVar("G")

DIVERSITY_SAMPLE = 64
"""At most this many genomes, evenly spaced in the population, enter the diversity."""


class Problem(Protocol[G]):
    """What the engine needs of a problem whose genomes are of type `G`.

    Genomes are values: `crossover` and `mutate` return new genomes and never change
    their arguments, so the engine shares unchanged genomes instead of copying them.
    All randomness comes from the `rng` handed in, so a seed fixes the whole run.
    """

    weights: tuple[float, ...]
    """Per objective, +1.0 to maximise or -1.0 to minimise (deap's fitness weights)."""

    def create(self, rng: np.random.Generator) -> G:
        """A random genome of the first generation."""
        ...

    def evaluate_all(self, genomes: Sequence[G]) -> np.ndarray:
        """The objective values of all `genomes` at once: shape (n,) or (n, objectives)."""
        ...

    def crossover(self, a: G, b: G, rng: np.random.Generator) -> tuple[G, G]:
        """Two children of `a` and `b`."""
        ...

    def mutate(self, genome: G, rng: np.random.Generator) -> G:
        """A mutant of `genome`."""
        ...

    def diversity(self, genomes: Sequence[G]) -> float:
        """How spread out `genomes` are (`mean_pairwise_distance` suits numpy genomes)."""
        ...


def mean_pairwise_distance(genomes: Sequence[np.ndarray]) -> float:
    """The mean Euclidean distance between pairs of equally shaped numpy genomes, over
    at most `DIVERSITY_SAMPLE` of them evenly spaced (deterministic)."""
    if len(genomes) < 2:
        return 0.0
    picks = np.linspace(0, len(genomes) - 1, min(len(genomes), DIVERSITY_SAMPLE)).astype(int)
    points = np.stack([np.asarray(genomes[i], dtype=float).ravel() for i in picks])
    squares = np.einsum("ij,ij->i", points, points)
    gram = points @ points.T
    distances = np.sqrt(np.maximum(squares[:, None] + squares[None, :] - 2 * gram, 0.0))
    count = len(points)
    return float(distances.sum() / (count * (count - 1)))
