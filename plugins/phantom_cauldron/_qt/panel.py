"""The Cauldron panel: a thin Qt view over the plugin's `SeriesStore` and `TopicTree`,
naming sensors from the parser's `SensorDirectory`.

The plugin feeds the models; the panel only reads them: the charts on their 30 Hz
frame clock, the topic tree, the parser's refused payloads and the status line twice
a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from reactivex import Observable

from phantom_cauldron._qt.brewing import BrewingTab
from phantom_cauldron._qt.charts import DEFAULT_WINDOW_S, CauldronCharts
from phantom_cauldron._qt.topic_tree import OnlineStates, TopicTreeModel, TopicTreeView
from phantom_cauldron.brew_view_model import BrewControl
from phantom_cauldron.brewing_view_model import EvolutionControl, RemoteControl
from phantom_cauldron.directory import SensorDirectory
from phantom_cauldron.series import SeriesStore
from phantom_cauldron.topics import TopicTree
from phantom_gui.core.events import SpectralEvent
from phantom_gui.mqtt.states import MqttConnections
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.theme import ASH, BLOOD, BONE, CRYPT, MIST, NIGHT, PUMPKIN

ProblemCounts = Callable[[], Mapping[tuple[str, str], int]]
"""The parser's refused payloads so far: (topic, reason) → how many."""

STATUS_INTERVAL_MS = 500
WINDOWS: tuple[tuple[str, float | None], ...] = (
    ("1 min", 60.0),
    ("5 min", 300.0),
    ("30 min", 1800.0),
    ("All", None),
)
TOOLTIP_PROBLEMS = 12

STYLE = f"""
QLabel#cauldronSource {{ color: {PUMPKIN}; font-size: 14px; font-weight: bold; }}
QLabel#cauldronStatus {{ color: {ASH}; }}
QLabel#cauldronTrouble {{ color: {BLOOD}; font-weight: bold; }}
QPushButton#cauldronProblems {{ border: none; background: transparent; color: {ASH}; }}
QPushButton#cauldronProblems[alarming="true"] {{ color: {BLOOD}; font-weight: bold; }}
QPushButton#cauldronProblems:hover {{ color: {BONE}; }}
QPushButton#cauldronFollow:checked, QPushButton#cauldronPause:checked {{
    background-color: {PUMPKIN}; color: {NIGHT}; border-color: {PUMPKIN};
}}
QTreeView#cauldronTopics, QTableWidget#cauldronProblemList {{
    background-color: {CRYPT}; alternate-background-color: {MIST}; border: 1px solid {MIST};
}}
QSplitter::handle {{ background-color: {MIST}; }}
"""


def readable(reason: str) -> str:
    """A parser's reason as words: ``not_utf8`` → ``not utf8``."""
    return reason.replace("_", " ")


def problem_summary(problems: Mapping[tuple[str, str], int]) -> str:
    """``3 refused payloads``, or ``No refused payloads``."""
    total = sum(problems.values())
    if not total:
        return "No refused payloads"
    return f"{total:,} refused payload{'s' if total != 1 else ''}"


def problem_table() -> QTableWidget:
    """The refused payloads, one row per topic and reason (hidden until asked for)."""
    table = QTableWidget(0, 3, objectName="cauldronProblemList")
    table.setHorizontalHeaderLabels(("Topic", "Reason", "Count"))
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(22)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    columns = table.horizontalHeader()
    columns.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for column in (1, 2):
        columns.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    table.setMaximumHeight(140)
    table.hide()
    return table


class CauldronPanel(QWidget):
    """Header (source, refused payloads) above two tabs: the charts (toolbar with follow,
    pause and window, the topic tree beside the charts, a status line) and the brewing of
    recipes (see `BrewingTab`). `sensors` names the sensors in both; `online` says which
    devices are online (see `OnlineStates`); `evolution` runs the evolutions, `remote`
    runs them on coven workers and `brewing` sends the brews."""

    def __init__(
        self,
        store: SeriesStore,
        topics: TopicTree,
        problems: ProblemCounts | None = None,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
        *,
        sensors: SensorDirectory | None = None,
        online: OnlineStates | None = None,
        evolution: EvolutionControl | None = None,
        brewing: BrewControl | None = None,
        remote: RemoteControl | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.topics = topics
        self._problems = problems or (lambda: {})
        self._shown_problems: dict[tuple[str, str], int] | None = None
        self.setObjectName("cauldronPanel")
        self.setStyleSheet(STYLE)

        self.source_label = QLabel("Cauldron", objectName="cauldronSource")
        self.trouble_label = QLabel(objectName="cauldronTrouble")
        self.trouble_label.hide()
        self.problems_button = QPushButton(objectName="cauldronProblems", checkable=True)
        self.problems_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.problem_list = problem_table()

        self.follow_button = QPushButton("Follow", objectName="cauldronFollow", checkable=True)
        self.pause_button = QPushButton("Pause", objectName="cauldronPause", checkable=True)
        modes = QButtonGroup(self)
        modes.addButton(self.follow_button)
        modes.addButton(self.pause_button)
        self.window_choice = QComboBox()
        for label, seconds in WINDOWS:
            self.window_choice.addItem(label, seconds)
        self.window_choice.setCurrentIndex(self.window_choice.findData(DEFAULT_WINDOW_S))
        self.status = QLabel(objectName="cauldronStatus")

        self.charts = CauldronCharts(store, topics, clock, sensors=sensors)
        self.topic_model = TopicTreeModel(topics, clock, self, sensors=sensors, online=online)
        self.topic_view = TopicTreeView(self.topic_model)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.topic_view)
        splitter.addWidget(self.charts)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([440, 1000])

        header = QHBoxLayout()
        header.addWidget(self.source_label)
        header.addSpacing(16)
        header.addWidget(self.trouble_label)
        header.addStretch(1)
        header.addWidget(self.problems_button)
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.follow_button)
        toolbar.addWidget(self.pause_button)
        toolbar.addSpacing(12)
        toolbar.addWidget(QLabel("Window"))
        toolbar.addWidget(self.window_choice)
        toolbar.addStretch(1)
        toolbar.addWidget(self.status)
        live = QWidget()
        live_layout = QVBoxLayout(live)
        live_layout.setContentsMargins(0, 4, 0, 0)
        live_layout.addLayout(toolbar)
        live_layout.addWidget(splitter, 1)
        self.brewing = BrewingTab(evolution, brewing, remote=remote)
        self.tabs = QTabWidget(objectName="cauldronTabs")
        self.tabs.addTab(live, "Sensors")
        self.tabs.addTab(self.brewing, "Brewing")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(header)
        layout.addWidget(self.problem_list)
        layout.addWidget(self.tabs, 1)

        self.follow_button.clicked.connect(self.charts.follow)
        self.pause_button.clicked.connect(self.charts.pause)
        self.charts.following_changed.connect(self._show_following)
        self.window_choice.currentIndexChanged.connect(self._choose_window)
        self.problems_button.toggled.connect(self.problem_list.setVisible)
        self._show_following(self.charts.following)
        self.status_clock = QTimer(self, interval=STATUS_INTERVAL_MS)
        self.status_clock.timeout.connect(self.refresh)
        self.status_clock.start()
        self.refresh()

    def set_source(self, text: str) -> None:
        """Say where the readings come from (a connection's name, or the simulator)."""
        self.source_label.setText(text)

    def follow_connections(self, connections: Observable[Any]) -> None:
        """Say in the header which MQTT connections fail or reconnect, the reasons in the
        tooltip (`connections`: the current `MqttConnections`, then each change)."""
        self.connection_subscriptions = Subscriptions(self)
        self.connection_subscriptions.bind(connections, self._show_trouble)

    def follow_evolution(self, events: Observable[SpectralEvent]) -> None:
        """Show the evolutions whose events (`cauldron/evolution/#`) come from `events`."""
        self.brewing.follow(events)

    def follow_brews(self, events: Observable[SpectralEvent]) -> None:
        """Show the brews whose news (`cauldron/brew/#`) comes from `events`."""
        self.brewing.follow_brews(events)

    def _show_trouble(self, connections: object) -> None:
        if not isinstance(connections, MqttConnections):
            return
        trouble = connections.trouble()
        self.trouble_label.setVisible(trouble is not None)
        if trouble is None:
            return
        self.trouble_label.setText(f"⚠ {trouble.text}")
        self.trouble_label.setToolTip(
            f"{trouble.detail}\n\nThe MQTT label in the status bar opens the connection."
        )

    def refresh(self) -> None:
        """The slow clock: topic tree, refused payloads and status line."""
        self.topic_model.refresh()
        self._show_problems()
        store = self.store
        self.status.setText(
            f"{len(store):,} series · {len(store.quantities):,} quantities"
            f" · {len(self.topics):,} topics"
        )

    def _choose_window(self, index: int) -> None:
        self.charts.set_window(self.window_choice.itemData(index))

    def _show_following(self, following: bool) -> None:
        self.follow_button.setChecked(following)
        self.pause_button.setChecked(not following)

    def _show_problems(self) -> None:
        problems = dict(self._problems())
        if problems == self._shown_problems:
            return
        self._shown_problems = problems
        button = self.problems_button
        button.setText(problem_summary(problems) + (" ▾" if problems else ""))
        button.setEnabled(bool(problems))
        if not problems:
            button.setChecked(False)
        button.setProperty("alarming", bool(problems))
        button.style().unpolish(button)
        button.style().polish(button)
        worst = sorted(problems.items(), key=lambda item: -item[1])
        lines = [f"{count:>6,}  {topic}: {readable(reason)}" for (topic, reason), count in worst]
        more = len(lines) - TOOLTIP_PROBLEMS
        button.setToolTip(
            "\n".join(lines[:TOOLTIP_PROBLEMS] + ([f"… and {more} more"] if more > 0 else []))
        )
        table = self.problem_list
        table.setRowCount(len(worst))
        for row, ((topic, reason), count) in enumerate(worst):
            for column, text in enumerate((topic, readable(reason), f"{count:,}")):
                table.setItem(row, column, QTableWidgetItem(text))
