"""`Limiter`: what the parts that take input need of a rate limiter (the coven's
`RateLimiter` is one), so that they need not import it."""

from __future__ import annotations

from typing import Protocol


class Limiter(Protocol):
    """Budgets per source: `allow` spends from one, `is_blocked` says whether it is spent."""

    def allow(self, identifier: str, cost: float = 1.0) -> bool:
        """Spend `cost` from `identifier`'s budget; False (and nothing spent) if it lacks it."""
        ...

    def is_blocked(self, identifier: str) -> bool:
        """Whether a call of cost 1 from `identifier` would be refused now."""
        ...
