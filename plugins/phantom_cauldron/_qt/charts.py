"""The cauldron's live charts: a Qt view of a `SeriesStore`, one pyqtgraph plot per
quantity and unit, its sensors named from the parser's `SensorDirectory`.

Readings only update the store; a frame clock (30 Hz) redraws what changed since
the last frame: curves whose series grew, markers, staleness shading and, while
following, the time window; and the names, when the directory's revision moved. A frame
in which nothing changed draws nothing, and while paused a curve already drawn beyond the
view is not redrawn for readings beyond it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

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

from phantom_cauldron._qt.curves import MarkerDots, SeriesCurve
from phantom_cauldron._qt.legend import Legend, LegendEntry
from phantom_cauldron.directory import SensorDirectory
from phantom_cauldron.names import sensor_names, sensor_tooltip
from phantom_cauldron.series import Series, SeriesStore
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
"""Curves keep a min and a max per pixel column (`peak_decimate`), drawn with thin pens
(1 px pens draw three times faster than 1.5 px ones), and the plots have no grid
(pyqtgraph's grid lines cost 5 to 20 ms a frame for 4 plots)."""
STYLE = f"""
QWidget#cauldronPlot {{ background-color: {CRYPT}; }}
QLabel#cauldronPlotTitle {{ color: {BONE}; font-size: 13px; font-weight: bold; }}
QLabel#cauldronLegendEntry {{ color: {BONE}; font-size: 11px; }}
QToolButton#cauldronLegendMore {{
    color: {BONE}; font-size: 11px; border: 1px solid {MIST}; border-radius: 3px;
    padding: 0 4px; background: transparent;
}}
QToolButton#cauldronLegendMore::menu-indicator {{ image: none; }}
QLabel#cauldronPlaceholder {{ color: {ASH}; font-size: 14px; }}
"""
SPELLINGS = {"ph": "pH", "co2": "CO₂", "voc": "VOC", "pm25": "PM2.5", "pm10": "PM10"}
"""Quantity names that capitalising the first letter would spoil."""


PlotKey = tuple[str, str | None]
"""What one plot shows: a quantity in one unit (sensors reporting it in another unit, or
in none, get their own plot: values in mV and in V never share an axis)."""


def plot_title(key: PlotKey) -> str:
    """``Mystical energy · mJ`` for the quantity ``mystical_energy`` measured in mJ."""
    quantity, unit = key
    name = quantity.replace("_", " ")
    title = SPELLINGS.get(quantity.lower(), name[:1].upper() + name[1:])
    return f"{title} · {unit}" if unit else title


class QuantityPlot(QWidget):
    """One quantity in one unit: a header (title, legend) over a pyqtgraph plot with a curve
    per sensor, anomaly markers and stale shading. The legend sits above the plot, so it
    never hides a curve however narrow the panel, and keeps to a few rows (`Legend`);
    clicking an entry hides or shows its curve until clicked again."""

    toggled = Signal()
    """The user hid or showed a curve."""

    def __init__(self, key: PlotKey, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.curves: dict[Series, SeriesCurve] = {}
        self.regions: dict[Series, pg.LinearRegionItem] = {}
        self.shown: list[Series] = []
        """The series charted (their topics ticked), in curve order."""
        self.hidden: set[str] = set()
        """The sensor ids whose curves the user hid with a click on the legend."""
        self._colours: dict[Series, QColor] = {}
        self._names: dict[str, str] = {}
        self._tooltips: dict[str, str] = {}
        self._drawn_totals: dict[Series, int] = {}
        self._drawn_marks: tuple[object, ...] = ()
        self._drawn_stale: frozenset[Series] = frozenset()
        self._silent: frozenset[Series] = frozenset()
        self.setObjectName("cauldronPlot")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)

        self.title = QLabel(plot_title(key), objectName="cauldronPlotTitle")
        self.legend = Legend()
        self.legend.toggled.connect(self.toggle)
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
        self.markers = MarkerDots(pg.mkPen(NIGHT, width=1.5))
        self.markers.setZValue(10)
        item.addItem(self.markers, ignoreBounds=True)

        header = QHBoxLayout()
        header.setContentsMargins(AXIS_WIDTH, 4, 8, 0)
        header.addWidget(self.title, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.legend, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)

    @property
    def view_box(self) -> pg.ViewBox:
        """The plot's view: its ranges, links and auto-ranging."""
        return self.view.getViewBox()

    @property
    def entries(self) -> list[str]:
        """The legend's entries as shown, in curve order."""
        return [entry.text for entry in self.legend.entries]

    @property
    def visible(self) -> list[Series]:
        """The series charted and not hidden from the legend."""
        return [series for series in self.shown if series.sensor_id not in self.hidden]

    def show_times(self, shown: bool) -> None:
        """Show the time axis (only the lowest plot does: the time axes are linked)."""
        self.view.getPlotItem().showAxis("bottom", shown)

    def keep_series(self, members: list[Series]) -> None:
        """Have a curve for exactly the series in `members` (others were cleared away)."""
        for series in set(self.curves) - set(members):
            self.view.getPlotItem().removeItem(self.curves.pop(series))
            self.view.getPlotItem().removeItem(self.regions.pop(series))
            del self._colours[series]
            self._drawn_totals.pop(series, None)
        for series in members:
            if series not in self.curves:
                self._add_series(series)

    def show_series(self, shown: list[Series]) -> None:
        """Put exactly `shown` on the plot (each hidden if the user hid it)."""
        item = self.view.getPlotItem()
        for series in set(self.shown) - set(shown):
            item.removeItem(self.curves[series])
        for series in shown:
            if series not in self.shown:
                item.addItem(self.curves[series], ignoreBounds=True)
                self.curves[series].setVisible(series.sensor_id not in self.hidden)
        self.shown = shown
        self._show_stale(self._drawn_stale & set(self.visible))
        self._show_legend()
        self._drawn_marks = ()

    def name_series(self, names: dict[str, str], tooltips: dict[str, str]) -> None:
        """Name the curves in the legend (by sensor id), with a tooltip each."""
        self._names, self._tooltips = names, tooltips
        self._show_legend()

    def toggle(self, sensor_id: str) -> None:
        """Hide the curve of `sensor_id` if shown, show it if hidden."""
        self.hidden ^= {sensor_id}
        for series, curve in self.curves.items():
            if series.sensor_id == sensor_id:
                curve.setVisible(sensor_id not in self.hidden)
        self._show_stale(self._drawn_stale & set(self.visible))
        self._show_legend()
        self._drawn_marks = ()
        self.toggled.emit()

    def draw(self, stale: frozenset[Series], now: float, unseen_after: float = np.inf) -> None:
        """Bring curves, markers and staleness shading up to date (only what changed).

        Readings later than `unseen_after` (the right edge of a view that stays where it
        is) change nothing on show: a curve already drawn beyond it is left as it is.
        """
        for series in self.shown:
            if self._drawn_totals.get(series) == series.total:
                continue
            curve = self.curves[series]
            if curve.drawn_until > unseen_after:
                continue
            curve.invalidate()
            self._drawn_totals[series] = series.total
        visible = self.visible
        marks = (*visible, *(series.marked for series in visible))
        if marks != self._drawn_marks:
            self._draw_markers(visible)
            self._drawn_marks = marks
        stale_here = stale & set(visible)
        for series in stale_here:
            self.regions[series].setRegion((series.last_seen, now))
        self._show_stale(stale_here)
        silent = stale & set(self.shown)
        if silent != self._silent:
            self._silent = silent
            self._show_legend()

    def fit_values(self, *, anew: bool = False) -> None:
        """Fit the value axis to the visible curves' values on show, keeping its range (see
        `REFIT_FILL`) unless `anew`."""
        low, high = np.inf, -np.inf
        for series in self.visible:
            curve_low, curve_high = self.curves[series].value_range()
            low, high = min(low, curve_low), max(high, curve_high)
        if low > high:
            return
        (bottom, top) = self.view_box.viewRange()[1]
        inside = bottom <= low and high <= top
        if not anew and inside and high - low >= REFIT_FILL * (top - bottom):
            return
        margin = VALUE_MARGIN * (high - low) or VALUE_MARGIN * max(abs(high), 1.0)
        self.view_box.setYRange(low - margin, high + margin, padding=0)

    def _add_series(self, series: Series) -> None:
        colour = QColor(CURVE_COLOURS[len(self.curves) % len(CURVE_COLOURS)])
        self._colours[series] = colour
        self.curves[series] = SeriesCurve(series, self._pen(series, stale=False))
        shade = QColor(colour)
        shade.setAlpha(STALE_SHADE_ALPHA)
        region = pg.LinearRegionItem(
            movable=False,
            brush=QBrush(shade, Qt.BrushStyle.BDiagPattern),
            pen=pg.mkPen(None),
            hoverBrush=None,
        )
        region.setZValue(-10)
        self.regions[series] = region

    def _draw_markers(self, visible: list[Series]) -> None:
        marks = [mark for series in visible for mark in series.markers]
        scores = np.array([mark.score for mark in marks])
        self.markers.set_markers(
            np.array([mark.timestamp for mark in marks]),
            np.array([mark.value for mark in marks]),
            {WARNING_COLOUR: scores < ALARM_SCORE, BLOOD: scores >= ALARM_SCORE},
        )

    def _show_stale(self, stale: frozenset[Series]) -> None:
        """Shade and dash exactly the series in `stale`."""
        turned, woke = stale - self._drawn_stale, self._drawn_stale - stale
        if not turned and not woke:
            return
        item = self.view.getPlotItem()
        self._drawn_stale = stale
        for series in turned:
            item.addItem(self.regions[series], ignoreBounds=True)
        for series in woke:
            item.removeItem(self.regions[series])
        for series in turned | woke:
            self.curves[series].set_pen(self._pen(series, series in stale))

    def _show_legend(self) -> None:
        self.legend.set_entries(
            [
                LegendEntry(
                    series.sensor_id,
                    self._names.get(series.sensor_id, series.sensor_id),
                    self._colours[series].name(),
                    self._tooltips.get(series.sensor_id, ""),
                    silent=series in self._silent,
                    hidden=series.sensor_id in self.hidden,
                )
                for series in self.shown
            ]
        )

    def _pen(self, series: Series, stale: bool) -> QPen:
        colour = QColor(self._colours[series])
        if not stale:
            return pg.mkPen(colour, width=1)
        colour.setAlpha(STALE_CURVE_ALPHA)
        return pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine)


class CauldronCharts(QWidget):
    """Every quantity's plots, stacked, their time axes linked; follows the latest data or
    pauses (zooming or panning with the mouse pauses too)."""

    following_changed = Signal(bool)

    def __init__(
        self,
        store: SeriesStore,
        topics: TopicTree | None = None,
        clock: Callable[[], float] = time.time,
        frame_rate: float = FRAME_RATE_HZ,
        parent: QWidget | None = None,
        *,
        sensors: SensorDirectory | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.topics = topics
        self.sensors = sensors
        self.plots: dict[PlotKey, QuantityPlot] = {}
        self.window_s = DEFAULT_WINDOW_S
        self._clock = clock
        self._following = True
        self._view_changed = True
        self._refit = True
        """Fit the value axes afresh on the next frame, not only when the values leave them."""
        self._expire_after: dict[tuple[str, str], float] = {}
        self._drawn_revision = -1
        self._drawn_layout: tuple[int, int, int] = (-1, -1, -1)
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
        layout = (
            store.structure_revision,
            self.topics.choice_revision if self.topics else 0,
            self.sensors.revision if self.sensors else 0,
        )
        if layout[2] != self._drawn_layout[2]:
            self._expire_after = self._expiries()
        stale = frozenset(store.stale(now, self._expire_after))
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
        if self._following:
            self._show_window(right)
        unseen_after = np.inf if self._following or self._view_changed else self._right_edge()
        for plot in self._visible_plots():
            plot.draw(stale, right, unseen_after)
        if self._following:
            self._fit_values()
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

    def _curves_toggled(self) -> None:
        self._view_changed = True
        self._refit = True

    def _expiries(self) -> dict[tuple[str, str], float]:
        """How long each sensor that says so stays valid, by (sensor id, quantity)."""
        return {
            (info.sensor_id, info.quantity): info.expire_after_s
            for info in self.sensors or ()
            if info.expire_after_s is not None
        }

    def _charted(self, series: Series) -> bool:
        return self.topics is None or series.topic is None or self.topics.is_charted(series.topic)

    def _visible_plots(self) -> Iterable[QuantityPlot]:
        return (plot for plot in self.plots.values() if plot.shown)

    def _lay_out(self) -> None:
        """A plot per quantity and unit, a curve per series; only charted series shown;
        names from the sensor directory."""
        groups: dict[PlotKey, list[Series]] = {}
        for series in self.store:
            groups.setdefault((series.quantity, series.unit), []).append(series)
        for key in [key for key in self.plots if key not in groups]:
            plot = self.plots.pop(key)
            self._stack.removeWidget(plot)
            plot.deleteLater()
        for key, members in groups.items():
            plot = self.plots.get(key) or self._add_plot(key)
            plot.keep_series(members)
            shown = [series for series in members if self._charted(series)]
            if shown != plot.shown:
                plot.show_series(shown)
            plot.setVisible(bool(shown))
            self._name(plot, members)
        visible = list(self._visible_plots())
        for plot in visible:
            plot.show_times(plot is visible[-1])
        self.placeholder.setVisible(not visible)

    def _name(self, plot: QuantityPlot, members: list[Series]) -> None:
        quantity = plot.key[0]
        names = sensor_names([series.sensor_id for series in members], quantity, self.sensors)
        tooltips = {
            series.sensor_id: sensor_tooltip(
                series.sensor_id,
                self.sensors.get(series.sensor_id, quantity) if self.sensors else None,
                series.topic,
            )
            for series in members
        }
        plot.name_series(names, tooltips)

    def _add_plot(self, key: PlotKey) -> QuantityPlot:
        plot = QuantityPlot(key)
        if self.plots:
            plot.view_box.setXLink(next(iter(self.plots.values())).view_box)
        plot.view_box.disableAutoRange()
        plot.view_box.sigRangeChangedManually.connect(self.pause)
        plot.toggled.connect(self._curves_toggled)
        plots = list(self.plots.items())
        same_quantity = [index for index, (other, _) in enumerate(plots) if other[0] == key[0]]
        place = same_quantity[-1] + 1 if same_quantity else len(plots)
        plots.insert(place, (key, plot))
        self.plots = dict(plots)
        self._stack.insertWidget(place + 1, plot, 1)  # after the placeholder
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

    def _fit_values(self) -> None:
        for plot in self._visible_plots():
            plot.fit_values(anew=self._refit)
        self._refit = False
