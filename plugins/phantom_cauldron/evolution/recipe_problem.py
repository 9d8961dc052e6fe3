"""Potion recipes as an evolvable `Problem`.

A genome is a tuple of `Step`s (a value, never changed in place): `heat_to` and `simmer`
hold the brew at a whole-degree temperature, `add` drops a portion multiple of a
catalogue ingredient (by its index), `stir` and `rest` last a while. A recipe has
`MIN_STEPS` to `MAX_STEPS` steps and at most `MAX_INGREDIENTS` different ingredients.

Rarity budget: each different ingredient a recipe adds costs `RARITY_POINTS` of its
rarity (common 1, rare 3, legendary 6), however much of it is added; a recipe's cost is
the sum, never above `rarity_budget`. Every genome made, crossed or mutated is repaired
to keep these rules: surplus steps are cut from the end, and the add steps of the last
ingredients to enter are dropped while the recipe has too many ingredients or costs too
much.

Fitness (one objective, maximised): the desirability of the effects `predict` gives
under the current conditions, ``sum(sqrt(strength)) - TIME_COST × hours``: several
effects count more than one strong one, and a long brew costs. Multi-objective: potency
``sum(strength)`` (maximised) against the rarity cost (minimised).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from phantom_cauldron.evolution.individuals import Individual
from phantom_cauldron.evolution.problem import mean_pairwise_distance
from phantom_cauldron.recipes.effects import Conditions, Prediction, predict
from phantom_cauldron.recipes.model import Action, BrewingStep, Ingredient, PotionRecipe

RARITY_POINTS = {"common": 1.0, "rare": 3.0, "legendary": 6.0}
MIN_STEPS = 2
MAX_STEPS = 12
MAX_INGREDIENTS = 5
TIME_COST = 0.05
"""Desirability lost per hour of brewing."""
TEMPERATURES_C = (40, 100)
DURATIONS_S = {
    "heat_to": (60, 1800),
    "simmer": (60, 1800),
    "add": (0, 300),
    "stir": (10, 600),
    "rest": (60, 1800),
}
PORTIONS = (1, 6)
"""An add step drops this many half portions (the catalogue's quantity is one portion)."""
ACTIONS: tuple[Action, ...] = ("heat_to", "simmer", "add", "stir", "rest")
ACTION_ODDS = np.array([0.2, 0.2, 0.35, 0.15, 0.1])


class Step(NamedTuple):
    """One brewing step of a genome: the ingredient is a catalogue index, the quantity a
    count of half portions; fields an action does not take are None."""

    action: Action
    duration_s: int
    temperature_c: int | None = None
    ingredient: int | None = None
    halves: int | None = None


Genome = tuple[Step, ...]


class RecipeProblem:
    """Evolve recipes from `catalogue` for `conditions` within `rarity_budget` points.
    `conditions` may be replaced between generations; later births are scored under the
    new ones."""

    def __init__(
        self,
        catalogue: Sequence[Ingredient],
        conditions: Conditions,
        rarity_budget: float,
        multi_objective: bool = False,
    ) -> None:
        if not catalogue:
            raise ValueError("catalogue: at least one ingredient")
        if rarity_budget <= 0:
            raise ValueError(f"rarity_budget: above 0, got {rarity_budget}")
        self.catalogue = tuple(catalogue)
        self.conditions = conditions
        self.rarity_budget = rarity_budget
        self.multi_objective = multi_objective
        self.weights: tuple[float, ...] = (1.0, -1.0) if multi_objective else (1.0,)
        self.points = np.array([RARITY_POINTS[item.rarity] for item in self.catalogue])

    # -- genomes ---------------------------------------------------------------------------

    def create(self, rng: np.random.Generator) -> Genome:
        """A random valid recipe."""
        count = int(rng.integers(MIN_STEPS, MAX_STEPS + 1))
        return self.repair(tuple(self._random_step(rng) for _ in range(count)))

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> tuple[Genome, Genome]:
        """One-point crossover of the step lists, each cut anywhere, repaired."""
        i, j = int(rng.integers(0, len(a) + 1)), int(rng.integers(0, len(b) + 1))
        return self.repair(a[:i] + b[j:]), self.repair(b[:j] + a[i:])

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        """One change: a step's numbers nudged, a step replaced, inserted, removed, or two
        neighbours swapped; repaired."""
        steps = list(genome)
        where = int(rng.integers(0, len(steps)))
        kind = int(rng.integers(0, 5))
        if kind == 0:
            steps[where] = self._nudged(steps[where], rng)
        elif kind == 1:
            steps[where] = self._random_step(rng)
        elif kind == 2 and len(steps) < MAX_STEPS:
            steps.insert(where, self._random_step(rng))
        elif kind == 3 and len(steps) > MIN_STEPS:
            del steps[where]
        elif where + 1 < len(steps):
            steps[where], steps[where + 1] = steps[where + 1], steps[where]
        return self.repair(tuple(steps))

    def repair(self, genome: Genome) -> Genome:
        """`genome` within the rules: at most `MAX_STEPS` steps and `MAX_INGREDIENTS`
        ingredients, within the budget, and at least `MIN_STEPS` steps (rests appended)."""
        steps = genome[:MAX_STEPS]
        kept: list[int] = []
        cost = 0.0
        for index in self.ingredients(steps):
            points = float(self.points[index])
            if len(kept) < MAX_INGREDIENTS and cost + points <= self.rarity_budget:
                kept.append(index)
                cost += points
        if len(kept) < len(self.ingredients(steps)):
            steps = tuple(s for s in steps if s.ingredient is None or s.ingredient in kept)
        while len(steps) < MIN_STEPS:
            steps += (Step("rest", DURATIONS_S["rest"][0]),)
        return steps

    def ingredients(self, genome: Genome) -> list[int]:
        """The catalogue indices `genome` adds, in the order they first enter."""
        return list(dict.fromkeys(s.ingredient for s in genome if s.ingredient is not None))

    def cost(self, genome: Genome) -> float:
        """The rarity points of `genome`'s ingredients."""
        return float(sum(self.points[index] for index in self.ingredients(genome)))

    def _random_step(self, rng: np.random.Generator) -> Step:
        action = ACTIONS[int(rng.choice(len(ACTIONS), p=ACTION_ODDS))]
        low, high = DURATIONS_S[action]
        duration = int(rng.integers(low, high + 1))
        if action in ("heat_to", "simmer"):
            return Step(action, duration, int(rng.integers(*TEMPERATURES_C, endpoint=True)))
        if action == "add":
            affordable = np.flatnonzero(self.points <= self.rarity_budget)
            if not len(affordable):
                return Step("stir", duration)
            ingredient = int(affordable[int(rng.integers(0, len(affordable)))])
            return Step(
                action, duration, None, ingredient, int(rng.integers(*PORTIONS, endpoint=True))
            )
        return Step(action, duration)

    def _nudged(self, step: Step, rng: np.random.Generator) -> Step:
        low, high = DURATIONS_S[step.action]
        shift, degrees, halves = rng.normal(0.0, 0.2), int(rng.integers(-5, 6)), rng.integers(-1, 2)
        duration = int(min(high, max(low, round(step.duration_s * math.exp(shift)))))
        if step.temperature_c is not None:
            temperature = min(
                TEMPERATURES_C[1], max(TEMPERATURES_C[0], step.temperature_c + degrees)
            )
            return step._replace(duration_s=duration, temperature_c=temperature)
        if step.halves is not None:
            count = int(min(PORTIONS[1], max(PORTIONS[0], step.halves + int(halves))))
            return step._replace(duration_s=duration, halves=count)
        return step._replace(duration_s=duration)

    # -- scoring ---------------------------------------------------------------------------

    def evaluate_all(self, genomes: Sequence[Genome]) -> np.ndarray:
        """Desirability of each genome, or (potency, cost) in multi-objective mode."""
        if self.multi_objective:
            return np.array(
                [
                    (sum(e.strength for e in self.prediction(g).effects), self.cost(g))
                    for g in genomes
                ],
                dtype=float,
            ).reshape(len(genomes), 2)
        return np.array([desirability(self.prediction(g)) for g in genomes], dtype=float)

    def prediction(self, genome: Genome) -> Prediction:
        """What `predict` says of `genome` under the current conditions."""
        return predict(self.recipe_of(genome, "candidate"), self.conditions)

    def diversity(self, genomes: Sequence[Genome]) -> float:
        """The mean pairwise distance of the genomes' features: half portions per
        ingredient, step count, brew hours and mean held temperature / 10 °C."""
        return mean_pairwise_distance([self._features(g) for g in genomes])

    def _features(self, genome: Genome) -> np.ndarray:
        features = np.zeros(len(self.catalogue) + 3)
        held = [s.temperature_c for s in genome if s.temperature_c is not None]
        for step in genome:
            if step.ingredient is not None and step.halves is not None:
                features[step.ingredient] += step.halves
        features[-3] = len(genome)
        features[-2] = sum(s.duration_s for s in genome) / 3600
        features[-1] = sum(held) / len(held) / 10 if held else 0.0
        return features

    # -- recipes ---------------------------------------------------------------------------

    def recipe_of(
        self,
        genome: Genome,
        ident: str,
        fitness: float = 0.0,
        lineage: tuple[str, ...] = (),
        effects: bool = False,
    ) -> PotionRecipe:
        """`genome` as a `PotionRecipe` (its ingredients with the total quantity added),
        with its predicted effects if `effects`."""
        totals: dict[int, float] = {}
        steps: list[BrewingStep] = []
        for step in genome:
            quantity = None
            name = None
            if step.ingredient is not None and step.halves is not None:
                item = self.catalogue[step.ingredient]
                quantity, name = item.quantity * step.halves / 2, item.name
                totals[step.ingredient] = totals.get(step.ingredient, 0.0) + quantity
            steps.append(
                BrewingStep.model_construct(
                    action=step.action,
                    duration_s=float(step.duration_s),
                    temperature_c=None if step.temperature_c is None else float(step.temperature_c),
                    ingredient=name,
                    quantity=quantity,
                )
            )
        ingredients = tuple(
            self.catalogue[index].model_copy(update={"quantity": total})
            for index, total in totals.items()
        )
        recipe = PotionRecipe.model_construct(
            id=ident,
            ingredients=ingredients,
            brewing_steps=tuple(steps),
            predicted_effects=(),
            genetic_fitness=fitness,
            lineage=lineage,
        )
        if effects:
            found = predict(recipe, self.conditions).effects
            recipe = recipe.model_copy(update={"predicted_effects": found})
        return recipe

    def recipe(self, individual: Individual[Genome]) -> PotionRecipe:
        """The recipe of an evolved individual: its id, fitness (the first objective),
        parents and predicted effects."""
        return self.recipe_of(
            individual.genome,
            individual.id,
            individual.values[0],
            individual.parents,
            effects=True,
        )


def desirability(prediction: Prediction) -> float:
    """``sum(sqrt(strength)) - TIME_COST × hours`` of a prediction."""
    value = sum(math.sqrt(effect.strength) for effect in prediction.effects)
    return value - TIME_COST * prediction.duration_s / 3600
