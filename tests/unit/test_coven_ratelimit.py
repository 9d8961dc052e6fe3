"""Token buckets per source: limits over any interval, refill, and isolation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom_gui.coven.ratelimit import RateLimiter


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


rates = st.floats(min_value=0.1, max_value=1000)
bursts = st.floats(min_value=1, max_value=100)
steps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=2), st.sampled_from([0.5, 1.0, 3.0])),
    max_size=200,
)


@given(rates, bursts, steps)
def test_never_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: float, calls: list[tuple[float, float]]
) -> None:
    clock = Clock()
    limiter = RateLimiter(rate, burst, clock=clock)
    accepted: list[tuple[float, float]] = []
    for wait, cost in calls:
        clock.now += wait
        if limiter.allow("flood", cost):
            accepted.append((clock.now, cost))
    for start, (t0, _) in enumerate(accepted):
        spent = 0.0
        for t1, cost in accepted[start:]:
            spent += cost
            assert spent <= burst + rate * (t1 - t0) + 1e-6


@given(rates, bursts, st.integers(min_value=0, max_value=300))
def test_an_idle_source_refills_to_burst(rate: float, burst: float, spent: int) -> None:
    clock = Clock()
    limiter = RateLimiter(rate, burst, clock=clock)
    for _ in range(spent):
        limiter.allow("s")
    clock.now += burst / rate + 1
    assert limiter.get_remaining_requests("s") == int(burst)
    assert not limiter.is_blocked("s")


@given(rates, bursts, st.integers(min_value=0, max_value=500))
def test_one_sources_flood_never_reduces_anothers_allowance(
    rate: float, burst: float, flood: int
) -> None:
    clock = Clock()
    limiter = RateLimiter(rate, burst, clock=clock)
    for _ in range(flood):
        limiter.allow("flood")
    assert limiter.get_remaining_requests("calm") == int(burst)
    assert all(limiter.allow("calm") for _ in range(int(burst)))


def test_a_flooding_source_is_blocked_counted_and_recovers() -> None:
    clock = Clock()
    limiter = RateLimiter(10, 5, clock=clock)
    results = [limiter.allow("plugin") for _ in range(8)]
    assert results == [True] * 5 + [False] * 3
    assert limiter.is_blocked("plugin")
    assert limiter.get_remaining_requests("plugin") == 0
    assert limiter.throttled("plugin") == 3
    clock.now += 0.2
    assert limiter.get_remaining_requests("plugin") == 2
    assert not limiter.is_blocked("plugin")


def test_an_unknown_source_has_a_full_bucket_and_no_bucket_is_made_by_asking() -> None:
    limiter = RateLimiter(1, 3)
    assert limiter.get_remaining_requests("nobody") == 3
    assert not limiter.is_blocked("nobody")
    assert limiter.throttled("nobody") == 0
    assert limiter.sources() == []


def test_memory_is_bounded_and_the_source_idle_longest_is_forgotten_first() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 2, clock=clock, max_sources=2)
    limiter.allow("a")
    limiter.allow("b")
    limiter.allow("a")
    limiter.allow("c")
    assert limiter.sources() == ["a", "c"]


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        ((0, 1), {}, "rate_per_s"),
        ((float("inf"), 1), {}, "rate_per_s"),
        ((1, 0.5), {}, "burst"),
        ((1, float("nan")), {}, "burst"),
        ((1, 1), {"max_sources": 0}, "max_sources"),
    ],
)
def test_bad_settings_are_refused_by_name(
    args: tuple[float, float], kwargs: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        RateLimiter(*args, **kwargs)


@pytest.mark.parametrize("cost", [-1.0, float("nan"), float("inf")])
def test_a_bad_cost_is_refused(cost: float) -> None:
    with pytest.raises(ValueError, match="cost"):
        RateLimiter(1, 1).allow("s", cost)
