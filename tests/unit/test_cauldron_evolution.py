"""The evolution engine: reproducible, and it finds the known optima of its benchmarks."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np
import pytest

from phantom_cauldron.evolution import GenerationRecord, evolve, evolve_pareto
from phantom_cauldron.evolution.benchmarks import ZDT1, OneMax, Sphere


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    first = evolve(Sphere(5), seed=7, population=60, generations=15)
    again = evolve(Sphere(5), seed=7, population=60, generations=15)
    other = evolve(Sphere(5), seed=8, population=60, generations=15)
    assert list(first.logbook) == list(again.logbook)
    assert first.best.id == again.best.id and first.best.values == again.best.values
    assert np.array_equal(first.best.genome, again.best.genome)
    assert [i.id for i in first.lineage] == [i.id for i in again.lineage]
    assert list(first.logbook) != list(other.logbook)
    assert first.best.values != other.best.values


def test_the_logbook_has_a_record_per_generation_and_progress_hears_each() -> None:
    heard: list[GenerationRecord] = []
    result = evolve(OneMax(30), seed=1, population=40, generations=12, progress=heard.append)
    assert [record.gen for record in heard] == list(range(13))
    assert result.logbook.select("gen") == list(range(13))
    assert result.logbook.select("best") == [record.best for record in heard]
    assert result.logbook[0]["evaluations"] == 40
    assert all(0 < entry["evaluations"] <= 40 for entry in result.logbook[1:])
    assert all(entry["diversity"] > 0 for entry in result.logbook)
    assert set(result.logbook[0]) >= {"gen", "best", "mean", "std", "diversity", "evaluations"}
    bests = [best[0] for best in result.logbook.select("best")]
    assert bests == sorted(bests), "the elite keeps the best"
    assert result.best.values[0] == bests[-1]


def test_onemax_of_100_bits_is_solved_within_60_generations_for_most_seeds() -> None:
    solved_at: list[int] = []
    for seed in range(20):
        solved: list[int] = []

        def note(record: GenerationRecord, solved: list[int] = solved) -> None:
            if record.best[0] == 100 and not solved:
                solved.append(record.gen)

        def done(solved: list[int] = solved) -> bool:
            return bool(solved)

        result = evolve(
            OneMax(100), seed=seed, population=300, generations=60, progress=note, should_stop=done
        )
        if solved:
            solved_at.append(solved[0])
            assert result.best.values == (100.0,) and result.best.genome.all()
    print(f"OneMax solved by {len(solved_at)}/20 seeds, median {statistics.median(solved_at)}")
    assert len(solved_at) >= 16


def test_the_5d_sphere_is_minimised_below_1e_3() -> None:
    result = evolve(Sphere(5), seed=3, population=300, generations=100)
    assert result.best.values[0] < 1e-3
    assert float(np.sum(result.best.genome**2)) == pytest.approx(result.best.values[0])


def test_a_weighted_sphere_weighs_its_genes() -> None:
    sphere = Sphere(3, weights=[1.0, 10.0, 100.0])
    assert sphere.evaluate_all([np.array([1.0, 1.0, 1.0]), np.array([0.0, 0.0, 2.0])]).tolist() == [
        111.0,
        400.0,
    ]
    with pytest.raises(ValueError, match="weights"):
        Sphere(3, weights=[1.0, 2.0])


def _generational_distance(front: np.ndarray) -> float:
    true = ZDT1.optimal_front(20_001)
    gaps = np.sqrt(((front[:, None, :] - true[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    return float(gaps.mean())


def test_nsga2_on_zdt1_finds_a_non_dominated_front_close_to_the_true_one() -> None:
    result = evolve_pareto(ZDT1(30), seed=2, population=100, generations=150)
    front = np.array([individual.values for individual in result.front])
    assert len(front) >= 50
    for point in front:
        dominates = (front <= point).all(axis=1) & (front < point).any(axis=1)
        assert not dominates.any(), f"{point} is dominated"
    assert _generational_distance(front) < 0.01
    assert front[:, 0].min() < 0.05 and front[:, 0].max() > 0.95, "the front spans f1"
    assert len(result.logbook) == 151 and len(result.logbook[-1]["best"]) == 2


def test_lineage_ids_resolve_to_real_ancestors() -> None:
    result = evolve(Sphere(4), seed=5, population=50, generations=25)
    lineage = {individual.id: individual for individual in result.lineage}
    assert result.lineage[0] is result.best
    assert len(lineage) > 1
    for individual in result.lineage:
        assert individual.generation <= result.best.generation
        for parent in individual.parents:
            assert parent in lineage, f"{individual.id}'s parent {parent} is unknown"
            assert lineage[parent].generation < individual.generation
    founders = [individual for individual in result.lineage if not individual.parents]
    assert founders and all(individual.generation == 0 for individual in founders)


def test_parent_ids_name_the_genomes_a_child_was_made_from() -> None:
    """Without mutation each gene of a child comes from one of its two parents; without
    crossover a child is its only parent with a few bits flipped."""
    crossed = evolve(OneMax(40), seed=9, population=30, generations=10, mutation_rate=0.0)
    known = {individual.id: individual for individual in crossed.lineage}
    children = [child for child in crossed.lineage if child.parents]
    assert children
    for child in children:
        first, second = (known[parent].genome for parent in child.parents)
        assert ((child.genome == first) | (child.genome == second)).all()
    mutated = evolve(OneMax(40), seed=9, population=30, generations=10, crossover_rate=0.0)
    known = {individual.id: individual for individual in mutated.lineage}
    children = [child for child in mutated.lineage if child.parents]
    assert children
    for child in children:
        (parent,) = child.parents
        assert np.count_nonzero(child.genome != known[parent].genome) < 20


def test_should_stop_ends_the_run_within_a_generation() -> None:
    heard: list[int] = []
    result = evolve(
        Sphere(3),
        seed=1,
        population=20,
        generations=50,
        progress=lambda record: heard.append(record.gen),
        should_stop=lambda: len(heard) > 4,
    )
    assert result.stopped
    assert heard == [0, 1, 2, 3, 4]
    assert result.logbook.select("gen") == [0, 1, 2, 3, 4]
    pareto = evolve_pareto(ZDT1(5), seed=1, population=20, generations=50, should_stop=lambda: True)
    assert pareto.stopped and len(pareto.logbook) == 1


def test_the_pareto_mode_is_reproducible_too() -> None:
    first = evolve_pareto(ZDT1(10), seed=3, population=30, generations=10)
    again = evolve_pareto(ZDT1(10), seed=3, population=30, generations=10)
    other = evolve_pareto(ZDT1(10), seed=4, population=30, generations=10)
    assert list(first.logbook) == list(again.logbook) != list(other.logbook)
    assert [i.values for i in first.front] == [i.values for i in again.front]


def test_a_run_to_the_end_is_not_stopped() -> None:
    assert not evolve(Sphere(2), seed=1, population=10, generations=3).stopped


def test_without_crossover_or_mutation_nothing_new_is_scored() -> None:
    result = evolve(
        OneMax(20), seed=4, population=20, generations=5, crossover_rate=0.0, mutation_rate=0.0
    )
    assert result.logbook.select("evaluations") == [20, 0, 0, 0, 0, 0]
    assert all(individual.generation == 0 for individual in result.hall_of_fame)


class _Broken(Sphere):
    def evaluate_all(self, genomes: Sequence[np.ndarray]) -> np.ndarray:
        return np.zeros((len(genomes), 3))


def test_a_problem_scoring_the_wrong_shape_is_named() -> None:
    with pytest.raises(ValueError, match=r"_Broken\.evaluate_all: expected shape \(10, 1\)"):
        evolve(_Broken(2), seed=1, population=10, generations=1)


@pytest.mark.parametrize(
    ("field", "settings"),
    [
        ("population", {"population": 1}),
        ("generations", {"generations": -1}),
        ("crossover_rate", {"crossover_rate": 1.5}),
        ("mutation_rate", {"mutation_rate": -0.1}),
        ("elite", {"elite": 10}),
    ],
)
def test_bad_settings_name_their_field(field: str, settings: dict[str, float]) -> None:
    arguments = {"seed": 1, "population": 10, "generations": 2} | settings
    with pytest.raises(ValueError, match=field):
        evolve(Sphere(2), **arguments)  # type: ignore[arg-type]
