"""Token buckets per source: the banishment shield against a flooding source.

Each source may spend `burst` at once and gains `rate_per_s` back each second up to
`burst` again. One source's spending never touches another's bucket. Every call is
constant time; at most `max_sources` buckets are kept, the one idle longest dropped
first: idle for `burst / rate_per_s` seconds, it is full and a new bucket is the same.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class _Bucket:
    __slots__ = ("stamp", "throttled", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp
        self.throttled = 0


class RateLimiter:
    """Token buckets keyed by source id (a member, a sensor topic, a plugin)."""

    def __init__(
        self,
        rate_per_s: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_sources: int = 10_000,
    ) -> None:
        if not _positive(rate_per_s):
            raise ValueError(
                f"RateLimiter rate_per_s must be a positive number, got {rate_per_s!r}"
            )
        if not _positive(burst) or burst < 1:
            raise ValueError(f"RateLimiter burst must be a number from 1, got {burst!r}")
        if isinstance(max_sources, bool) or not isinstance(max_sources, int) or max_sources < 1:
            raise ValueError(
                f"RateLimiter max_sources must be a positive integer, got {max_sources!r}"
            )
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self.max_sources = max_sources
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, identifier: str, cost: float = 1.0) -> bool:
        """Spend `cost` from `identifier`'s bucket if it holds that much; else count a
        throttled call and refuse."""
        if not (cost >= 0 and math.isfinite(cost)):
            raise ValueError(f"RateLimiter.allow cost must be a finite number >= 0, got {cost!r}")
        now = self._clock()
        bucket = self._buckets.get(identifier)
        if bucket is None:
            if len(self._buckets) == self.max_sources:
                self._buckets.popitem(last=False)
            bucket = self._buckets[identifier] = _Bucket(self.burst, now)
        else:
            self._buckets.move_to_end(identifier)
            self._refill(bucket, now)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return True
        bucket.throttled += 1
        return False

    def is_blocked(self, identifier: str) -> bool:
        """Whether a call of cost 1 from `identifier` would be refused now."""
        return self._tokens(identifier) < 1

    def get_remaining_requests(self, identifier: str) -> int:
        """How many calls of cost 1 `identifier` may make now."""
        return math.floor(self._tokens(identifier))

    def throttled(self, identifier: str) -> int:
        """How many of `identifier`'s calls were refused while its bucket was kept."""
        bucket = self._buckets.get(identifier)
        return 0 if bucket is None else bucket.throttled

    def sources(self) -> list[str]:
        """The sources with a bucket, the one idle longest first."""
        return list(self._buckets)

    def _tokens(self, identifier: str) -> float:
        bucket = self._buckets.get(identifier)
        if bucket is None:
            return self.burst
        self._refill(bucket, self._clock())
        return bucket.tokens

    def _refill(self, bucket: _Bucket, now: float) -> None:
        if now > bucket.stamp:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate_per_s)
            bucket.stamp = now


def _positive(value: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
