"""Individuals with stable ids and parent ids, and the bounded map of their ancestors."""

from __future__ import annotations

from collections.abc import Iterable
from operator import mul
from typing import Generic, TypeVar

from deap import base

G = TypeVar("G")


def fitness_class(weights: tuple[float, ...]) -> type[base.Fitness]:
    """A deap fitness class for `weights`, made without deap's global `creator`, whose
    constructor takes the values as a tuple of floats without checking them again."""
    if not weights or any(weight == 0 for weight in weights):
        raise ValueError(f"problem weights: need one non-zero weight per objective, got {weights}")
    factors = tuple(float(w) for w in weights)

    def __init__(self: base.Fitness, values: tuple[float, ...] = ()) -> None:
        self.wvalues = tuple(map(mul, values, factors))

    return type("Fitness", (base.Fitness,), {"weights": factors, "__init__": __init__})


class Individual(Generic[G]):
    """A genome with its fitness, the generation it was born in, its id
    (`g<generation>-i<index>`) and the ids of its parents. Treated as a value: deep copies
    (deap's hall of fame makes them) return the individual itself."""

    __slots__ = ("fitness", "generation", "genome", "id", "parents")

    def __init__(
        self,
        genome: G,
        fitness: base.Fitness,
        generation: int,
        index: int,
        parents: tuple[str, ...],
    ) -> None:
        self.genome = genome
        self.fitness = fitness
        self.generation = generation
        self.id = f"g{generation}-i{index}"
        self.parents = parents

    @property
    def values(self) -> tuple[float, ...]:
        """The objective values (not weighted)."""
        return tuple(self.fitness.values)

    def __deepcopy__(self, memo: dict[int, object]) -> Individual[G]:
        return self

    def __repr__(self) -> str:
        return f"Individual({self.id}, values={self.values}, parents={self.parents})"


class Ancestry(Generic[G]):
    """Individuals by id, kept while they are an ancestor of someone alive (or alive
    themselves) and no more than `depth` generations old."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.known: dict[str, Individual[G]] = {}

    def add(self, individuals: Iterable[Individual[G]]) -> None:
        """Remember `individuals`."""
        for individual in individuals:
            self.known[individual.id] = individual

    def prune(self, alive: Iterable[Individual[G]], generation: int) -> None:
        """Forget every individual that is neither in `alive` nor an ancestor of one, and
        those born more than `depth` generations before `generation`."""
        oldest = generation - self.depth
        kept: dict[str, Individual[G]] = {}
        stack = [individual.id for individual in alive]
        while stack:
            ident = stack.pop()
            individual = self.known.get(ident)
            if individual is None or ident in kept or individual.generation < oldest:
                continue
            kept[ident] = individual
            stack.extend(individual.parents)
        self.known = kept

    def lineage(self, individual: Individual[G]) -> list[Individual[G]]:
        """`individual` and its remembered ancestors, nearest first, each once."""
        found = [individual]
        seen = {individual.id}
        for current in found:
            for parent in current.parents:
                if parent not in seen and parent in self.known:
                    seen.add(parent)
                    found.append(self.known[parent])
        return found
