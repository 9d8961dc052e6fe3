"""Problems with known optima, to check and measure the engine: OneMax, a weighted sphere
and ZDT1 (two objectives). Their genomes are numpy arrays, never changed in place."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from phantom_cauldron.evolution.problem import mean_pairwise_distance

Array = np.ndarray


class _ArrayGenomes:
    """Diversity as the mean pairwise distance of the genomes."""

    def diversity(self, genomes: Sequence[Array]) -> float:
        """The mean pairwise Euclidean distance of (a sample of) `genomes`."""
        return mean_pairwise_distance(genomes)


def _two_point(a: Array, b: Array, rng: np.random.Generator) -> tuple[Array, Array]:
    """The genes between two distinct cut points (each in 1..len - 1) swapped."""
    u, v = rng.random(2).tolist()
    start = 1 + int(u * (len(a) - 1))
    stop = 1 + int(v * (len(a) - 2))
    start, stop = sorted((start, stop + (stop >= start)))
    first, second = a.copy(), b.copy()
    first[start:stop], second[start:stop] = b[start:stop], a[start:stop]
    return first, second


class OneMax(_ArrayGenomes):
    """Maximise the number of ones in `n_bits` bits (optimum: `n_bits`). Two-point
    crossover; mutation flips each bit with probability `flip_rate`."""

    weights = (1.0,)

    def __init__(self, n_bits: int, flip_rate: float = 0.05) -> None:
        if n_bits < 2:
            raise ValueError(f"n_bits: at least 2, got {n_bits}")
        self.n_bits = n_bits
        self.flip_rate = flip_rate

    def create(self, rng: np.random.Generator) -> Array:
        """Random bits."""
        return rng.integers(0, 2, self.n_bits, dtype=np.uint8)

    def evaluate_all(self, genomes: Sequence[Array]) -> Array:
        """The count of ones of each genome."""
        return np.asarray(np.stack(genomes).sum(axis=1))

    def crossover(self, a: Array, b: Array, rng: np.random.Generator) -> tuple[Array, Array]:
        """Two-point crossover."""
        return _two_point(a, b, rng)

    def mutate(self, genome: Array, rng: np.random.Generator) -> Array:
        """Each bit flipped with probability `flip_rate`."""
        return genome ^ (rng.random(self.n_bits) < self.flip_rate).astype(np.uint8)


class Sphere(_ArrayGenomes):
    """Minimise sum(w_i * x_i**2) over x in [-`bound`, `bound`]^`dims` (optimum 0 at 0).
    `weights` (the w_i) default to ones. Blend crossover; mutation adds Gaussian noise of
    a log-uniform scale to each gene with probability 1/dims (at least one gene)."""

    weights = (-1.0,)

    def __init__(
        self, dims: int, weights: Sequence[float] | None = None, bound: float = 5.12
    ) -> None:
        if dims < 1:
            raise ValueError(f"dims: at least 1, got {dims}")
        coefficients = np.ones(dims) if weights is None else np.asarray(weights, dtype=float)
        if coefficients.shape != (dims,) or (coefficients <= 0).any():
            raise ValueError(f"weights: {dims} positive numbers, got {weights}")
        self.dims = dims
        self.coefficients = coefficients
        self.bound = bound

    def create(self, rng: np.random.Generator) -> Array:
        """A uniform point of the box."""
        return rng.uniform(-self.bound, self.bound, self.dims)

    def evaluate_all(self, genomes: Sequence[Array]) -> Array:
        """The weighted sum of squares of each genome."""
        points = np.stack(genomes)
        return np.asarray((points * points) @ self.coefficients)

    def crossover(self, a: Array, b: Array, rng: np.random.Generator) -> tuple[Array, Array]:
        """Blend crossover (BLX-0.5), per gene, kept in the box."""
        gamma = rng.uniform(-0.5, 1.5, self.dims)
        first = (1 - gamma) * a + gamma * b
        second = a + b - first
        return self._inside(first), self._inside(second)

    def mutate(self, genome: Array, rng: np.random.Generator) -> Array:
        """Gaussian noise, its scale from 1e-4 to 1 times the bound, on a few genes."""
        draws = rng.random(self.dims + 2)
        genes = draws[: self.dims] < 1 / self.dims
        genes[int(draws[self.dims] * self.dims)] = True
        scale = self.bound * 10 ** (-4 * draws[self.dims + 1])
        return self._inside(genome + rng.standard_normal(self.dims) * (scale * genes))

    def _inside(self, genome: Array) -> Array:
        return np.asarray(np.minimum(np.maximum(genome, -self.bound), self.bound))


class ZDT1(_ArrayGenomes):
    """Minimise f1 = x1 and f2 = g (1 - sqrt(x1 / g)), g = 1 + 9 mean(x2..xn), over
    [0, 1]^`dims`. Its Pareto front is f2 = 1 - sqrt(f1), f1 in [0, 1]. Simulated binary
    crossover and polynomial mutation (distribution index `eta`), kept in the box."""

    weights = (-1.0, -1.0)

    def __init__(self, dims: int = 30, eta: float = 20.0) -> None:
        if dims < 2:
            raise ValueError(f"dims: at least 2, got {dims}")
        self.dims = dims
        self.eta = eta

    def create(self, rng: np.random.Generator) -> Array:
        """A uniform point of the box."""
        return rng.random(self.dims)

    def evaluate_all(self, genomes: Sequence[Array]) -> Array:
        """(f1, f2) of each genome."""
        points = np.stack(genomes)
        f1 = points[:, 0]
        g = 1 + 9 * points[:, 1:].mean(axis=1)
        return np.column_stack((f1, g * (1 - np.sqrt(f1 / g))))

    def crossover(self, a: Array, b: Array, rng: np.random.Generator) -> tuple[Array, Array]:
        """Simulated binary crossover on about half of the genes, the children's genes
        swapped at random."""
        u = rng.random(self.dims)
        exponent = 1 / (self.eta + 1)
        beta = np.where(u <= 0.5, (2 * u) ** exponent, (1 / (2 * (1 - u))) ** exponent)
        beta = np.where(rng.random(self.dims) < 0.5, beta, 1.0)
        beta = np.where(rng.random(self.dims) < 0.5, beta, -beta)
        first = np.clip(0.5 * ((1 + beta) * a + (1 - beta) * b), 0.0, 1.0)
        second = np.clip(0.5 * ((1 - beta) * a + (1 + beta) * b), 0.0, 1.0)
        return first, second

    def mutate(self, genome: Array, rng: np.random.Generator) -> Array:
        """Polynomial mutation of each gene with probability 1/dims."""
        u = rng.random(self.dims)
        exponent = 1 / (self.eta + 1)
        delta = np.where(u < 0.5, (2 * u) ** exponent - 1, 1 - (2 * (1 - u)) ** exponent)
        genes = rng.random(self.dims) < 1 / self.dims
        return np.asarray(np.clip(genome + np.where(genes, delta, 0.0), 0.0, 1.0))

    @staticmethod
    def optimal_front(points: int) -> Array:
        """`points` points (f1, f2) evenly spread along the true Pareto front."""
        f1 = np.linspace(0.0, 1.0, points)
        return np.column_stack((f1, 1 - np.sqrt(f1)))
