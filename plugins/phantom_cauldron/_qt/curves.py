"""What a plot draws per series, as light pyqtgraph items: the series' line and its markers.

A `SeriesCurve` reads its series where the readings lie (the ring's contiguous slice and
the history envelope before it: no copy of the run), keeps the part on show reduced to
at most two points per pixel column, and draws it as one polyline; it makes that line
again only when the series grew or the time range moved. `MarkerDots` draws anomaly
markers as dots of a fixed size. Both cover the whole view (`boundingRect`), added to it
without taking part in its auto-range.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from phantom_cauldron.decimation import peak_decimate
from phantom_cauldron.series import Array, Points, Series

DOT_RADIUS = 3.0
"""A series with a single reading on show is a dot this wide (pixels)."""
MARKER_RADIUS = 5.5


class ViewCovering(pg.GraphicsObject):
    """An item whose bounds are the whole view it lies in (it draws what is on show)."""

    def __init__(self) -> None:
        super().__init__()
        self._bounds: QRectF | None = None

    def boundingRect(self) -> QRectF:
        """Qt API: the view's rectangle, in data coordinates."""
        if self._bounds is None:
            view = self.getViewBox()
            self._bounds = QRectF() if view is None else QRectF(view.viewRect())
        return self._bounds

    def viewRangeChanged(self) -> None:
        """pyqtgraph API: the view moved, so the bounds did."""
        self.prepareGeometryChange()
        self._bounds = None

    def view_span(self) -> tuple[float, float, int]:
        """The times on show (left, right) and the view's width in pixel columns."""
        view = self.getViewBox()
        (left, right), _ = view.viewRange()
        return float(left), float(right), max(int(view.width()), 1)


class SeriesCurve(ViewCovering):
    """One series' line (a dot while it has a single reading on show)."""

    def __init__(self, series: Series, pen: QPen) -> None:
        super().__init__()
        self.series = series
        self._pen = pen
        self._line = QPolygonF()
        self._made_for: tuple[float, float, int] | None = None
        """The view span the line was made for; None when the series grew since."""
        self.drawn_until = -np.inf
        """The newest reading in the line (the frame clock leaves a curve that already
        leaves the view as it is)."""

    @property
    def pen(self) -> QPen:
        """The pen the line is drawn with."""
        return self._pen

    def set_pen(self, pen: QPen) -> None:
        """Draw with `pen` from now on."""
        self._pen = pen
        self.update()

    def invalidate(self) -> None:
        """The series grew: make the line again at the next paint."""
        self._made_for = None
        self.update()

    def line(self) -> Points:
        """The points of the line as last made (copies)."""
        xy = pg.functions.ndarray_from_qpolygonf(self._line)
        return Points(xy[:, 0].copy(), xy[:, 1].copy())

    def value_range(self) -> tuple[float, float]:
        """The lowest and highest value on show (``(inf, -inf)`` if none), from the line
        made for the current view (made now if the series grew or the view moved)."""
        self.prepare()
        values = pg.functions.ndarray_from_qpolygonf(self._line)[:, 1]
        if not len(values):
            return np.inf, -np.inf
        return float(values.min()), float(values.max())

    def prepare(self) -> None:
        """Make the line for the current view, unless it is made already."""
        span = self.view_span()
        if span != self._made_for:
            self._make_line(*span)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Qt API: the line, made again first if the series grew or the view moved."""
        self.prepare()
        line = self._line
        if line.size() > 1:
            painter.setPen(self._pen)
            painter.drawPolyline(line)
        elif line.size() == 1:
            centre = painter.transform().map(line.at(0))
            painter.resetTransform()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self._pen.color())
            painter.drawEllipse(centre, DOT_RADIUS, DOT_RADIUS)

    def _make_line(self, left: float, right: float, columns: int) -> None:
        recent = self.series.recent_view()
        parts = [Points(recent.times, recent.values)]
        if len(recent.times):
            parts.insert(0, self.series.older(recent.times[0]))
            self.drawn_until = float(recent.times[-1])
        shown = [peak_decimate(part, left, right, columns) for part in parts]
        times = np.concatenate([part.times for part in shown])
        values = np.concatenate([part.values for part in shown])
        self._line = pg.functions.arrayToQPolygonF(times, values)
        self._made_for = (left, right, columns)


class MarkerDots(ViewCovering):
    """Anomaly markers: a dot per marked reading, in the colour of its kind."""

    def __init__(self, outline: QPen) -> None:
        super().__init__()
        self._outline = outline
        self._times: Array = np.empty(0)
        self._values: Array = np.empty(0)
        self._kinds: list[tuple[QBrush, np.ndarray]] = []

    def set_markers(self, times: Array, values: Array, kinds: dict[str, np.ndarray]) -> None:
        """Mark the readings at `times` with `values`; `kinds` maps a colour to the mask of
        the markers drawn in it."""
        self._times, self._values = times, values
        self._kinds = [(QBrush(QColor(colour)), mask) for colour, mask in kinds.items()]
        self.update()

    def positions(self) -> Points:
        """Where the markers are, in data coordinates."""
        return Points(self._times, self._values)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Qt API: the dots on show, of a fixed size in pixels."""
        if not len(self._times):
            return
        transform = painter.transform()
        xs = self._times * transform.m11() + transform.dx()
        ys = self._values * transform.m22() + transform.dy()
        width = painter.device().width()
        on_show = (xs > -MARKER_RADIUS) & (xs < width + MARKER_RADIUS)
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._outline)
        for brush, mask in self._kinds:
            painter.setBrush(brush)
            chosen = mask & on_show
            for x, y in zip(xs[chosen].tolist(), ys[chosen].tolist(), strict=True):
                painter.drawEllipse(QPointF(x, y), MARKER_RADIUS, MARKER_RADIUS)
