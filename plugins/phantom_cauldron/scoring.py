"""Event-level precision, recall and F1 of an anomaly detector against labelled windows.

In the spirit of the Numenta Anomaly Benchmark's windows: a window is found if any
alarm falls inside it or up to `tolerance` seconds after its end, and counts once
however many alarms it holds; alarms outside every window are false alarms, each run
of consecutive alarmed readings counting as one. A reading is alarmed when its series
is in alarm after it, by the app's `AlarmPolicy`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phantom_cauldron.alarms import AlarmPolicy
from phantom_cauldron.anomaly import Detector

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EventCounts:
    """Windows found and missed, and false alarms; they add up over series."""

    found: int = 0
    missed: int = 0
    false_alarms: int = 0

    def __add__(self, other: EventCounts) -> EventCounts:
        return EventCounts(
            self.found + other.found,
            self.missed + other.missed,
            self.false_alarms + other.false_alarms,
        )

    @property
    def precision(self) -> float:
        """Found windows over found windows and false alarms; 1 with no alarm at all."""
        claimed = self.found + self.false_alarms
        return self.found / claimed if claimed else 1.0

    @property
    def recall(self) -> float:
        """Found windows over all windows; 1 with no window at all."""
        windows = self.found + self.missed
        return self.found / windows if windows else 1.0

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall."""
        both = self.precision + self.recall
        return 2 * self.precision * self.recall / both if both else 0.0


def count_events(
    times: Floats,
    alarms: npt.NDArray[np.bool_],
    windows: Sequence[tuple[float, float]],
    tolerance: float = 0.0,
) -> EventCounts:
    """Score the alarms raised at `times` against the `(start, end)` windows."""
    inside = np.zeros(len(times), dtype=bool)
    found = 0
    for start, end in windows:
        in_window = (times >= start) & (times <= end + tolerance)
        inside |= in_window
        found += bool(np.any(alarms & in_window))
    outside = alarms & ~inside
    false_alarms = int(np.count_nonzero(outside[1:] & ~outside[:-1])) + bool(outside[:1].any())
    return EventCounts(found, len(windows) - found, false_alarms)


def detector_scores(factory: Callable[[], Detector], times: Floats, values: Floats) -> Floats:
    """A fresh detector's score for each reading; NaN where there is no reading."""
    detector = factory()
    scores = np.full(len(times), math.nan)
    for index, (time, value) in enumerate(zip(times.tolist(), values.tolist(), strict=True)):
        if not math.isnan(value):
            scores[index] = detector.update(time, value)
    return scores


def alarmed(scores: Floats, policy: AlarmPolicy) -> npt.NDArray[np.bool_]:
    """Whether the series is in alarm after each score, by `policy`."""
    alarms = np.empty(len(scores), dtype=bool)
    state = False
    in_alarm = policy.in_alarm
    for index, score in enumerate(scores.tolist()):
        state = in_alarm(state, score)
        alarms[index] = state
    return alarms


def evaluate(
    scores: Floats,
    times: Floats,
    windows: Sequence[tuple[float, float]],
    policy: AlarmPolicy,
    tolerance: float = 0.0,
) -> EventCounts:
    """The events of the alarms that `scores` raise by `policy` (NaN: no reading)."""
    present = ~np.isnan(scores)
    alarms = alarmed(scores[present], policy)
    return count_events(times[present], alarms, windows, tolerance)
