"""The cauldron panel on the virtual screen: charts redrawn on a frame clock from a real
`SeriesStore`, the topic tree over a real `TopicTree`, with an injected clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication

from phantom_cauldron._qt.charts import CURVE_COLOURS, CauldronCharts, QuantityPlot
from phantom_cauldron._qt.curves import SeriesCurve
from phantom_cauldron._qt.legend import EntryLabel, dimmed
from phantom_cauldron._qt.panel import CauldronPanel
from phantom_cauldron.directory import SensorDirectory, SensorInfo
from phantom_cauldron.readings import SensorReading
from phantom_cauldron.series import Points, Series, SeriesStore, StalenessRule
from phantom_cauldron.topics import TopicTree
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.qt.theme import BLOOD

from support.clock import Clock

pytestmark = pytest.mark.screen

START = 1_761_900_000.0


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def store() -> SeriesStore:
    return SeriesStore(staleness=StalenessRule(periods=5, floor_s=3.0))


@pytest.fixture
def topics() -> TopicTree:
    return TopicTree()


@pytest.fixture
def sensors() -> SensorDirectory:
    return SensorDirectory()


@pytest.fixture
def panel(  # type: ignore[no-untyped-def]
    qtbot, store: SeriesStore, topics: TopicTree, clock: Clock, sensors: SensorDirectory
) -> Iterator[CauldronPanel]:
    """A shown panel whose clocks tick only when the test calls `frame()`."""
    panel = CauldronPanel(store, topics, clock=clock, sensors=sensors)
    panel.charts.frame_clock.stop()
    panel.status_clock.stop()
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.waitExposed(panel)
    yield panel


def frame(panel: CauldronPanel) -> None:
    """One tick of each of the panel's clocks."""
    panel.charts.frame_clock.timeout.emit()
    panel.status_clock.timeout.emit()


UNITS = {"temperature": "°C", "humidity": "%"}


def feed(
    store: SeriesStore,
    clock: Clock,
    seconds: int,
    sensors: tuple[str, ...] = ("cauldron-core/DS18B20-1",),
    quantity: str = "temperature",
    score: float | None = None,
) -> None:
    """One reading a second from each sensor; the clock ends at the last one."""
    unit = UNITS.get(quantity)
    for _ in range(seconds):
        clock.now += 1.0
        for number, sensor in enumerate(sensors):
            reading = SensorReading(sensor, quantity, 20.0 + number, unit, clock.now, None, score)
            store.add(reading, topic=f"tele/{sensor}/SENSOR")


def plot_of(panel: CauldronPanel, quantity: str = "temperature") -> QuantityPlot:
    return panel.charts.plots[(quantity, UNITS.get(quantity))]


def drawn(plot: QuantityPlot, series: Series) -> Points:
    """The line the series' curve shows once its plot is painted."""
    plot.view.viewport().repaint()
    return plot.curves[series].line()


def series_of(store: SeriesStore, sensor: str, quantity: str = "temperature") -> Series:
    series = store.get(quantity, sensor)
    assert series is not None
    return series


def legend_names(plot: QuantityPlot) -> list[str]:
    """The names the legend shows (every entry in its rows: none in "+N more")."""
    assert plot.legend.overflow == ()
    return plot.entries


def items(plot: QuantityPlot) -> list[object]:
    return plot.view.getPlotItem().items


def x_range(plot: QuantityPlot) -> list[float]:
    """The times on show, in seconds since `START` (so that `approx` compares to the µs)."""
    return [at - START for at in plot.view_box.viewRange()[0]]


def latest(clock: Clock, window: float) -> list[float]:
    """The `window` seconds up to now, in seconds since `START`."""
    return [clock.now - START - window, clock.now - START]


def redrawn_curves(monkeypatch: pytest.MonkeyPatch) -> list[SeriesCurve]:
    """From now on, each curve told that its series grew, in order."""
    told: list[SeriesCurve] = []
    invalidate = SeriesCurve.invalidate

    def spy(curve: SeriesCurve) -> None:
        told.append(curve)
        invalidate(curve)

    monkeypatch.setattr(SeriesCurve, "invalidate", spy)
    return told


def test_curves_show_the_readings_after_a_frame_not_before(
    panel: CauldronPanel, store: SeriesStore, clock: Clock
) -> None:
    feed(store, clock, 30)
    assert panel.charts.plots == {}, "the charts must wait for their frame clock"
    frame(panel)

    plot = plot_of(panel)
    series = series_of(store, "cauldron-core/DS18B20-1")
    times, values = drawn(plot, series)
    assert times.tolist() == [START + second for second in range(1, 31)]
    assert values.tolist() == [20.0] * 30
    assert legend_names(plot) == ["DS18B20-1"]
    assert plot.title.text() == "Temperature · °C"
    assert not panel.charts.placeholder.isVisible()


def test_a_new_sensor_or_quantity_adds_a_curve_a_legend_entry_or_a_plot(
    panel: CauldronPanel, store: SeriesStore, clock: Clock
) -> None:
    feed(store, clock, 5)
    frame(panel)
    feed(store, clock, 5, sensors=("cauldron-core/DS18B20-1", "crypt/DS18B20-1"))
    feed(store, clock, 5, sensors=("crypt/hygro",), quantity="humidity")
    frame(panel)

    plot = plot_of(panel)
    assert len(plot.curves) == 2
    assert legend_names(plot) == ["cauldron-core/DS18B20-1", "crypt/DS18B20-1"]
    crypt = series_of(store, "crypt/DS18B20-1")
    assert plot.curves[crypt] in items(plot)
    assert len(drawn(plot, crypt).times) == 5
    assert list(panel.charts.plots) == [("temperature", "°C"), ("humidity", "%")]
    humidity = plot_of(panel, "humidity")
    assert legend_names(humidity) == ["hygro"]
    assert humidity.view.getPlotItem().getAxis("bottom").isVisible()
    assert not plot.view.getPlotItem().getAxis("bottom").isVisible(), "one time axis, at the bottom"


def test_a_frame_redraws_only_what_changed_and_nothing_when_nothing_did(
    panel: CauldronPanel, store: SeriesStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed(store, clock, 5)
    feed(store, clock, 5, sensors=("crypt/hygro",), quantity="humidity")
    frame(panel)
    drawn = redrawn_curves(monkeypatch)

    assert not panel.charts.refresh()
    for _ in range(5):
        frame(panel)
    assert drawn == []

    store.add(SensorReading("crypt/hygro", "humidity", 61.0, "%", clock.now + 0.5), "h")
    assert panel.charts.refresh()
    assert drawn == [plot_of(panel, "humidity").curves[series_of(store, "crypt/hygro", "humidity")]]


def test_following_shows_the_latest_window_and_pause_freezes_it(
    panel: CauldronPanel, store: SeriesStore, clock: Clock
) -> None:
    feed(store, clock, 120)
    frame(panel)
    plot = plot_of(panel)
    assert panel.follow_button.isChecked()
    assert x_range(plot) == pytest.approx(latest(clock, 300))

    panel.window_choice.setCurrentText("1 min")
    frame(panel)
    assert x_range(plot) == pytest.approx(latest(clock, 60))

    panel.pause_button.click()
    frozen = x_range(plot)
    y_frozen = plot.view_box.viewRange()[1]
    feed(store, clock, 30)
    clock.now += 1
    store.add(SensorReading("cauldron-core/DS18B20-1", "temperature", 500.0, "°C", clock.now))
    frame(panel)
    QApplication.processEvents()
    assert x_range(plot) == pytest.approx(frozen)
    assert plot.view_box.viewRange()[1] == pytest.approx(y_frozen)
    line = drawn(plot, series_of(store, "cauldron-core/DS18B20-1"))
    assert line.times[-1] == START + 121, "the line leaves the view towards the newer readings"

    panel.follow_button.click()
    frame(panel)
    assert x_range(plot) == pytest.approx(latest(clock, 60))
    assert plot.view_box.viewRange()[1][1] > 500


def test_while_paused_readings_beyond_the_view_redraw_nothing_until_the_view_moves(
    panel: CauldronPanel, store: SeriesStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed(store, clock, 120)
    frame(panel)
    panel.pause_button.click()
    feed(store, clock, 5)
    frame(panel)  # the curve goes on past the right edge, as a line leaving the view
    plot = plot_of(panel)
    series = series_of(store, "cauldron-core/DS18B20-1")
    curve = plot.curves[series]
    right_edge = plot.view_box.viewRange()[0][1]
    assert drawn(plot, series).times[-1] > right_edge
    told = redrawn_curves(monkeypatch)
    feed(store, clock, 30)
    for _ in range(3):
        frame(panel)
    assert told == [], "nothing on show changed"
    assert drawn(plot, series).times[-1] == START + 121, "one reading beyond the edge"

    plot.view_box.setXRange(clock.now - 60, clock.now, padding=0)
    plot.view_box.sigRangeChangedManually.emit([True, False])  # as a drag with the mouse does
    frame(panel)
    assert told == [curve]
    assert drawn(plot, series).times[-1] == clock.now, "the view moved onto the newest readings"


def y_range(plot: QuantityPlot) -> tuple[float, float]:
    bottom, top = plot.view_box.viewRange()[1]
    return bottom, top


def test_following_fits_the_value_axis_to_the_values_in_the_window(
    panel: CauldronPanel, store: SeriesStore, clock: Clock
) -> None:
    panel.window_choice.setCurrentText("1 min")
    feed(store, clock, 30)
    clock.now += 1
    store.add(SensorReading("cauldron-core/DS18B20-1", "temperature", 80.0, "°C", clock.now))
    feed(store, clock, 30)
    frame(panel)
    plot = plot_of(panel)
    bottom, top = y_range(plot)
    assert bottom < 20.0 and 80.0 < top < 90.0, "the spike and the level both on show"

    feed(store, clock, 45)
    frame(panel)
    bottom, top = y_range(plot)
    assert bottom < 20.0 < top < 25.0, "the spike left the window: the axis shrinks to the level"

    clock.now += 1
    store.add(SensorReading("cauldron-core/DS18B20-1", "temperature", -5.0, "°C", clock.now))
    frame(panel)
    assert y_range(plot)[0] < -5.0, "a value below the range widens it"


def test_zooming_with_the_mouse_pauses_and_follow_resumes(
    panel: CauldronPanel, store: SeriesStore, clock: Clock, qtbot
) -> None:  # type: ignore[no-untyped-def]
    feed(store, clock, 60)
    feed(store, clock, 60, sensors=("crypt/hygro",), quantity="humidity")
    frame(panel)
    plot, other = plot_of(panel), plot_of(panel, "humidity")
    before = x_range(plot)

    viewport = plot.view.viewport()
    centre = viewport.rect().center()
    wheel = QWheelEvent(
        QPointF(centre),
        QPointF(viewport.mapToGlobal(centre)),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, wheel)

    assert not panel.charts.following
    assert panel.pause_button.isChecked() and not panel.follow_button.isChecked()
    zoomed = x_range(plot)
    assert zoomed[1] - zoomed[0] < before[1] - before[0]
    assert x_range(other) == pytest.approx(zoomed, abs=1.0), "the time axes are linked"
    feed(store, clock, 10)
    frame(panel)
    assert x_range(plot) == pytest.approx(zoomed)

    panel.follow_button.click()
    frame(panel)
    assert panel.charts.following
    assert x_range(plot) == pytest.approx(latest(clock, 300))


def test_anomalous_readings_are_marked(
    panel: CauldronPanel, store: SeriesStore, clock: Clock
) -> None:
    feed(store, clock, 10, score=0.1)
    feed(store, clock, 1, score=0.85)
    feed(store, clock, 5, score=0.2)
    feed(store, clock, 1, score=0.99)
    frame(panel)

    xs, ys = plot_of(panel).markers.positions()
    assert xs.tolist() == [START + 11, START + 17]
    assert ys.tolist() == [20.0, 20.0]


def test_a_quiet_sensor_is_shaded_and_dashed_until_it_speaks_again(
    panel: CauldronPanel, store: SeriesStore, clock: Clock
) -> None:
    sensors = ("cauldron-core/DS18B20-1", "crypt/th")
    feed(store, clock, 30, sensors=sensors)
    frame(panel)
    plot = plot_of(panel)
    quiet = series_of(store, "crypt/th")
    region = plot.regions[quiet]
    assert region not in items(plot)

    feed(store, clock, 10, sensors=sensors[:1])
    frame(panel)

    assert region in items(plot)
    assert region.getRegion() == pytest.approx((START + 30, clock.now))
    assert plot.curves[quiet].pen.style() == Qt.PenStyle.DashLine
    assert legend_names(plot) == ["DS18B20-1", "th · silent"]
    loud = series_of(store, sensors[0])
    assert plot.regions[loud] not in items(plot)

    feed(store, clock, 1, sensors=sensors)
    frame(panel)
    assert region not in items(plot)
    assert legend_names(plot) == ["DS18B20-1", "th"]
    assert plot.curves[quiet].pen.style() == Qt.PenStyle.SolidLine


def test_the_topic_tree_shows_rates_and_retained_and_its_check_boxes_hide_series(
    panel: CauldronPanel, store: SeriesStore, topics: TopicTree, clock: Clock
) -> None:
    sensors = ("cauldron-core/DS18B20-1", "crypt/th")
    for second in range(20):
        for at in (0.25, 0.75):
            for sensor in sensors:
                message = MqttMessage("sim", f"tele/{sensor}/SENSOR", b"20.0", 0, False, 0.0)
                topics.record(message._replace(received_at=START + second + at))
    topics.record(MqttMessage("sim", "homeassistant/x/config", b"{}", 1, True, START))
    clock.now = START + 10
    feed(store, clock, 10, sensors=sensors)
    frame(panel)

    model = panel.topic_model
    tele = model.index(0, 0)
    assert tele.data() == "tele"
    crypt_topic = model.index(0, 0, model.index(1, 0, tele))
    assert crypt_topic.data() == "th"
    sensor = model.index(0, 0, crypt_topic)
    assert sensor.data() == "SENSOR"
    assert sensor.siblingAtColumn(1).data() == "20.0"
    assert sensor.siblingAtColumn(2).data() == "2.0/s"
    config = model.index(0, 0, model.index(0, 0, model.index(1, 0)))
    assert config.siblingAtColumn(3).data() == "retained"
    assert sensor.siblingAtColumn(3).data() == ""
    assert panel.topic_view.isExpanded(crypt_topic)

    plot = plot_of(panel)
    quiet_curve = plot.curves[series_of(store, "crypt/th")]
    assert quiet_curve in items(plot)
    assert model.setData(crypt_topic, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    frame(panel)

    assert crypt_topic.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert tele.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.PartiallyChecked
    assert quiet_curve not in items(plot)
    assert legend_names(plot) == ["DS18B20-1"]
    assert not topics.is_charted("tele/crypt/th/SENSOR")

    model.setData(tele, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    frame(panel)
    assert not plot.isVisible()
    assert panel.charts.placeholder.isVisible()
    model.setData(QModelIndex(), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    model.setData(tele, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    frame(panel)
    assert plot.isVisible()
    assert legend_names(plot) == ["DS18B20-1", "th"]


def test_new_topics_appear_on_the_slow_clock(
    panel: CauldronPanel, topics: TopicTree, clock: Clock
) -> None:
    model = panel.topic_model
    topics.record(MqttMessage("sim", "a/b", b"1", 0, False, clock.now))
    assert model.rowCount() == 0
    frame(panel)
    assert model.rowCount() == 1
    topics.record(MqttMessage("sim", "a/c/d", b"2", 0, False, clock.now))
    topics.record(MqttMessage("sim", "e", b"3", 0, False, clock.now))
    frame(panel)
    a = model.index(0, 0)
    assert [model.index(row, 0, a).data() for row in range(model.rowCount(a))] == ["b", "c"]
    assert model.index(1, 0).data() == "e"
    assert model.index(0, 0, model.index(1, 0, a)).data() == "d"
    assert model.parent(model.index(0, 0, model.index(1, 0, a))) == model.index(1, 0, a)


def test_the_header_names_the_source_and_counts_refused_payloads(
    qtbot, store: SeriesStore, topics: TopicTree
) -> None:  # type: ignore[no-untyped-def]
    problems: dict[tuple[str, str], int] = {}
    panel = CauldronPanel(store, topics, lambda: problems)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_source("Simulated cauldron — no broker configured")
    assert panel.source_label.text() == "Simulated cauldron — no broker configured"
    assert panel.problems_button.text() == "No refused payloads"
    assert not panel.problems_button.isEnabled()

    problems[("tele/cauldron/SENSOR", "not a number: 'nan'")] = 2
    problems[("zigbee2mqtt/orb", "truncated JSON")] = 1
    panel.refresh()
    assert panel.problems_button.text().startswith("3 refused payloads")
    assert panel.problems_button.toolTip().splitlines() == [
        "     2  tele/cauldron/SENSOR: not a number: 'nan'",
        "     1  zigbee2mqtt/orb: truncated JSON",
    ]
    assert not panel.problem_list.isVisible()
    panel.problems_button.click()
    assert panel.problem_list.isVisible()
    assert panel.problem_list.item(1, 1).text() == "truncated JSON"


def test_an_empty_store_shows_a_placeholder(qtbot, store: SeriesStore) -> None:  # type: ignore[no-untyped-def]
    charts = CauldronCharts(store)
    qtbot.addWidget(charts)
    charts.show()
    charts.refresh()
    assert charts.placeholder.isVisible()
    assert charts.plots == {}


def entry_label(plot: QuantityPlot, sensor_id: str) -> EntryLabel:
    """The legend entry the user clicks for `sensor_id`."""
    (label,) = [
        label
        for label in plot.legend.findChildren(EntryLabel)
        if label.key == sensor_id and label.isVisible()
    ]
    return label


def test_a_series_with_a_single_reading_shows_a_point(
    panel: CauldronPanel, store: SeriesStore, clock: Clock
) -> None:
    feed(store, clock, 120)
    at = clock.now - 60
    store.add(SensorReading("boiler/pressure", "pressure", 1.6, "bar", at), "boiler/pressure")
    frame(panel)

    plot = panel.charts.plots[("pressure", "bar")]
    assert drawn(plot, series_of(store, "boiler/pressure", "pressure")).times.tolist() == [at]
    image = plot.view.viewport().grab().toImage()
    centre = plot.view_box.mapViewToDevice(QPointF(at, 1.6)).toPoint()
    assert image.pixelColor(centre) == QColor(CURVE_COLOURS[0])
    empty = image.pixelColor(centre.x() - 20, centre.y())
    assert empty != QColor(CURVE_COLOURS[0]), "a dot, not a line"


def test_clicking_a_legend_entry_hides_its_curve_until_clicked_again(
    panel: CauldronPanel, store: SeriesStore, clock: Clock, qtbot
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(30):
        clock.now += 1
        store.add(SensorReading("cauldron-core/DS18B20-1", "temperature", 20.0, "°C", clock.now))
        store.add(SensorReading("crypt/th", "temperature", 80.0, "°C", clock.now, None, 0.99))
    frame(panel)
    plot = plot_of(panel)
    th = series_of(store, "crypt/th")
    assert y_range(plot)[1] > 80.0
    assert len(plot.markers.positions().times) == 30

    qtbot.mouseClick(entry_label(plot, "crypt/th"), Qt.MouseButton.LeftButton)
    for _ in range(3):
        feed(store, clock, 1, sensors=("cauldron-core/DS18B20-1",))
        frame(panel)

    assert not plot.curves[th].isVisible()
    assert [entry.hidden for entry in plot.legend.entries] == [False, True]
    assert dimmed(CURVE_COLOURS[1]) in entry_label(plot, "crypt/th").text(), "a dimmed entry"
    assert "click to show" in entry_label(plot, "crypt/th").toolTip()
    assert len(plot.markers.positions().times) == 0, "its markers go with it"
    assert y_range(plot)[1] < 80.0, "the value axis fits the curves on show"

    qtbot.mouseClick(entry_label(plot, "crypt/th"), Qt.MouseButton.LeftButton)
    frame(panel)
    assert plot.curves[th].isVisible()
    assert not plot.legend.entries[1].hidden
    assert y_range(plot)[1] > 80.0


def test_a_legend_of_many_sensors_keeps_to_its_rows_and_lists_the_rest_under_more(
    panel: CauldronPanel, store: SeriesStore, clock: Clock
) -> None:
    plugs = tuple(f"tele/plug-{number:02d}/ENERGY" for number in range(40))
    feed(store, clock, 5, sensors=plugs, quantity="power")
    frame(panel)
    QApplication.processEvents()

    plot = panel.charts.plots[("power", None)]
    legend = plot.legend
    rows = {label.y() for label in legend.findChildren(EntryLabel) if label.isVisible()}
    assert len(rows) == 2
    assert legend.height() < plot.view.height()
    assert legend.more.isVisible()
    assert legend.more.text() == f"+{len(legend.overflow)} more"
    assert [entry.key for entry in (*legend.shown_entries, *legend.overflow)] == list(plugs)

    last = legend.overflow[-1].key
    legend.more.menu().actions()[-1].trigger()
    frame(panel)
    assert not plot.curves[series_of(store, last, "power")].isVisible()
    assert not legend.more.menu().actions()[-1].isChecked()

    before = len(legend.overflow)
    panel.resize(1800, 800)
    QApplication.processEvents()
    assert 0 < len(legend.overflow) < before, "a wider plot has room for more entries"


def test_sensors_reporting_a_quantity_in_different_units_get_plots_of_their_own(
    panel: CauldronPanel, store: SeriesStore, clock: Clock
) -> None:
    feed(store, clock, 5)
    for sensor, value, unit in (
        ("shellies/plug/voltage", 230.0, "V"),
        ("crypt/hygro", 55.0, "%"),
        ("zigbee2mqtt/0x00158d", 3010.0, "mV"),
        ("shellies/plug-2/voltage", 229.0, "V"),
    ):
        quantity = "humidity" if unit == "%" else "voltage"
        store.add(SensorReading(sensor, quantity, value, unit, clock.now), f"{sensor}/state")
    frame(panel)

    plots = panel.charts.plots
    assert list(plots) == [
        ("temperature", "°C"),
        ("voltage", "V"),
        ("voltage", "mV"),
        ("humidity", "%"),
    ], "a quantity's plots stay together"
    assert [plots[key].title.text() for key in list(plots)[1:3]] == ["Voltage · V", "Voltage · mV"]
    assert legend_names(plots[("voltage", "V")]) == ["plug/voltage", "plug-2/voltage"]
    assert y_range(plots[("voltage", "mV")])[0] > 2_000.0


def test_legends_name_sensors_as_the_directory_does_and_keep_raw_ids_in_tooltips(
    panel: CauldronPanel, store: SeriesStore, clock: Clock, sensors: SensorDirectory
) -> None:
    feed(store, clock, 5, sensors=("cauldron-core/DS18B20-1", "crypt/th"))
    frame(panel)
    plot = plot_of(panel)
    assert legend_names(plot) == ["DS18B20-1", "th"]

    sensors.learn(SensorInfo("crypt/th", "temperature", "Crypt thermometer", "Crypt", "°C"))
    frame(panel)
    assert legend_names(plot) == ["DS18B20-1", "Crypt thermometer"]
    tooltip = entry_label(plot, "crypt/th").toolTip().splitlines()
    assert tooltip[:3] == [
        "Crypt thermometer (Crypt)",
        "id: crypt/th",
        "topic: tele/crypt/th/SENSOR",
    ]


def test_a_retained_state_is_not_called_silent_unless_its_expiry_says_so(
    panel: CauldronPanel, store: SeriesStore, clock: Clock, sensors: SensorDirectory
) -> None:
    store.add(SensorReading("door", "contact", 1.0, None, clock.now), "home/door/state")
    clock.now += 120
    frame(panel)
    plot = panel.charts.plots[("contact", None)]
    door = series_of(store, "door", "contact")
    assert legend_names(plot) == ["door"]
    assert plot.regions[door] not in items(plot)

    sensors.learn(SensorInfo("door", "contact", "Front door", expire_after_s=60.0))
    frame(panel)
    assert legend_names(plot) == ["Front door · silent"]
    assert plot.regions[door] in items(plot)


def test_the_topic_tree_names_sensors_says_which_devices_are_online_and_shows_bytes_as_hex(
    qtbot, store: SeriesStore, topics: TopicTree, clock: Clock, sensors: SensorDirectory
) -> None:  # type: ignore[no-untyped-def]
    topics.record(MqttMessage("home", "tele/cellar/SENSOR", b'{"DS18B20":{}}', 0, False, START))
    topics.record(MqttMessage("home", "tele/cellar/LWT", b"Offline", 0, True, START))
    topics.record(MqttMessage("home", "tracker/raw", b"\x0a\x12\xff\x00", 0, False, START))
    topic = "tele/cellar/SENSOR"
    sensors.learn(SensorInfo("cellar", "temperature", "Cellar probe", "Cellar", "°C", topic=topic))
    panel = CauldronPanel(
        store, topics, clock=clock, sensors=sensors, online=lambda: [("tele/cellar", False)]
    )
    qtbot.addWidget(panel)
    model = panel.topic_model

    tele = model.index(0, 0)
    cellar = model.index(0, 0, tele)
    sensor = model.index(0, 0, cellar)
    assert sensor.data() == "SENSOR · Cellar probe"
    assert "Cellar probe (Cellar): cellar, temperature in °C" in sensor.data(
        Qt.ItemDataRole.ToolTipRole
    )
    assert cellar.data() == "○ cellar"
    assert cellar.data(Qt.ItemDataRole.ForegroundRole) == QColor(BLOOD)
    assert "device offline" in cellar.data(Qt.ItemDataRole.ToolTipRole)
    assert tele.data(Qt.ItemDataRole.ForegroundRole) is None
    raw = model.index(0, 0, model.index(1, 0))
    assert raw.siblingAtColumn(1).data() == "0a 12 ff 00"
    assert "binary payload" in raw.data(Qt.ItemDataRole.ToolTipRole)
