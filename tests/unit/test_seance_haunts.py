"""Haunts speak as often as their interruption_probability says, only when they may, and
one seed repeats a séance exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phantom_seance.events import Manifestation
from phantom_seance.haunts import TEMPERAMENTS, Haunt, HauntCircle, default_haunts

TOLERANCE_SD = 4.0
"""Counts must fall within four standard deviations of their expectation (a false alarm
about once in 16,000 runs); the seeds are fixed, so each run is the same anyway."""


def _simulate(
    haunt: Haunt,
    *,
    seed: int,
    seconds: float,
    quiet_for_s: float,
    atmosphere: float = 0.0,
    rituals: frozenset[str] = frozenset(),
) -> tuple[int, float, float]:
    """Tick one haunt at irregular intervals; return how often it spoke, and the expected
    count and variance over the ticks in which it could speak (not resting after speaking):
    each such tick of `dt` is a chance of 1 - exp(-rate dt)."""
    circle = HauntCircle([haunt], seed=seed)
    steps = np.random.default_rng(seed + 1).uniform(0.02, 0.5, int(seconds / 0.26))
    rate, _ = haunt.rate(0.0, quiet_for_s, atmosphere, rituals)
    spoken, expected, variance = 0, 0.0, 0.0
    last: float | None = None
    now = 0.0
    circle.tick(now, quiet_for_s, atmosphere, rituals)
    for dt in steps:
        now += float(dt)
        if last is None or now - last >= haunt.cooldown_s:
            chance = -math.expm1(-rate * dt)
            expected += chance
            variance += chance * (1 - chance)
        if circle.tick(now, quiet_for_s, atmosphere, rituals):
            spoken += 1
            last = now
    return spoken, expected, variance


def _within_tolerance(count: int, expected: float, variance: float) -> bool:
    return abs(count - expected) <= TOLERANCE_SD * math.sqrt(variance)


@pytest.mark.parametrize("haunt", default_haunts(), ids=lambda haunt: haunt.name)
def test_in_a_quiet_room_a_haunt_speaks_at_its_interruption_probability(haunt: Haunt) -> None:
    spoken, expected, variance = _simulate(haunt, seed=11, seconds=40_000, quiet_for_s=60.0)
    assert expected > 200
    assert _within_tolerance(spoken, expected, variance), (spoken, expected, variance)
    eligible_s = expected / haunt.interruption_probability
    assert spoken / eligible_s == pytest.approx(haunt.interruption_probability, rel=0.3)


def test_in_a_talking_room_a_haunt_speaks_only_on_a_whim() -> None:
    haunt = Haunt("pip", "mischievous", "imp", interruption_probability=0.2, cooldown_s=2.0)
    quiet = _simulate(haunt, seed=3, seconds=20_000, quiet_for_s=60.0)
    talking = _simulate(haunt, seed=3, seconds=20_000, quiet_for_s=0.0)
    assert _within_tolerance(*talking)
    assert talking[0] < quiet[0] / 2
    whim_rate = talking[0] / (talking[1] / (0.2 * TEMPERAMENTS["mischievous"].whim))
    assert whim_rate == pytest.approx(0.2 * TEMPERAMENTS["mischievous"].whim, rel=0.3)


def test_a_haunt_waits_for_as_long_a_silence_as_its_personality_needs() -> None:
    melancholy = Haunt("agnes", "melancholy", "lament", interruption_probability=1.0, cooldown_s=0)
    waited = TEMPERAMENTS["melancholy"].quiet_after_s
    assert melancholy.rate(0.0, waited - 0.1, 0.0, frozenset()) == (0.05, "whim")
    assert melancholy.rate(0.0, waited, 0.0, frozenset()) == (1.0, "quiet")


def test_a_summoning_raises_the_rate_and_a_banishing_silences_every_haunt() -> None:
    haunt = Haunt("mordred", "malevolent", "wraith", interruption_probability=0.05, cooldown_s=1.0)
    summoned = _simulate(
        haunt, seed=5, seconds=20_000, quiet_for_s=60.0, rituals=frozenset({"summoning"})
    )
    plain = _simulate(haunt, seed=5, seconds=20_000, quiet_for_s=60.0)
    assert _within_tolerance(*summoned)
    assert summoned[0] > 2 * plain[0]
    circle = HauntCircle(default_haunts(), seed=1)
    banished = [
        circle.tick(float(t), 600.0, 1.0, frozenset({"banishing", "summoning"}))
        for t in range(5_000)
    ]
    assert not any(banished)


def test_a_thick_atmosphere_raises_a_malevolent_haunts_rate() -> None:
    haunt = Haunt("mordred", "malevolent", "wraith", interruption_probability=0.05, cooldown_s=1.0)
    thick = _simulate(haunt, seed=9, seconds=20_000, quiet_for_s=60.0, atmosphere=1.0)
    thin = _simulate(haunt, seed=9, seconds=20_000, quiet_for_s=60.0, atmosphere=0.0)
    assert _within_tolerance(*thick)
    assert thick[0] > 2.5 * thin[0]


def test_a_haunt_rests_for_its_cooldown_and_remembers_when_it_spoke() -> None:
    haunt = Haunt("pip", "mischievous", "imp", interruption_probability=5.0, cooldown_s=10.0)
    circle = HauntCircle([haunt], seed=2)
    times = [t * 0.1 for t in range(3_000)]
    spoken = [m for t in times for m in circle.tick(t, 60.0, 0.0, frozenset())]
    gaps = np.diff([m.at for m in spoken])
    assert len(spoken) > 20 and gaps.min() >= 10.0
    assert circle.haunts[0].last_manifestation == spoken[-1].at


def _seance(seed: int) -> list[Manifestation]:
    circle = HauntCircle(default_haunts(), seed=seed)
    inputs = np.random.default_rng(0)
    spoken: list[Manifestation] = []
    now = 0.0
    for _ in range(20_000):
        now += float(inputs.uniform(0.01, 0.1))
        quiet = float(inputs.uniform(0, 15))
        rituals = frozenset({"summoning"}) if inputs.random() < 0.3 else frozenset()
        spoken += circle.tick(now, quiet, float(inputs.random()), rituals)
    return spoken


def test_one_seed_repeats_a_seance_and_another_seed_does_not() -> None:
    first, again, other = _seance(42), _seance(42), _seance(43)
    assert len(first) > 20
    assert first == again
    assert first != other
    assert {m.haunt for m in first} == {"pip", "agnes", "mordred"}
    assert {m.reason for m in first} == {"quiet", "whim"}


def test_the_first_tick_only_starts_the_clock() -> None:
    circle = HauntCircle([Haunt("pip", "mischievous", "imp", 10.0, 0.0)], seed=0)
    assert circle.tick(100.0, 600.0, 1.0, frozenset()) == []


def test_bad_haunts_are_refused_with_their_name() -> None:
    with pytest.raises(ValueError, match=r"'pip'.*personality 'cheerful'"):
        Haunt("pip", "cheerful", "imp", 0.1, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'pip'.*interruption_probability"):
        Haunt("pip", "mischievous", "imp", -0.1, 1.0)
    with pytest.raises(ValueError, match="must differ"):
        HauntCircle([Haunt("pip", "mischievous", "imp", 0.1, 1.0)] * 2, seed=0)
