"""Curves reduced to what a screen can show: per pixel column, the lowest and highest value.

A chart frame reads a series' readings (times non-decreasing) where they lie, picks the
part on show with two binary searches, and keeps at most two points per pixel column, so
its cost follows the width of the plot, not the length of the run. Extremes are never
lost, and bins follow time, not the index: a gap in the readings or a coarser history
before them stays where it is. Qt-free.
"""

from __future__ import annotations

import numpy as np

from phantom_cauldron.series import Array, Points

EDGE_COLUMNS = 3
"""Bins beside the columns: the point before the left edge, a point right on the right
edge, and the point beyond it."""


def on_show(times: Array, left: float, right: float) -> slice:
    """The indices of `times` between `left` and `right`, and the one just beyond each edge
    (the line from it into the view is on show too)."""
    start = int(np.searchsorted(times, left, side="left"))
    stop = int(np.searchsorted(times, right, side="right"))
    return slice(max(start - 1, 0), min(stop + 1, len(times)))


def peak_decimate(points: Points, left: float, right: float, columns: int) -> Points:
    """The part of `points` on show between `left` and `right`, at most two points per
    column of the `columns` the span is drawn on: the minimum, then the maximum, at the
    time of the column's first point. Where that would not make fewer points, the points
    as they are (views, not copies)."""
    shown = on_show(points.times, left, right)
    times, values = points.times[shown], points.values[shown]
    if len(times) <= 2 * (max(columns, 1) + EDGE_COLUMNS) or right <= left:
        return Points(times, values)
    column = ((times - left) * (columns / (right - left)) + 1.0).astype(np.intp)
    starts = np.flatnonzero(column[1:] != column[:-1]) + 1
    starts = np.concatenate(([0], starts))
    low = np.minimum.reduceat(values, starts)
    high = np.maximum.reduceat(values, starts)
    return Points(np.repeat(times[starts], 2), np.column_stack((low, high)).ravel())
