"""The cauldron's live charts: a Qt view of a `SeriesStore`, one pyqtgraph plot per quantity.

Readings only update the store; a frame clock (30 Hz) redraws what changed since
the last frame: curves whose series grew, markers, staleness shading and, while
following, the time window. A frame in which nothing changed draws nothing, and while
paused a curve already drawn beyond the view is not redrawn for readings beyond it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from phantom_cauldron.series import Points, Quantity, Series, SeriesStore, display_names
from phantom_cauldron.topics import TopicTree
from phantom_gui.qt.theme import ASH, BLOOD, BONE, CRYPT, ECTOPLASM, MIST, NIGHT, PUMPKIN

FRAME_RATE_HZ = 30
IDLE_REDRAW_S = 1.0
"""While following with nothing arriving, the window still moves on once a second."""
DEFAULT_WINDOW_S: float | None = 300.0
PLOT_MIN_HEIGHT = 170
AXIS_WIDTH = 56
"""Every plot's value axis is this wide, so the time axes line up."""

CURVE_COLOURS = (PUMPKIN, ECTOPLASM, "#b48cff", "#ffd166", "#5ec8ff", "#ff6fb5", "#c3f73a", BONE)
ALARM_SCORE = 0.95
"""Markers at or above this score are drawn as alarms (blood red), the rest as warnings."""
WARNING_COLOUR = "#ffb347"
STALE_SHADE_ALPHA = 110
STALE_CURVE_ALPHA = 150
VALUE_MARGIN = 0.1
"""While following, the value axis leaves this fraction of the values' span free above and
below them."""
REFIT_FILL = 0.5
"""While following, the value axis keeps its range until the values leave it or fill less
than this fraction of it: an axis whose range did not change is not laid out again."""
SAMPLES_PER_PIXEL = 1.0
"""Peak downsampling keeps a min and a max per pixel column. Thin (1 px) pens draw three
times faster than 1.5 px ones, and the plots have no grid: pyqtgraph's grid lines cost
5 to 20 ms a frame for 4 plots."""
STYLE = f"""
QWidget#cauldronPlot {{ background-color: {CRYPT}; }}
QLabel#cauldronPlotTitle {{ color: {BONE}; font-size: 13px; font-weight: bold; }}
QLabel#cauldronLegend {{ color: {BONE}; font-size: 11px; }}
QLabel#cauldronPlaceholder {{ color: {ASH}; font-size: 14px; }}
"""
SPELLINGS = {"ph": "pH", "co2": "CO₂", "voc": "VOC", "pm25": "PM2.5", "pm10": "PM10"}
"""Quantity names that capitalising the first letter would spoil."""


def quantity_title(quantity: Quantity) -> str:
    """``Mystical energy · mJ`` for the quantity ``mystical_energy`` measured in mJ."""
    name = quantity.name.replace("_", " ")
    title = SPELLINGS.get(quantity.name.lower(), name[:1].upper() + name[1:])
    units = quantity.units
    return f"{title} · {', '.join(units)}" if units else title


class QuantityPlot(QWidget):
    """One quantity: a header (title, legend) over a pyqtgraph plot with a curve per sensor,
    anomaly markers and stale shading. The legend is a wrapping label above the plot, so it
    never hides a curve however narrow the panel."""

    def __init__(self, quantity: Quantity, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.quantity = quantity
        self.curves: dict[Series, pg.PlotDataItem] = {}
        self.regions: dict[Series, pg.LinearRegionItem] = {}
        self.shown: list[Series] = []
        self.entries: list[str] = []
        """The legend's entries as shown, in curve order."""
        self._colours: dict[Series, QColor] = {}
        self._names: dict[str, str] = {}
        self._drawn_totals: dict[Series, int] = {}
        self._drawn_points: dict[Series, Points] = {}
        self._drawn_marks: tuple[int, ...] = ()
        self._drawn_stale: frozenset[Series] = frozenset()
        self.setObjectName("cauldronPlot")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)

        self.title = QLabel(objectName="cauldronPlotTitle")
        self.legend = QLabel(objectName="cauldronLegend", wordWrap=True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.view = pg.PlotWidget(background=CRYPT, axisItems={"bottom": pg.DateAxisItem()})
        self.view.setMinimumHeight(PLOT_MIN_HEIGHT)
        # Its size hint ignored: the plots share the height (the scroll bar is for many).
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        item = self.view.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setContentsMargins(0, 8, 6, 2)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(MIST))
            axis.setTextPen(pg.mkPen(ASH))
            axis.enableAutoSIPrefix(False)  # no axis label to prefix; else relaid each frame
        item.getAxis("left").setWidth(AXIS_WIDTH)
        self.markers = pg.ScatterPlotItem(size=11, symbol="o", pxMode=True)
        self.markers.setZValue(10)
        item.addItem(self.markers)

        header = QHBoxLayout()
        header.setContentsMargins(AXIS_WIDTH, 4, 8, 0)
        header.addWidget(self.title, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.legend, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)
        self.retitle()

    @property
    def view_box(self) -> pg.ViewBox:
        """The plot's view: its ranges, links and auto-ranging."""
        return self.view.getViewBox()

    def show_times(self, shown: bool) -> None:
        """Show the time axis (only the lowest plot does: the time axes are linked)."""
        self.view.getPlotItem().showAxis("bottom", shown)

    def retitle(self) -> None:
        """Show the quantity and its units (a sensor may bring a new unit)."""
        self.title.setText(quantity_title(self.quantity))

    def add_series(self, series: Series) -> None:
        """Make `series`' curve (shown by `show_series`)."""
        colour = QColor(CURVE_COLOURS[len(self.curves) % len(CURVE_COLOURS)])
        curve = pg.PlotDataItem(
            pen=pg.mkPen(colour, width=1),
            skipFiniteCheck=True,
            autoDownsampleFactor=SAMPLES_PER_PIXEL,
        )
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        shade = QColor(colour)
        shade.setAlpha(STALE_SHADE_ALPHA)
        region = pg.LinearRegionItem(
            movable=False,
            brush=QBrush(shade, Qt.BrushStyle.BDiagPattern),
            pen=pg.mkPen(None),
            hoverBrush=None,
        )
        region.setZValue(-10)
        self.curves[series] = curve
        self.regions[series] = region
        self._colours[series] = colour

    def show_series(self, shown: list[Series]) -> None:
        """Put exactly `shown` on the plot, named in the legend by their shortest distinct names."""
        item = self.view.getPlotItem()
        for series in set(self.shown) - set(shown):
            item.removeItem(self.curves[series])
        for series in shown:
            if series not in self.shown:
                item.addItem(self.curves[series])
        self.shown = shown
        self._names = display_names(series.sensor_id for series in shown)
        self._show_stale(self._drawn_stale & set(shown))
        self._show_legend()
        self._drawn_marks = ()

    def draw(self, stale: frozenset[Series], now: float, unseen_after: float = np.inf) -> None:
        """Bring curves, markers and staleness shading up to date (only what changed).

        Readings later than `unseen_after` (the right edge of a view that stays where it
        is) change nothing on show: a curve already drawn beyond it is left as it is.
        """
        for series in self.shown:
            if self._drawn_totals.get(series) == series.total:
                continue
            drawn = self._drawn_points.get(series)
            if drawn is not None and len(drawn.times) and drawn.times[-1] > unseen_after:
                continue
            times, values = self._drawn_points[series] = series.points()
            self.curves[series].setData(times, values)
            self._drawn_totals[series] = series.total
        marks = tuple(series.marked for series in self.shown)
        if marks != self._drawn_marks:
            self._draw_markers()
            self._drawn_marks = marks
        stale_here = stale & set(self.shown)
        for series in stale_here:
            self.regions[series].setRegion((series.last_seen, now))
        self._show_stale(stale_here)

    def fit_values(self, left: float, right: float, *, anew: bool = False) -> None:
        """Fit the value axis to the shown curves between times `left` and `right`, keeping
        its range (see `REFIT_FILL`) unless `anew`."""
        low, high = np.inf, -np.inf
        for series in self.shown:
            points = self._drawn_points.get(series)
            if points is None:
                continue
            start, stop = np.searchsorted(points.times, (left, right), side="right")
            if start:
                start -= 1  # the line from the last point before the window is on show too
            if start < stop:
                shown = points.values[start:stop]
                low, high = min(low, shown.min()), max(high, shown.max())
        if low > high:
            return
        (bottom, top) = self.view_box.viewRange()[1]
        inside = bottom <= low and high <= top
        if not anew and inside and high - low >= REFIT_FILL * (top - bottom):
            return
        margin = VALUE_MARGIN * (high - low) or VALUE_MARGIN * max(abs(high), 1.0)
        self.view_box.setYRange(low - margin, high + margin, padding=0)

    def _draw_markers(self) -> None:
        marks = [mark for series in self.shown for mark in series.markers]
        alarm = pg.mkBrush(BLOOD)
        warning = pg.mkBrush(WARNING_COLOUR)
        self.markers.setData(
            x=[mark.timestamp for mark in marks],
            y=[mark.value for mark in marks],
            brush=[alarm if mark.score >= ALARM_SCORE else warning for mark in marks],
            pen=pg.mkPen(NIGHT, width=1.5),
        )

    def _show_stale(self, stale: frozenset[Series]) -> None:
        """Shade, dash and label as silent exactly the series in `stale`."""
        turned, woke = stale - self._drawn_stale, self._drawn_stale - stale
        if not turned and not woke:
            return
        item = self.view.getPlotItem()
        self._drawn_stale = stale
        for series in turned:
            item.addItem(self.regions[series])
        for series in woke:
            item.removeItem(self.regions[series])
        for series in turned | woke:
            self.curves[series].setPen(self._pen(series, series in stale))
        self._show_legend()

    def _show_legend(self) -> None:
        """A line sample in the curve's colour (dashed when silent) and the name, per curve."""
        self.entries = []
        html = []
        for series in self.shown:
            name = self._names[series.sensor_id]
            colour = self._colours[series].name()
            if series in self._drawn_stale:
                name = f"{name} · silent"
                entry = f'<span style="color:{colour}">╌╌</span>&nbsp;<span style="color:{ASH}">'
            else:
                entry = f'<span style="color:{colour}">━━</span>&nbsp;<span style="color:{BONE}">'
            self.entries.append(name)
            html.append(entry + escape(name).replace(" ", "&nbsp;") + "</span>")
        self.legend.setText(" &nbsp; ".join(html))

    def _pen(self, series: Series, stale: bool) -> QPen:
        colour = QColor(self._colours[series])
        if not stale:
            return pg.mkPen(colour, width=1)
        colour.setAlpha(STALE_CURVE_ALPHA)
        return pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine)


class CauldronCharts(QWidget):
    """Every quantity's plot, stacked, their time axes linked; follows the latest data or
    pauses (zooming or panning with the mouse pauses too)."""

    following_changed = Signal(bool)

    def __init__(
        self,
        store: SeriesStore,
        topics: TopicTree | None = None,
        clock: Callable[[], float] = time.time,
        frame_rate: float = FRAME_RATE_HZ,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.topics = topics
        self.plots: dict[str, QuantityPlot] = {}
        self.window_s = DEFAULT_WINDOW_S
        self._clock = clock
        self._following = True
        self._view_changed = True
        self._refit = True
        """Fit the value axes afresh on the next frame, not only when the values leave them."""
        self._drawn_revision = -1
        self._drawn_layout: tuple[int, int] = (-1, -1)
        self._drawn_stale: frozenset[Series] = frozenset()
        self._drawn_at = -np.inf

        self.setStyleSheet(STYLE)
        self.placeholder = QLabel(
            "The cauldron is quiet: no readings yet.", objectName="cauldronPlaceholder"
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack = QVBoxLayout()
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.setSpacing(6)
        self._stack.addWidget(self.placeholder)
        self._stack.addStretch(0)
        content = QWidget()
        content.setLayout(self._stack)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

        self.frame_clock = QTimer(self, interval=round(1000 / frame_rate))
        self.frame_clock.timeout.connect(self.refresh)
        self.frame_clock.start()

    @property
    def following(self) -> bool:
        """Whether the plots show the latest `window_s` (else they stay where they are)."""
        return self._following

    def follow(self) -> None:
        """Show the latest data again, with the values' range fitted to what is on show."""
        self._set_following(True)
        self._refit = True

    def pause(self) -> None:
        """Freeze the view (data keeps arriving, off to the right)."""
        self._set_following(False)
        for plot in self.plots.values():
            plot.view_box.disableAutoRange()

    def set_window(self, seconds: float | None) -> None:
        """Follow the last `seconds` of data (None: everything since the start)."""
        self.window_s = seconds
        self.follow()

    def refresh(self) -> bool:
        """One frame: redraw what changed since the last; False when there was nothing to do."""
        now = self._clock()
        store = self.store
        stale = frozenset(store.stale(now))
        layout = (store.structure_revision, self.topics.choice_revision if self.topics else 0)
        moving = self._following and now - self._drawn_at >= IDLE_REDRAW_S
        if (
            store.revision == self._drawn_revision
            and layout == self._drawn_layout
            and stale == self._drawn_stale
            and not self._view_changed
            and not moving
        ):
            return False
        if layout != self._drawn_layout:
            self._lay_out()
        right = max(now, store.newest)
        if self._following:  # before the curves' data: a curve resamples when either changes
            self._show_window(right)
        unseen_after = np.inf if self._following or self._view_changed else self._right_edge()
        for plot in self._visible_plots():
            plot.draw(stale, right, unseen_after)
        if self._following:
            self._fit_values(right)
        self._drawn_revision = store.revision
        self._drawn_layout = layout
        self._drawn_stale = stale
        self._drawn_at = now
        self._view_changed = False
        return True

    def _set_following(self, following: bool) -> None:
        self._view_changed = True
        if following != self._following:
            self._following = following
            self.following_changed.emit(following)

    def _charted(self, series: Series) -> bool:
        return self.topics is None or series.topic is None or self.topics.is_charted(series.topic)

    def _visible_plots(self) -> Iterable[QuantityPlot]:
        return (plot for plot in self.plots.values() if plot.shown)

    def _lay_out(self) -> None:
        """Make plots and curves for new quantities and series; show only charted series."""
        for name, plot in list(self.plots.items()):
            if self.store.quantities.get(name) is not plot.quantity:
                self._stack.removeWidget(plot)
                plot.deleteLater()
                del self.plots[name]
        for name, quantity in self.store.quantities.items():
            plot = self.plots.get(name)
            if plot is None:
                plot = self._add_plot(quantity)
            for series in quantity.series.values():
                if series not in plot.curves:
                    plot.add_series(series)
            shown = [series for series in quantity.series.values() if self._charted(series)]
            if shown != plot.shown:
                plot.show_series(shown)
            plot.setVisible(bool(shown))
            plot.retitle()
        visible = list(self._visible_plots())
        for plot in visible:
            plot.show_times(plot is visible[-1])
        self.placeholder.setVisible(not visible)

    def _add_plot(self, quantity: Quantity) -> QuantityPlot:
        plot = QuantityPlot(quantity)
        if self.plots:
            plot.view_box.setXLink(next(iter(self.plots.values())).view_box)
        plot.view_box.disableAutoRange()
        plot.view_box.sigRangeChangedManually.connect(self.pause)
        self._stack.insertWidget(self._stack.count() - 1, plot, 1)
        self.plots[quantity.name] = plot
        return plot

    def _show_window(self, right: float) -> None:
        plots = list(self._visible_plots())
        if not plots:
            return
        if self.window_s is None:
            left = min(series.first_seen for plot in plots for series in plot.shown)
        else:
            left = right - self.window_s
        views = [plot.view_box for plot in plots]
        for view in views:
            view.blockLink(True)
        for view in views:
            view.setXRange(left, right, padding=0)
        for view in views:
            view.blockLink(False)

    def _right_edge(self) -> float:
        """The latest time on show (the time axes are linked)."""
        plot = next(iter(self._visible_plots()), None)
        return np.inf if plot is None else float(plot.view_box.viewRange()[0][1])

    def _fit_values(self, right: float) -> None:
        left = right - self.window_s if self.window_s is not None else -np.inf
        for plot in self._visible_plots():
            plot.fit_values(left, right, anew=self._refit)
        self._refit = False
