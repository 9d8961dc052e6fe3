"""What an evolution of recipes tells the hub: its settings, each generation, its end.

Events go out under `EVOLUTION_TOPIC`: `cauldron/evolution/<run>/generation` carries a
`GenerationProgress`, `cauldron/evolution/<run>/finished` an `EvolutionFinished`. A
replayed event (from the audit log) carries plain dicts instead, which
`phantom_cauldron.replayed.revive` turns back into these.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from phantom_cauldron.evolution.records import GenerationRecord
from phantom_cauldron.recipes.model import PotionRecipe

EVOLUTION_TOPIC = "cauldron/evolution"


def generation_topic(run: str) -> str:
    """The topic of `run`'s generations."""
    return f"{EVOLUTION_TOPIC}/{run}/generation"


def finished_topic(run: str) -> str:
    """The topic of `run`'s end."""
    return f"{EVOLUTION_TOPIC}/{run}/finished"


class EvolutionSettings(BaseModel):
    """What the user sets before pressing Evolve (validated: a bad value names its field)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    population: int = Field(300, ge=4, le=5000)
    generations: int = Field(100, ge=1, le=2000)
    seed: int = Field(0, ge=0)
    crossover_rate: float = Field(0.5, ge=0.0, le=1.0)
    mutation_rate: float = Field(0.2, ge=0.0, le=1.0)
    multi_objective: bool = False
    """Potency against cost (NSGA-II): the result is a Pareto front."""
    rarity_budget: float = Field(10.0, gt=0.0)
    """The most a recipe's ingredients may cost in rarity points."""
    resample_every: int = Field(0, ge=0)
    """Re-read the cauldron's conditions every this many generations (0: only at the start)."""


@dataclass(frozen=True)
class LineageNode:
    """One ancestor of the winner: its id, its parents' ids, its fitness, its generation."""

    id: str
    parents: tuple[str, ...]
    fitness: float
    generation: int


@dataclass(frozen=True)
class GenerationProgress:
    """A generation done: its statistics, the best recipe so far, the pace, and in
    multi-objective mode the current front as (potency, cost) points."""

    run: str
    record: GenerationRecord
    best: PotionRecipe
    generations_per_s: float
    front: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class EvolutionFinished:
    """A run's end: the winner, the hall of fame (best first), the winner's lineage, the
    Pareto front's recipes in multi-objective mode, and whether it was cancelled or failed
    (`error` says why)."""

    run: str
    best: PotionRecipe | None
    hall_of_fame: tuple[PotionRecipe, ...]
    lineage: tuple[LineageNode, ...]
    front: tuple[PotionRecipe, ...] = ()
    cancelled: bool = False
    error: str | None = None
