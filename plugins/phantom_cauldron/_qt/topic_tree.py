"""The topic tree: a Qt view of a `TopicTree`, updated on the panel's clock, not per message.

Check boxes choose which topics go on the charts (the choice covers the topic and
everything below it). A topic whose sensors the `SensorDirectory` names shows their
friendly name beside its own (the raw ids in its tooltip); a device's node shows whether
it is online, where its availability topic said; binary payloads show as hex.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHeaderView, QTreeView, QWidget

from phantom_cauldron.directory import SensorDirectory, SensorInfo
from phantom_cauldron.names import sensor_line, topic_label
from phantom_cauldron.topics import TopicNode, TopicTree
from phantom_gui.qt.theme import ASH, BLOOD, ECTOPLASM

Index = QModelIndex | QPersistentModelIndex
OnlineStates = Callable[[], Iterable[tuple[str, bool]]]
"""Whether devices are online: (the topic of the tree node that stands for the device,
online), as their availability topics last said."""

COLUMNS = ("Topic", "Last payload", "Rate", "Retained")
ONLINE_MARKS = {True: "●", False: "○"}
CHECK_STATES = {
    "charted": Qt.CheckState.Checked,
    "hidden": Qt.CheckState.Unchecked,
    "mixed": Qt.CheckState.PartiallyChecked,
}


def format_rate(rate: float) -> str:
    """Messages per second, short: ``12/s``, ``0.4/s``, ``—`` when quiet."""
    if rate <= 0:
        return "—"
    return f"{rate:.0f}/s" if rate >= 10 else f"{rate:.1f}/s"


class TopicTreeModel(QAbstractItemModel):
    """The tree's levels as rows. New topics appear, and the figures move, at `refresh()`
    (the first call shows what the tree already holds)."""

    def __init__(
        self,
        tree: TopicTree,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
        *,
        sensors: SensorDirectory | None = None,
        online: OnlineStates | None = None,
    ) -> None:
        super().__init__(parent)
        self.tree = tree
        self.sensors = sensors
        self._online_states = online
        self._clock = clock
        self._now = clock()
        self._rows: dict[TopicNode, int] = {tree.root: 0}
        """How many children of each node the view has been told of."""
        self._announced = 0
        self._drawn: tuple[object, ...] = ()
        self._mono = QFont("DejaVu Sans Mono")
        self._sensors_on: dict[str, list[SensorInfo]] = {}
        """The named sensors whose readings arrive on each topic."""
        self._named_revision = -1
        self._online: dict[str, bool] = {}

    def refresh(self) -> None:
        """Announce new topics, and new figures if anything arrived, a second went by, or
        what is known of the sensors and devices changed."""
        self._now = self._clock()
        tree = self.tree
        self._announce_new_nodes()
        self._learn_sensors()
        if self._online_states is not None:
            self._online = dict(self._online_states())
        state = (
            tree.revision,
            tree.choice_revision,
            int(self._now),
            self._named_revision,
            tuple(self._online.items()),
        )
        if state != self._drawn:
            self._drawn = state
            self._announce_all_changed()

    def label(self, node: TopicNode) -> str:
        """The topic column's text: the level's name, what its sensors are called, and a
        device's online state (● online, ○ offline)."""
        friendly = topic_label(self._sensors_on.get(node.path, ()))
        text = f"{node.name} · {friendly}" if friendly else node.name
        online = self._online.get(node.path)
        return text if online is None else f"{ONLINE_MARKS[online]} {text}"

    def node(self, index: Index) -> TopicNode:
        """The tree node behind `index` (the root for an invalid index)."""
        return index.internalPointer() if index.isValid() else self.tree.root

    def index_of(self, node: TopicNode) -> QModelIndex:
        """The first column's index of `node`."""
        return QModelIndex() if node.parent is None else self.createIndex(node.row, 0, node)

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        """Qt API: the cell at `row`, `column` under `parent`."""
        node = self.node(parent)
        if not 0 <= row < self._rows.get(node, 0) or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: Index) -> QModelIndex:  # type: ignore[override]
        """Qt API: the parent of `index`."""
        if not index.isValid():
            return QModelIndex()
        parent = self.node(index).parent
        return QModelIndex() if parent is None else self.index_of(parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Qt API: the children announced under `parent`."""
        if parent.isValid() and parent.column() != 0:
            return 0
        return self._rows.get(self.node(parent), 0)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Qt API: topic, last payload, rate, retained."""
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Qt API: the column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Qt API: every row selectable; the topic column has the charting check box."""
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt API: a cell's text, check state, tooltip, font and colour."""
        if not index.isValid():
            return None
        node = self.node(index)
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return CHECK_STATES[self.tree.check_state(node.pattern)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node)
        stats = node.stats
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return self.label(node)
            if stats is None:
                return None
            if column == 1:
                return stats.excerpt.replace("\n", " ")
            if column == 2:
                return format_rate(stats.rate(self._now))
            return "retained" if stats.retained else ""
        if role == Qt.ItemDataRole.FontRole and column == 1:
            return self._mono
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colour(node, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 2:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Qt API: a click on a check box charts (or hides) the topic and everything below."""
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        charted = Qt.CheckState(value) != Qt.CheckState.Unchecked
        self.tree.set_charted(self.node(index).pattern, charted)
        self.refresh()
        return True

    def _tooltip(self, node: TopicNode) -> str:
        lines = [node.path]
        online = self._online.get(node.path)
        if online is not None:
            lines.append("device online" if online else "device offline")
        lines.extend(map(sensor_line, self._sensors_on.get(node.path, ())))
        stats = node.stats
        if stats is None:
            return "\n".join([*lines, f"{len(node.children)} subtopics"])
        seen = datetime.fromtimestamp(stats.last_seen).strftime("%H:%M:%S")
        retained = ", retained" if stats.retained else ""
        binary = "binary payload, in hex:\n" if stats.binary else ""
        return "\n".join(
            [
                *lines,
                f"{stats.count:,} messages, last at {seen} (QoS {stats.qos}{retained})",
                binary + stats.excerpt,
            ]
        )

    def _colour(self, node: TopicNode, column: int) -> QColor | None:
        """Rates in green, flags and binary payloads in grey, devices by their state."""
        if column == 0:
            online = self._online.get(node.path)
            return None if online is None else QColor(ECTOPLASM if online else BLOOD)
        if column == 2:
            return QColor(ECTOPLASM)
        if column == 3 or (column == 1 and node.stats is not None and node.stats.binary):
            return QColor(ASH)
        return None

    def _learn_sensors(self) -> None:
        """Which named sensors arrive on which topic (again when the directory moved)."""
        sensors = self.sensors
        if sensors is None or sensors.revision == self._named_revision:
            return
        self._named_revision = sensors.revision
        self._sensors_on = {}
        for info in sensors:
            if info.topic is not None and info.name:
                self._sensors_on.setdefault(info.topic, []).append(info)

    def _announce_new_nodes(self) -> None:
        """Tell the view of the nodes made since the last refresh, a parent at a time.

        A parent is made before its children, so it is announced before them.
        """
        made = self.tree.nodes
        if len(made) == self._announced:
            return
        added: dict[TopicNode, int] = {}
        for node in made[self._announced :]:
            added[node.parent] = added.get(node.parent, 0) + 1
        self._announced = len(made)
        for parent, count in added.items():
            first = self._rows.get(parent, 0)
            self.beginInsertRows(self.index_of(parent), first, first + count - 1)
            self._rows[parent] = first + count
            self.endInsertRows()

    def _announce_all_changed(self) -> None:
        last_column = len(COLUMNS) - 1
        for parent, rows in self._rows.items():
            if rows:
                top = self.index(0, 0, self.index_of(parent))
                bottom = self.index(rows - 1, last_column, self.index_of(parent))
                self.dataChanged.emit(top, bottom)


class TopicTreeView(QTreeView):
    """The topic tree with its columns sized; a parent opens when its first children come."""

    def __init__(self, model: TopicTreeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cauldronTopics")
        self.setModel(model)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setAnimated(False)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 200), (2, 56), (3, 64)):
            self.setColumnWidth(column, width)
        model.rowsInserted.connect(self._open_first_children)

    def _open_first_children(self, parent: QModelIndex, first: int, _last: int) -> None:
        if first == 0 and parent.isValid():
            self.expand(parent)
