"""The cauldron's charts and models against bare baselines measured in the same run.

Run from the repository root::

    .venv/bin/python bench/charts.py            # 5 repeats (~30 s)
    .venv/bin/python bench/charts.py --quick    # 3 shorter repeats (~10 s)

Every figure is the median of several repeats; the repeats of a figure and of its
baseline are interleaved, so a burst of noise on the machine hits both alike. The script
always exits 0: the figures are for humans, not a test. No display is needed (it sets
`QT_QPA_PLATFORM=offscreen` itself).

Measured:

(a) one chart frame with 8 sensors of 10k points each (4 quantities, 2 sensors each, the
    whole run on show, 1400x900): bare pyqtgraph, 4 `PlotWidget`s whose 8 curves get
    `setData` with the same arrays, then each plot's viewport is repainted; against the
    cauldron's `CauldronCharts.refresh()` (which reads the series store, finds the dirty
    series and draws them, markers and staleness) and the same repaint. Before each chart
    frame 40 readings per sensor arrive (10k readings/s at 30 frames/s), outside the
    timing. The bare curves have pyqtgraph's fastest options for this (peak downsampling to
    a min and max per pixel column, clip to view, 1 px pens); the charts' own curves keep
    the same min and max per pixel column. Twice: with the view still (charts paused)
    and with the view moving on by those 40 readings each frame (charts following: the
    time axes are redrawn every frame). The goal is a ratio: at most 0.7 times bare
    pyqtgraph's time for the same frame, measured in the same run. A frame in which
    nothing arrived is measured too;
(b) `SeriesStore.add(reading, topic)` against appending the same readings to a list;
(c) `TopicTree.record(message)` against appending the same messages to a list.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from time import perf_counter

# Qt must know there is no display before PySide6 is imported.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget
from report import Row, goal_table, interleaved

from phantom_cauldron._qt.charts import CauldronCharts
from phantom_cauldron.readings import SensorReading
from phantom_cauldron.series import SeriesStore
from phantom_cauldron.topics import TopicTree
from phantom_gui.mqtt.messages import MqttMessage

QUANTITIES = ("temperature", "humidity", "ph", "mystical_energy")
SENSORS_PER_QUANTITY = 2
POINTS = 10_000
PERIOD_S = 0.1
"""Each sensor's readings are this far apart: 10k points span about 17 minutes."""
READINGS_PER_FRAME = 40
"""Per sensor: 8 sensors x 40 readings x 30 frames/s is about 10k readings/s."""
SIZE = (1400, 900)
START = 1_761_900_000.0
SAMPLES_PER_PIXEL = 1.0
"""The bare curves' peak downsampling: a min and a max per pixel column, as the charts keep."""
FRAME_RATIO_GOAL = 0.7
"""A chart frame costs at most this much of bare pyqtgraph's for the same frame."""

Runners = dict[str, Callable[[], float]]
"""Named measurements, each returning its figure."""


@dataclass(frozen=True)
class BenchSettings:
    """How long each figure is measured."""

    repeats: int
    frames: int
    readings: int


# -- (a) frames -----------------------------------------------------------------------------


class Feed:
    """Readings from 8 sensors, one every `PERIOD_S` per sensor, in time order."""

    def __init__(self) -> None:
        self.sensors = [
            (quantity, f"cauldron/{quantity}-{number}")
            for quantity in QUANTITIES
            for number in range(SENSORS_PER_QUANTITY)
        ]
        self.step = 0

    def readings(self, count: int) -> list[tuple[SensorReading, str]]:
        """The next `count` readings of every sensor, each with its topic."""
        made = []
        for step in range(self.step, self.step + count):
            at = START + step * PERIOD_S
            for number, (quantity, sensor) in enumerate(self.sensors):
                value = 20 + number + np.sin(step / 500 + number)
                score = 0.9 if step % 5_000 == number else 0.1
                reading = SensorReading(sensor, quantity, value, None, at, None, score)
                made.append((reading, f"tele/{sensor}/SENSOR"))
        self.step += count
        return made


def _shown(widget: QWidget, app: QCoreApplication) -> QWidget:
    widget.resize(*SIZE)
    widget.show()
    app.processEvents()
    return widget


def _repaint(plots: list[pg.PlotWidget]) -> None:
    for plot in plots:
        plot.viewport().repaint()


def frame_figures(settings: BenchSettings, app: QCoreApplication) -> dict[str, float]:
    """Milliseconds per frame, bare pyqtgraph and the cauldron's charts, with the view still
    and with the view following the data; and a frame in which nothing arrived."""
    feed = Feed()
    store = SeriesStore()
    for reading, topic in feed.readings(POINTS):
        store.add(reading, topic)
    charts = CauldronCharts(store, clock=lambda: store.newest)
    charts.frame_clock.stop()
    charts.set_window(None)
    _shown(charts, app)
    charts.refresh()
    assert sum(len(plot.shown) for plot in charts.plots.values()) == len(feed.sensors)
    chart_plots = [plot.view for plot in charts.plots.values()]

    bare = QWidget()
    stack = QVBoxLayout(bare)
    bare_plots = [pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()}) for _ in QUANTITIES]
    curves = []
    for plot in bare_plots:
        stack.addWidget(plot)
        for _ in range(SENSORS_PER_QUANTITY):
            curve = plot.plot(
                pen=pg.mkPen("#ff7a1a", width=1),
                skipFiniteCheck=True,
                autoDownsampleFactor=SAMPLES_PER_PIXEL,
            )
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curves.append(curve)
    _shown(bare, app)
    arrays = [series.points() for series in store]
    first, last = arrays[0].times[0], arrays[0].times[-1]
    shift = READINGS_PER_FRAME * PERIOD_S

    def bare_frames(scroll: bool) -> Callable[[], float]:
        def run() -> float:
            total = 0.0
            for frame in range(settings.frames):
                moved = frame * shift if scroll else 0.0
                start = perf_counter()
                for curve, (times, values) in zip(curves, arrays, strict=True):
                    curve.setData(times, values)
                for plot in bare_plots:
                    plot.setXRange(first + moved, last + moved, padding=0)
                _repaint(bare_plots)
                total += perf_counter() - start
            return total / settings.frames * 1000

        return run

    def chart_frames(follow: bool) -> Callable[[], float]:
        def run() -> float:
            if follow:
                charts.follow()
            else:
                charts.pause()
            charts.refresh()
            total = 0.0
            for _ in range(settings.frames):
                for reading, topic in feed.readings(READINGS_PER_FRAME):
                    store.add(reading, topic)
                start = perf_counter()
                charts.refresh()
                _repaint(chart_plots)
                total += perf_counter() - start
            return total / settings.frames * 1000

        return run

    def idle_frame() -> float:
        charts.refresh()
        start = perf_counter()
        for _ in range(settings.frames):
            charts.refresh()
        return (perf_counter() - start) / settings.frames * 1000

    runners = {
        "bare_still": bare_frames(scroll=False),
        "charts_paused": chart_frames(follow=False),
        "bare_scrolling": bare_frames(scroll=True),
        "charts_following": chart_frames(follow=True),
        "idle": idle_frame,
    }
    figures = interleaved(runners, settings.repeats)
    charts.close()
    bare.close()
    return figures


# -- (b), (c) per-reading costs -------------------------------------------------------------


def _rate(count: int, work: Callable[[], None]) -> float:
    start = perf_counter()
    work()
    return count / (perf_counter() - start)


def add_figures(settings: BenchSettings) -> dict[str, float]:
    """Readings per second into a `SeriesStore`, and into a list."""
    feed = Feed()
    batch = feed.readings(settings.readings // len(feed.sensors))
    count = len(batch)

    def list_append() -> float:
        kept: list[SensorReading] = []
        append = kept.append

        def work() -> None:
            for reading, _topic in batch:
                append(reading)

        return _rate(count, work)

    def store_add() -> float:
        add = SeriesStore().add

        def work() -> None:
            for reading, topic in batch:
                add(reading, topic)

        return _rate(count, work)

    return interleaved({"append": list_append, "add": store_add}, settings.repeats)


def record_figures(settings: BenchSettings) -> dict[str, float]:
    """Messages per second into a `TopicTree` (200 topics), and into a list."""
    payload = b'{"Time":"2025-10-31T21:00:00","DS18B20":{"Temperature":61.5}}'
    topics = [f"tele/cauldron-{i % 20}/sensor-{i // 20}/SENSOR" for i in range(200)]
    messages = [
        MqttMessage("bench", topics[i % len(topics)], payload, 0, False, START + i * 1e-4)
        for i in islice(range(settings.readings), settings.readings)
    ]

    def list_append() -> float:
        kept: list[MqttMessage] = []
        append = kept.append

        def work() -> None:
            for message in messages:
                append(message)

        return _rate(len(messages), work)

    def tree_record() -> float:
        record = TopicTree().record

        def work() -> None:
            for message in messages:
                record(message)

        return _rate(len(messages), work)

    return interleaved({"append_message": list_append, "record": tree_record}, settings.repeats)


# -- report ---------------------------------------------------------------------------------

ROWS = [
    Row("(a) bare pyqtgraph, still view: setData + repaint", "bare_still", "ms/frame"),
    Row(
        "(a) charts paused: refresh + repaint",
        "charts_paused",
        "ms/frame",
        "bare_still",
        "bare, still",
        max_ratio=FRAME_RATIO_GOAL,
    ),
    Row("(a) bare pyqtgraph, view moving with the data", "bare_scrolling", "ms/frame"),
    Row(
        "(a) charts following: refresh + repaint",
        "charts_following",
        "ms/frame",
        "bare_scrolling",
        "bare, moving",
        max_ratio=FRAME_RATIO_GOAL,
    ),
    Row("(a) charts: refresh with nothing new", "idle", "ms/frame"),
    Row("(b) list.append(reading)", "append", "readings/s"),
    Row(
        "(b) SeriesStore.add(reading, topic)",
        "add",
        "readings/s",
        "append",
        "list.append",
        min_value=100_000,
    ),
    Row("(c) list.append(message)", "append_message", "messages/s"),
    Row(
        "(c) TopicTree.record(message), 200 topics",
        "record",
        "messages/s",
        "append_message",
        "list.append",
        min_value=100_000,
    ),
]


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, and return 0 whatever the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 shorter repeats (~10 s)")
    args = parser.parse_args(argv)
    settings = (
        BenchSettings(repeats=3, frames=10, readings=200_000)
        if args.quick
        else BenchSettings(repeats=5, frames=30, readings=800_000)
    )
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, pyqtgraph {pg.__version__}; "
        f"median of {settings.repeats} repeats; ratio = figure / baseline",
        flush=True,
    )
    app = QApplication.instance() or QApplication(sys.argv[:1])
    start = perf_counter()
    figures: dict[str, float] = {}
    problems: list[str] = []
    for part in (
        lambda: frame_figures(settings, app),
        lambda: add_figures(settings),
        lambda: record_figures(settings),
    ):
        try:
            figures |= part()
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc}")
    report, passed, missed = goal_table(ROWS, figures)
    print(report)
    print(f"\n{passed} goals met, {missed} missed; {perf_counter() - start:.0f} s of measuring")
    for problem in problems:
        print(f"problem: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
