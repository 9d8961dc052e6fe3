"""Time-based code in virtual time: rates, retries with backoff, the circuit breaker."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing

from phantom_gui.core.errors import CircuitOpenError, DisturbanceError
from phantom_gui.core.hub import EventHub
from phantom_gui.core.resilience import (
    Backoff,
    BreakerState,
    CircuitBreaker,
    retry_with_backoff,
)
from phantom_gui.core.scheduling import rate_per_second

from support.clock import Clock

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed


def test_rate_per_second_measures_the_counter_growth() -> None:
    scheduler = TestScheduler()
    count = 100

    def add(amount: int) -> Callable[..., None]:
        def action(*_: Any) -> None:
            nonlocal count
            count += amount

        return action

    for when, amount in [(200.5, 10), (201.5, 30), (203.2, 5), (203.7, 1)]:
        scheduler.schedule_absolute(when, add(amount))

    results = scheduler.start(lambda: rate_per_second(lambda: count, scheduler), disposed=204.5)

    assert results.messages == [
        on_next(201.0, 10.0),
        on_next(202.0, 30.0),
        on_next(203.0, 0.0),
        on_next(204.0, 6.0),
    ]


def test_rate_per_second_divides_by_the_period() -> None:
    scheduler = TestScheduler()
    count = 0

    def bump(*_: Any) -> None:
        nonlocal count
        count += 8

    scheduler.schedule_absolute(201.0, bump)
    scheduler.schedule_absolute(205.0, bump)
    scheduler.schedule_absolute(205.5, bump)

    results = scheduler.start(
        lambda: rate_per_second(lambda: count, scheduler, period=2.0), disposed=206.5
    )

    assert results.messages == [on_next(202.0, 4.0), on_next(204.0, 0.0), on_next(206.0, 8.0)]


def test_rate_per_second_starts_counting_at_subscription() -> None:
    scheduler = TestScheduler()
    count = 0

    def bump(*_: Any) -> None:
        nonlocal count
        count += 1000

    scheduler.schedule_absolute(150.0, bump)
    results = scheduler.start(lambda: rate_per_second(lambda: count, scheduler), disposed=202.5)
    assert results.messages == [on_next(201.0, 0.0), on_next(202.0, 0.0)]


def test_retry_with_backoff_resubscribes_after_the_backoff_delays() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("flaky")
    failing = scheduler.create_cold_observable(on_next(1, "try"), on_error(5, boom))
    working = scheduler.create_cold_observable(on_next(1, "ok"), on_completed(2))
    subscribed_at: list[float] = []
    retries: list[tuple[int, Exception, float]] = []

    def source(_: Any) -> Observable[str]:
        subscribed_at.append(scheduler.clock)
        return failing if len(subscribed_at) <= 2 else working

    results = scheduler.start(
        lambda: reactivex.defer(source).pipe(
            retry_with_backoff(
                3,
                Backoff(base=1.0, factor=2.0),
                scheduler=scheduler,
                on_retry=lambda *args: retries.append(args),
            )
        )
    )

    assert subscribed_at == [200.0, 206.0, 213.0]
    assert results.messages == [
        on_next(201.0, "try"),
        on_next(207.0, "try"),
        on_next(214.0, "ok"),
        on_completed(215.0),
    ]
    assert retries == [(1, boom, 1.0), (2, boom, 2.0)]


def test_retry_with_backoff_gives_up_after_the_last_retry() -> None:
    boom = RuntimeError("still broken")
    retries: list[tuple[int, float]] = []
    with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
        source = cold("-a-#", error=boom)
        results = start(
            source.pipe(
                retry_with_backoff(
                    2,
                    Backoff(base=1.0, factor=2.0),
                    on_retry=lambda attempt, _error, delay: retries.append((attempt, delay)),
                )
            )
        )
        expected = exp("-a---a----a-#", error=boom)

    assert results == expected
    assert results[-1].value.exception is boom
    assert retries == [(1, 1.0), (2, 2.0)]


def test_retry_with_backoff_with_no_retries_passes_the_error_on() -> None:
    scheduler = TestScheduler()
    boom = ValueError("once")
    retries: list[Any] = []
    results = scheduler.start(
        lambda: scheduler.create_cold_observable(on_error(3, boom)).pipe(
            retry_with_backoff(0, scheduler=scheduler, on_retry=lambda *args: retries.append(args))
        )
    )
    assert results.messages == [on_error(203.0, boom)]
    assert retries == []


def test_retry_with_backoff_stops_waiting_when_disposed() -> None:
    scheduler = TestScheduler()
    subscriptions: list[float] = []

    def source(_: Any) -> Observable[str]:
        subscriptions.append(scheduler.clock)
        return scheduler.create_cold_observable(on_error(1, RuntimeError("x")))

    results = scheduler.start(
        lambda: reactivex.defer(source).pipe(
            retry_with_backoff(5, Backoff(base=10.0), scheduler=scheduler)
        ),
        disposed=215.0,
    )
    assert subscriptions == [200.0, 211.0]
    assert results.messages == []


def test_circuit_breaker_opens_refuses_and_recovers() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10.0, name="oracle", clock=clock)
    calls: list[str] = []

    def fail() -> None:
        calls.append("fail")
        raise ConnectionError("no answer")

    def succeed() -> str:
        calls.append("succeed")
        return "answer"

    for _ in range(2):
        with pytest.raises(ConnectionError):
            breaker.call(fail)
    assert breaker.state is BreakerState.CLOSED
    with pytest.raises(ConnectionError):
        breaker.call(fail)
    assert breaker.state is BreakerState.OPEN
    assert breaker.trips == 1
    assert breaker.consecutive_failures == 3

    clock.advance(9.9)
    with pytest.raises(CircuitOpenError, match="oracle") as refused:
        breaker.call(succeed)
    assert isinstance(refused.value, DisturbanceError)
    assert refused.value.source == "oracle"
    assert calls == ["fail"] * 3

    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.call(succeed) == "answer"
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 0
    assert breaker.trips == 1


def test_circuit_breaker_reopens_when_the_half_open_trial_fails() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=5.0, clock=clock)

    def fail() -> None:
        raise TimeoutError("silence")

    for _ in range(2):
        with pytest.raises(TimeoutError):
            breaker.call(fail)
    assert breaker.trips == 1
    clock.advance(5.0)
    assert breaker.state is BreakerState.HALF_OPEN

    with pytest.raises(TimeoutError):
        breaker.call(fail)
    assert breaker.state is BreakerState.OPEN
    assert breaker.trips == 2

    clock.advance(4.0)
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: "too early")
    clock.advance(1.0)
    assert breaker.call(lambda: "now") == "now"
    assert breaker.state is BreakerState.CLOSED
    assert breaker.trips == 2


def test_circuit_breaker_counts_failures_in_a_row_only() -> None:
    breaker = CircuitBreaker(failure_threshold=3, clock=Clock())
    for _ in range(5):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.trips == 0


def test_circuit_breaker_on_the_virtual_clock_of_a_scheduler() -> None:
    scheduler = TestScheduler()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=30.0, clock=lambda: scheduler.clock)
    states: list[tuple[float, BreakerState]] = []

    def record(*_: Any) -> None:
        states.append((scheduler.clock, breaker.state))

    scheduler.schedule_absolute(10.0, lambda *_: breaker.record_failure())
    for when in (10.0, 39.0, 40.0):
        scheduler.schedule_absolute(when, record)
    scheduler.start()

    assert states == [
        (10.0, BreakerState.OPEN),
        (39.0, BreakerState.OPEN),
        (40.0, BreakerState.HALF_OPEN),
    ]


def test_backoff_grows_exponentially_up_to_the_maximum() -> None:
    backoff = Backoff(base=0.5, factor=2.0, maximum=3.0)
    assert list(backoff.delays(6)) == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_backoff_stays_at_the_maximum_after_very_many_attempts() -> None:
    backoff = Backoff(base=0.5, factor=2.0, maximum=30.0)
    assert backoff.delay(5000) == 30.0
    jittered = Backoff(maximum=30.0, jitter=0.1, rng=random.Random(1)).delay(5000)
    assert 27.0 <= jittered <= 30.0


def test_backoff_jitter_repeats_for_the_same_seed() -> None:
    def delays(seed: int) -> list[float]:
        return list(Backoff(base=1.0, jitter=0.25, rng=random.Random(seed)).delays(8))

    first, again, other = delays(7), delays(7), delays(8)
    assert first == again
    assert first != other
    plain = list(Backoff(base=1.0).delays(8))
    assert first != plain
    for jittered, delay in zip(first, plain, strict=True):
        assert delay * 0.75 <= jittered <= delay * 1.25


def test_backoff_with_jitter_never_exceeds_the_maximum() -> None:
    backoff = Backoff(base=1.0, factor=3.0, maximum=5.0, jitter=0.5, rng=random.Random(3))
    delays = list(backoff.delays(40))
    assert max(delays) <= 5.0
    assert all(delay > 0 for delay in delays)
    assert len(set(delays[5:])) > 1


def test_a_debounced_hub_stream_in_virtual_time() -> None:
    scheduler = TestScheduler()
    hub = EventHub()

    def publish(data: str) -> Callable[..., Any]:
        return lambda *_: hub.publish("x", data, source="test")

    for when, data in [(201.0, "a"), (202.0, "b"), (210.0, "c"), (220.0, "d"), (222.0, "e")]:
        scheduler.schedule_absolute(when, publish(data))
    scheduler.schedule_absolute(224.0, lambda *_: hub.publish("y", "ignored", source="test"))

    results = scheduler.start(
        lambda: hub.on("x").pipe(
            ops.debounce(3.0, scheduler=scheduler), ops.map(lambda event: event.data)
        )
    )

    assert results.messages == [on_next(205.0, "b"), on_next(213.0, "c"), on_next(225.0, "e")]


def test_a_hub_stream_sampled_with_a_marble_clock() -> None:
    hub = EventHub()
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        ticks = hot("--t--t--t--t-")
        feed = hot("-a--b-c------")
        feed.subscribe(lambda value: hub.publish("feed", value, source="test"))
        latest = hub.on("feed").pipe(ops.map(lambda event: event.data))
        results = start(latest.pipe(ops.sample(sampler=ticks)))
        expected = exp("--a--b--c----")

    assert results == expected
