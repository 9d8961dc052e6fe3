"""A generic genetic-algorithm engine over deap's toolbox and tools (Qt-free).

A `Problem` says how to make, score, cross and mutate its genomes; `evolve` runs a
single-objective search and `evolve_pareto` a multi-objective one (NSGA-II). Both are
seeded by one `numpy.random.Generator`, so the same seed gives the same run.
"""

from phantom_cauldron.evolution.engine import evolve, evolve_pareto
from phantom_cauldron.evolution.individuals import Individual
from phantom_cauldron.evolution.problem import Problem, mean_pairwise_distance
from phantom_cauldron.evolution.records import EvolutionResult, GenerationRecord, ParetoResult

__all__ = [
    "EvolutionResult",
    "GenerationRecord",
    "Individual",
    "ParetoResult",
    "Problem",
    "evolve",
    "evolve_pareto",
    "mean_pairwise_distance",
]
