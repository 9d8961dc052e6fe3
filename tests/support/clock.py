"""A clock for tests: time that moves only when the test says so."""

from __future__ import annotations


class Clock:
    """Callable like `time.monotonic`; `advance` moves it forward."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move virtual time forward."""
        self.now += seconds
