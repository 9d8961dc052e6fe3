"""The recipe problem: it improves, keeps to the catalogue and the budget, and repeats."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from phantom_cauldron.evolution import evolve
from phantom_cauldron.evolution.recipe_problem import (
    MAX_INGREDIENTS,
    MAX_STEPS,
    MIN_STEPS,
    RecipeProblem,
)
from phantom_cauldron.recipes.catalogue import load_catalogue
from phantom_cauldron.recipes.effects import Conditions
from phantom_cauldron.recipes.model import PotionRecipe

CONDITIONS = Conditions(temperature=65.0, humidity=45.0, ph=6.0, mystical_energy=50.0)


@pytest.fixture(scope="module")
def problem() -> RecipeProblem:
    return RecipeProblem(tuple(load_catalogue().values()), CONDITIONS, rarity_budget=7.0)


def test_best_fitness_improves(problem: RecipeProblem) -> None:
    result = evolve(problem, seed=3, population=60, generations=25)
    best = [entry["best"][0] for entry in result.logbook]
    assert best[-1] > best[0]
    assert all(later >= earlier for earlier, later in itertools.pairwise(best))


def test_every_genome_respects_the_catalogue_and_budget(problem: RecipeProblem) -> None:
    rng = np.random.default_rng(5)
    genomes = [problem.create(rng) for _ in range(50)]
    for _ in range(400):
        a, b = genomes[rng.integers(len(genomes))], genomes[rng.integers(len(genomes))]
        genomes += [*problem.crossover(a, b, rng), problem.mutate(a, rng)]
    names = {ingredient.name: ingredient for ingredient in problem.catalogue}
    for genome in genomes:
        assert MIN_STEPS <= len(genome) <= MAX_STEPS
        assert problem.cost(genome) <= problem.rarity_budget
        assert len(problem.ingredients(genome)) <= MAX_INGREDIENTS
        recipe = PotionRecipe.model_validate(problem.recipe_of(genome, "x").model_dump())
        for ingredient in recipe.ingredients:
            assert names[ingredient.name].rarity == ingredient.rarity


def test_evolved_recipes_carry_ids_and_lineage(problem: RecipeProblem) -> None:
    result = evolve(problem, seed=4, population=40, generations=10)
    recipe = problem.recipe(result.best)
    assert recipe.id == result.best.id
    assert recipe.lineage == result.best.parents
    assert recipe.genetic_fitness == pytest.approx(result.best.values[0])
    assert recipe.predicted_effects


def test_same_seed_same_run_other_seed_differs(problem: RecipeProblem) -> None:
    def run(seed: int) -> tuple[list[tuple[float, ...]], object]:
        result = evolve(problem, seed=seed, population=40, generations=8)
        return [entry["best"] for entry in result.logbook], result.best.genome

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_multi_objective_scores_potency_and_cost() -> None:
    problem = RecipeProblem(
        tuple(load_catalogue().values()), CONDITIONS, rarity_budget=7.0, multi_objective=True
    )
    genomes = [problem.create(np.random.default_rng(seed)) for seed in range(5)]
    values = problem.evaluate_all(genomes)
    assert values.shape == (5, 2)
    assert values[:, 1].tolist() == [problem.cost(genome) for genome in genomes]
