"""Event-level scoring of alarms against labelled windows, with its edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phantom_cauldron.alarms import AlarmPolicy
from phantom_cauldron.anomaly import AnomalyDetector
from phantom_cauldron.scoring import (
    EventCounts,
    alarmed,
    count_events,
    detector_scores,
    evaluate,
)

TIMES = np.arange(100, dtype=float)


def alarms_at(*indices: int) -> np.ndarray:
    alarms = np.zeros(len(TIMES), dtype=bool)
    alarms[list(indices)] = True
    return alarms


def test_nothing_to_find_and_nothing_raised_is_perfect() -> None:
    result = count_events(TIMES, alarms_at(), [])
    assert (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)


def test_windows_with_no_alarm_score_zero() -> None:
    result = count_events(TIMES, alarms_at(), [(10, 20)])
    assert result == EventCounts(found=0, missed=1, false_alarms=0)
    assert (result.precision, result.recall, result.f1) == (1.0, 0.0, 0.0)


def test_alarms_everywhere_outside_any_window_are_one_false_alarm_per_run() -> None:
    result = count_events(TIMES, alarms_at(1, 2, 3, 50, 51, 99), [])
    assert result == EventCounts(found=0, missed=0, false_alarms=3)
    assert (result.precision, result.f1) == (0.0, 0.0)


def test_a_window_counts_once_however_many_alarms_it_holds() -> None:
    result = count_events(TIMES, alarms_at(11, 12, 15, 19), [(10, 20), (40, 45)])
    assert result == EventCounts(found=1, missed=1, false_alarms=0)
    assert result.f1 == pytest.approx(2 / 3)


def test_the_tolerance_after_a_window_finds_late_alarms_but_not_later_ones() -> None:
    assert count_events(TIMES, alarms_at(23), [(10, 20)], tolerance=5) == EventCounts(1, 0, 0)
    assert count_events(TIMES, alarms_at(26), [(10, 20)], tolerance=5) == EventCounts(0, 1, 1)
    assert count_events(TIMES, alarms_at(9), [(10, 20)], tolerance=5) == EventCounts(0, 1, 1)


def test_an_alarm_that_outlasts_its_window_and_tolerance_is_also_a_false_alarm() -> None:
    result = count_events(TIMES, alarms_at(*range(18, 30)), [(10, 20)], tolerance=5)
    assert result == EventCounts(found=1, missed=0, false_alarms=1)


def test_overlapping_windows_are_each_found_by_one_alarm() -> None:
    result = count_events(TIMES, alarms_at(15), [(10, 20), (14, 30)])
    assert result == EventCounts(found=2, missed=0, false_alarms=0)


def test_counts_add_up_over_series() -> None:
    total = EventCounts(1, 2, 3) + EventCounts(4, 5, 6)
    assert total == EventCounts(5, 7, 9)
    assert total.precision == pytest.approx(5 / 14)
    assert total.recall == pytest.approx(5 / 12)


def test_an_alarm_holds_until_the_score_falls_below_the_clear_level() -> None:
    scores = np.array([0.1, 0.85, 0.7, 0.5, 0.4, 0.9, 0.2])
    hysteresis = AlarmPolicy(0.8, 0.48)
    assert alarmed(scores, hysteresis).tolist() == [False, True, True, True, False, True, False]
    plain = AlarmPolicy(0.8, 0.8)
    assert alarmed(scores, plain).tolist() == [False, True, False, False, False, True, False]


def test_evaluate_skips_missing_readings_and_joins_an_alarm_across_them() -> None:
    """A dropout (NaN score) inside an alarm does not split it into two false alarms."""
    scores = np.full(len(TIMES), 0.1)
    scores[60:70] = 0.9
    scores[64:66] = math.nan
    assert evaluate(scores, TIMES, [], AlarmPolicy()) == EventCounts(0, 0, 1)
    assert evaluate(scores, TIMES, [(60, 62)], AlarmPolicy()) == EventCounts(1, 0, 1)


def test_detector_scores_leaves_missing_readings_unscored() -> None:
    values = np.full(len(TIMES), 20.0)
    values[[5, 50]] = math.nan
    scores = detector_scores(AnomalyDetector, TIMES, values)
    assert np.isnan(scores[[5, 50]]).all()
    assert not np.isnan(np.delete(scores, [5, 50])).any()
