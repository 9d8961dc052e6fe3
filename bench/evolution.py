"""The evolution engine against deap's plain `eaSimple`, measured in the same run.

Run from the repository root::

    .venv/bin/python bench/evolution.py            # 5 repeats (~20 s)
    .venv/bin/python bench/evolution.py --quick    # 3 repeats (~10 s)

Every figure is the median of several repeats; the repeats of a figure and of its
baseline are interleaved, so a burst of noise on the machine hits both alike. The script
always exits 0: the figures are for humans, not a test.

Measured: wall time of population 300 x 100 generations on a 20-D weighted sphere
(w_i = i, minimised, genes in [-5.12, 5.12]):

(a) deap's `algorithms.eaSimple` as deap's examples write it: list individuals from
    `creator`, the default `toolbox.clone` (deepcopy), `cxBlend(alpha=0.5)`,
    `mutGaussian(sigma=0.5, indpb=0.05)`, `selTournament(tournsize=3)`, one `evaluate`
    call per individual, crossover 0.5, mutation 0.2;
(b) `phantom_cauldron.evolution.evolve` on `Sphere(20, weights=1..20)` with the same rates
    and tournament, which also keeps a hall of fame, an elite of one, the logbook with
    diversity, and the ancestry of its individuals. Goal: at most half of (a)'s time.

The best sphere value each reached is printed too (the median over the repeats): the
engine's speed is not bought with a worse search.

Also measured: population 300 x 100 generations on the recipe problem (the shipped
catalogue, the simulator's default conditions, rarity budget 10), (c) in-process with
`run_job` and (d) in a worker process through `EvolutionRuns`, from `start` to the
`EvolutionFinished` on the loop, as a user gets it: the spare worker is started
(`prepare`, as opening the Brewing tab does) and given `SPARE_IDLE_S` to import before
the timer starts; timed are handing it the job, starting the next spare (which imports
while the run goes on), every generation's progress message to the loop and the end.
Goal: the worker's overhead under 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from time import perf_counter

import deap
import numpy as np
from deap import algorithms, base, creator, tools
from report import Row, goal_table, interleaved

from phantom_cauldron.evolution import evolve
from phantom_cauldron.evolution.benchmarks import Sphere
from phantom_cauldron.evolution.conditions import DEFAULTS
from phantom_cauldron.evolution.job import EvolutionJob, run_job
from phantom_cauldron.evolution.progress import EvolutionFinished, EvolutionSettings
from phantom_cauldron.evolution.runs import EvolutionRuns
from phantom_cauldron.recipes.catalogue import load_catalogue
from phantom_cauldron.recipes.effects import Conditions

DIMS = 20
POPULATION = 300
GENERATIONS = 100
BOUND = 5.12
COEFFICIENTS = np.arange(1.0, DIMS + 1)
CROSSOVER_RATE = 0.5
MUTATION_RATE = 0.2
TIME_RATIO_GOAL = 0.5
"""The engine takes at most this share of eaSimple's time."""
WORKER_RATIO_GOAL = 1.10
"""The worker takes at most this share of the in-process time."""
SPARE_IDLE_S = 2.0
"""How long the spare worker waits before a timed run (it imports in about 0.3 s)."""


def _deap_toolbox() -> base.Toolbox:
    creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
    creator.create("Individual", list, fitness=creator.FitnessMin)
    weights = COEFFICIENTS.tolist()

    def evaluate(individual: list[float]) -> tuple[float]:
        return (sum(w * x * x for w, x in zip(weights, individual, strict=True)),)

    toolbox = base.Toolbox()
    toolbox.register("gene", random.uniform, -BOUND, BOUND)
    toolbox.register("individual", tools.initRepeat, creator.Individual, toolbox.gene, DIMS)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("evaluate", evaluate)
    toolbox.register("mate", tools.cxBlend, alpha=0.5)
    toolbox.register("mutate", tools.mutGaussian, mu=0.0, sigma=0.5, indpb=0.05)
    toolbox.register("select", tools.selTournament, tournsize=3)
    return toolbox


def sphere_figures(repeats: int) -> dict[str, float]:
    """Seconds per run of eaSimple and of the engine, and the best value each reached."""
    toolbox = _deap_toolbox()
    bests: dict[str, list[float]] = {"deap_best": [], "engine_best": []}
    seeds = iter(range(10 * repeats))

    def plain() -> float:
        random.seed(next(seeds))
        population = toolbox.population(n=POPULATION)
        start = perf_counter()
        final, _ = algorithms.eaSimple(
            population, toolbox, CROSSOVER_RATE, MUTATION_RATE, GENERATIONS, verbose=False
        )
        elapsed = perf_counter() - start
        bests["deap_best"].append(min(ind.fitness.values[0] for ind in final))
        return elapsed

    def engine() -> float:
        start = perf_counter()
        result = evolve(
            Sphere(DIMS, weights=COEFFICIENTS, bound=BOUND),
            seed=next(seeds),
            population=POPULATION,
            generations=GENERATIONS,
            crossover_rate=CROSSOVER_RATE,
            mutation_rate=MUTATION_RATE,
        )
        elapsed = perf_counter() - start
        bests["engine_best"].append(result.best.values[0])
        return elapsed

    figures = interleaved({"deap": plain, "engine": engine}, repeats)
    return figures | {name: float(np.median(values)) for name, values in bests.items()}


def recipe_figures(repeats: int) -> dict[str, float]:
    """Seconds per recipe run in-process and in a worker process."""
    catalogue = tuple(load_catalogue().values())
    conditions = Conditions(
        DEFAULTS["temperature"], DEFAULTS["humidity"], DEFAULTS["ph"], DEFAULTS["mystical_energy"]
    )
    seeds = iter(range(10 * repeats))

    def settings() -> EvolutionSettings:
        return EvolutionSettings(
            population=POPULATION, generations=GENERATIONS, seed=next(seeds), rarity_budget=10.0
        )

    def here() -> float:
        start = perf_counter()
        run_job(EvolutionJob("bench", settings(), conditions, catalogue), lambda _: None)
        return perf_counter() - start

    async def in_worker() -> float:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def publish(topic: str, data: object, **_: object) -> None:
            if isinstance(data, EvolutionFinished):
                done.set_result(None)

        runs = EvolutionRuns(publish, loop.call_soon_threadsafe, catalogue)
        runs.prepare()
        await asyncio.sleep(SPARE_IDLE_S)
        start = perf_counter()
        runs.start(settings(), lambda: conditions)
        await done
        elapsed = perf_counter() - start
        runs.close()
        return elapsed

    return interleaved({"recipe": here, "recipe_worker": lambda: asyncio.run(in_worker())}, repeats)


ROWS = [
    Row("(a) deap eaSimple, deepcopy clone: 300 x 100 gens", "deap", "s"),
    Row(
        "(b) evolve: 300 x 100 gens",
        "engine",
        "s",
        baseline="deap",
        baseline_label="eaSimple",
        max_ratio=TIME_RATIO_GOAL,
    ),
    Row("(a) eaSimple's best sphere value", "deap_best", "value"),
    Row("(b) evolve's best sphere value", "engine_best", "value"),
    Row("(c) recipe problem in-process: 300 x 100 gens", "recipe", "s"),
    Row(
        "(d) recipe problem in a worker process",
        "recipe_worker",
        "s",
        baseline="recipe",
        baseline_label="in-process",
        max_ratio=WORKER_RATIO_GOAL,
    ),
]


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, and return 0 whatever the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats (~10 s)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 5
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, deap {deap.__version__}, "
        f"numpy {np.__version__}; median of {repeats} repeats; ratio = figure / baseline",
        flush=True,
    )
    start = perf_counter()
    figures: dict[str, float] = {}
    problems: list[str] = []
    try:
        figures |= sphere_figures(repeats)
    except Exception as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
    try:
        figures |= recipe_figures(repeats)
    except Exception as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
    report, passed, missed = goal_table(ROWS, figures)
    print(report)
    print(f"\n{passed} goals met, {missed} missed; {perf_counter() - start:.0f} s of measuring")
    for problem in problems:
        print(f"problem: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
