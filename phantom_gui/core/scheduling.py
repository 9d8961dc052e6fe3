"""Schedulers for time-based operators, and periodic measurements built on them.

The app uses an `AsyncIOScheduler` on its (qasync) loop; tests pass reactivex's
`TestScheduler` to run the same code in virtual time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler.eventloop import AsyncIOScheduler


def loop_scheduler(loop: asyncio.AbstractEventLoop) -> abc.SchedulerBase:
    """The scheduler for time-based operators on the hub's thread."""
    return AsyncIOScheduler(loop)


def rate_per_second(
    counter: Callable[[], int], scheduler: abc.SchedulerBase, period: float = 1.0
) -> Observable[float]:
    """Every `period` seconds, how fast the monotonic `counter` grew, per second."""

    def per_second(pair: tuple[int, int]) -> float:
        return (pair[1] - pair[0]) / period

    def measure(_: Any) -> Observable[float]:
        counts: Observable[int] = reactivex.interval(period, scheduler=scheduler).pipe(
            ops.map(lambda _: counter()), ops.start_with(counter())
        )
        return counts.pipe(ops.pairwise(), ops.map(per_second))

    return reactivex.defer(measure)
