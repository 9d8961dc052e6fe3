"""Recovery helpers: exponential backoff, retried calls, retries as an Rx operator, a
circuit breaker.

Time comes from a reactivex scheduler or an injected clock, so tests run them in
virtual time (`reactivex.testing.TestScheduler`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable

from phantom_gui.core.errors import CircuitOpenError

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delays of `base * factor**n` seconds with optional jitter, capped at `maximum`.

    `jitter` is a fraction (0.1 = up to ±10 %); it is drawn from `rng` so that a
    seeded run repeats its delays exactly. The cap applies after the jitter.
    """

    base: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.0
    rng: random.Random | None = None

    def delay(self, attempt: int) -> float:
        """The delay before retry number `attempt` (0 for the first retry)."""
        try:
            delay = min(self.maximum, self.base * self.factor**attempt)
        except OverflowError:
            delay = self.maximum
        if self.jitter:
            rng = self.rng or random
            delay = min(self.maximum, delay * (1.0 + rng.uniform(-self.jitter, self.jitter)))
        return delay

    def delays(self, retries: int) -> Iterator[float]:
        """The delays of `retries` successive retries."""
        return (self.delay(attempt) for attempt in range(retries))


def _retry_anything(_: Exception) -> bool:
    return True


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed call is worth another try, and how long to wait before it.

    At most `retries` retries, and none once `deadline_s` seconds have passed since the
    first attempt; only errors for which `retry_on` is true are retried, the others are
    raised at once.
    """

    retries: int
    backoff: Backoff = Backoff()
    retry_on: Callable[[Exception], bool] = _retry_anything
    deadline_s: float | None = None

    def delay_after(self, attempt: int, error: Exception, elapsed: float) -> float | None:
        """The wait before retrying after failure number `attempt` (0 for the first call),
        or None to give up and raise `error`."""
        if attempt >= self.retries or not self.retry_on(error):
            return None
        if self.deadline_s is not None and elapsed >= self.deadline_s:
            return None
        return self.backoff.delay(attempt)


RetryObserver = Callable[[int, Exception, float], None]
"""Told `(retry number, error, delay)` before each wait."""


class _Attempts:
    """The bookkeeping of one retried call: how many failures, since when."""

    def __init__(
        self, policy: RetryPolicy, on_retry: RetryObserver | None, clock: Callable[[], float]
    ) -> None:
        self._policy = policy
        self._on_retry = on_retry
        self._clock = clock
        self._started = clock()
        self._failures = 0

    def wait_after(self, error: Exception) -> float:
        """The wait before the next try; raises `error` when the policy gives up."""
        delay = self._policy.delay_after(self._failures, error, self._clock() - self._started)
        if delay is None:
            raise error
        self._failures += 1
        if self._on_retry is not None:
            self._on_retry(self._failures, error, delay)
        return delay


def retry_call(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: RetryObserver | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `fn` until it succeeds or `policy` gives up (then its last error is raised)."""
    attempts = _Attempts(policy, on_retry, clock)
    while True:
        try:
            return fn()
        except Exception as exc:
            sleep(attempts.wait_after(exc))


async def retry_async(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    on_retry: RetryObserver | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`retry_call` for a coroutine function, waiting without blocking the loop."""
    attempts = _Attempts(policy, on_retry, clock)
    while True:
        try:
            return await fn()
        except Exception as exc:
            await sleep(attempts.wait_after(exc))


def retry_with_backoff(
    retries: int,
    backoff: Backoff = Backoff(),
    scheduler: abc.SchedulerBase | None = None,
    on_retry: Callable[[int, Exception, float], None] | None = None,
) -> Callable[[Observable[T]], Observable[T]]:
    """An operator that resubscribes to its source after an error, waiting longer each time.

    After `retries` retries the last error is passed on. `on_retry(attempt, error,
    delay)` is told of each retry before its wait.
    """

    def operator(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], default_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            chosen = scheduler or default_scheduler or reactivex.scheduler.TimeoutScheduler()
            current = SerialDisposable()
            timer = SerialDisposable()
            attempt = 0

            def attach(*_: Any) -> None:
                current.disposable = source.subscribe(
                    observer.on_next, failed, observer.on_completed, scheduler=chosen
                )

            def failed(error: Exception) -> None:
                nonlocal attempt
                if attempt >= retries:
                    observer.on_error(error)
                    return
                delay = backoff.delay(attempt)
                attempt += 1
                if on_retry is not None:
                    on_retry(attempt, error, delay)
                timer.disposable = chosen.schedule_relative(delay, attach)

            attach()
            return CompositeDisposable(current, timer)

        return Observable(subscribe)

    return operator


class BreakerState(Enum):
    """Where a circuit breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Stops calling something that keeps failing, and tries again after a pause.

    Closed: calls go through; `failure_threshold` failures in a row open it. Open:
    calls are refused with `CircuitOpenError` until `reset_timeout` seconds have
    passed. Half-open: one trial call; success closes it, failure opens it again.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        *,
        name: str = "circuit",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._state = BreakerState.CLOSED
        self.trips = 0

    @property
    def state(self) -> BreakerState:
        """The state now, turning open into half-open once the pause is over."""
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_timeout
        ):
            self._state = BreakerState.HALF_OPEN
        return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._failures

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `fn` through the breaker, raising `CircuitOpenError` while it is open."""
        if self.state is BreakerState.OPEN:
            raise CircuitOpenError(
                f"{self.name}: circuit open after {self._failures} failures in a row",
                source=self.name,
            )
        try:
            result = fn(*args, **kwargs)
        except Exception:
            self.record_failure()
            raise
        self.record_success()
        return result

    def record_success(self) -> None:
        """Note a successful call: the breaker closes."""
        self._failures = 0
        self._state = BreakerState.CLOSED

    def record_failure(self) -> None:
        """Note a failed call: enough of them in a row (or one when half-open) opens it."""
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            if self._state is not BreakerState.OPEN:
                self.trips += 1
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()
