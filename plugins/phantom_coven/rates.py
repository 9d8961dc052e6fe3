"""Events per second of each member and topic, over the last few seconds (no Qt).

`FlowRates` keeps a few samples of the bridge's cumulative counts, at most one per
`interval_s`; a rate is the growth since the oldest sample within `window_s`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from phantom_gui.coven.traffic import Flow

WINDOW_S = 5.0
"""Rates are averaged over about this long."""
INTERVAL_S = 0.5
"""Counts are sampled at most this often."""

Key = tuple[str, str]
Counts = dict[Key, tuple[int, int]]


class FlowRates:
    """Sent and received events per second by (member, topic)."""

    def __init__(self, window_s: float = WINDOW_S, interval_s: float = INTERVAL_S) -> None:
        if not 0 < interval_s < window_s:
            raise ValueError(
                f"FlowRates needs 0 < interval_s < window_s, got {interval_s!r} and {window_s!r}"
            )
        self.interval_s = interval_s
        self._samples: deque[tuple[float, Counts]] = deque(maxlen=round(window_s / interval_s) + 1)
        self._rates: dict[Key, tuple[float, float]] = {}

    def due(self, now: float) -> bool:
        """Whether a sample taken at `now` would count."""
        samples = self._samples
        return not samples or now - samples[-1][0] >= self.interval_s

    def sample(self, now: float, flows: Iterable[Flow]) -> bool:
        """Take the counts at `now` if a sample is due; whether the rates changed."""
        if not self.due(now):
            return False
        samples = self._samples
        counts = {(f.member, f.topic): (f.sent, f.received) for f in flows}
        samples.append((now, counts))
        then, before = samples[0]
        elapsed = now - then
        rates: dict[Key, tuple[float, float]] = {}
        if elapsed > 0:
            for key, (sent, received) in counts.items():
                sent_then, received_then = before.get(key, (0, 0))
                rates[key] = (
                    max(0, sent - sent_then) / elapsed,
                    max(0, received - received_then) / elapsed,
                )
        changed = rates != self._rates
        self._rates = rates
        return changed

    def of(self, member: str, topic: str) -> tuple[float, float]:
        """Sent and received per second for `member` on `topic` (0 until two samples)."""
        return self._rates.get((member, topic), (0.0, 0.0))

    def clear(self) -> None:
        """Forget every sample (the counts started again)."""
        self._samples.clear()
        self._rates = {}
