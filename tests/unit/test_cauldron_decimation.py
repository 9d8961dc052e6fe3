"""Peak decimation: what a plot keeps of a curve for the pixel columns it is drawn on."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from phantom_cauldron.decimation import EDGE_COLUMNS, on_show, peak_decimate
from phantom_cauldron.series import Points


def curve(times: list[float] | np.ndarray, values: list[float] | np.ndarray) -> Points:
    return Points(np.asarray(times, dtype=float), np.asarray(values, dtype=float))


def test_a_sparse_curve_is_drawn_as_it_is_with_one_point_beyond_each_edge() -> None:
    points = curve(range(10), [v * 2.0 for v in range(10)])
    shown = peak_decimate(points, 2.5, 6.5, columns=100)
    assert shown.times.tolist() == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert np.shares_memory(shown.times, points.times), "no copy where none is needed"


def test_a_dense_curve_keeps_each_columns_extremes_and_no_more_than_two_points() -> None:
    times = np.arange(100_000) * 0.01
    values = np.sin(times)
    values[12_345] = 50.0
    values[54_321] = -50.0
    shown = peak_decimate(curve(times, values), 0.0, 1_000.0, columns=800)
    assert len(shown.times) <= 2 * (800 + EDGE_COLUMNS)
    assert shown.values.max() == 50.0 and shown.values.min() == -50.0
    assert np.all(np.diff(shown.times) >= 0)
    assert shown.times[0] == 0.0 and shown.times[-1] <= 1_000.0


def test_columns_follow_time_so_a_gap_stays_a_gap() -> None:
    """Dense before and after an hour's gap: the line crosses the gap straight, from the
    column of the last reading before it to the column of the first after it."""
    before = np.arange(0.0, 600.0, 0.01)
    after = np.arange(4_200.0, 4_800.0, 0.01)
    times = np.concatenate((before, after))
    shown = peak_decimate(curve(times, np.ones_like(times)), 0.0, 4_800.0, columns=480)
    in_gap = shown.times[(shown.times > 600.0) & (shown.times < 4_200.0)]
    assert len(in_gap) == 0


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=400),
    st.floats(0, 400),
    st.floats(1, 400),
    st.integers(1, 50),
)
def test_decimation_never_loses_an_extreme_on_show(
    values: list[float], left: float, span: float, columns: int
) -> None:
    points = curve(np.arange(len(values), dtype=float), values)
    right = left + span
    shown = peak_decimate(points, left, right, columns)
    on_screen = points.values[on_show(points.times, left, right)]
    assert len(shown.times) <= len(on_screen)
    assert len(shown.times) in (len(on_screen), *range(2 * (columns + EDGE_COLUMNS) + 1))
    if len(on_screen):
        assert (shown.values.min(), shown.values.max()) == (on_screen.min(), on_screen.max())
    else:
        assert len(shown.times) == 0


def test_what_is_on_show_counts_the_lines_from_just_beyond_the_edges() -> None:
    times = np.array([0.0, 10.0, 20.0])
    assert on_show(times, 4.0, 6.0) == slice(0, 2), "the line from 0 to 10 crosses the view"
    assert on_show(times, 12.0, 14.0) == slice(1, 3)
    assert on_show(times, 30.0, 40.0) == slice(2, 3)
    assert on_show(np.empty(0), 0.0, 1.0) == slice(0, 0)
