"""The Hub Monitor panel: a thin Qt view of a `MonitorModel`, repainted on a frame clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from phantom_gui.core.events import SpectralEvent
from phantom_gui.qt.table_model import ColumnTableModel, Index
from phantom_gui.qt.theme import ASH, BLOOD, MIST, NIGHT, PUMPKIN
from phantom_hub_monitor.model import MonitorModel, preview, severity

FRAME_INTERVAL_MS = 100
"""The frame clock: at most 10 repaints a second, however many events arrive."""

COLUMNS = ("Time", "Topic", "Source", "Data")
TOOLTIP_CHARS = 2_000
SEVERITY_COLOURS = {"alarm": QColor(BLOOD), "haunted": QColor(PUMPKIN)}

STYLE = f"""
QLabel#hubMonitorFilterError {{ color: {BLOOD}; }}
QLineEdit[invalid="true"] {{ border: 1px solid {BLOOD}; border-radius: 3px; padding: 3px; }}
QLabel#hubMonitorStatus {{ color: {ASH}; }}
QPushButton#hubMonitorPause:checked {{ background-color: {PUMPKIN}; color: {NIGHT}; }}
QTableView QTableCornerButton::section {{ background-color: {MIST}; }}
"""


class EventTableModel(ColumnTableModel):
    """The rows on show: a list of events, replaced whole on each frame that changed."""

    columns = COLUMNS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._events: list[SpectralEvent] = []
        self._mono = QFont("DejaVu Sans Mono")

    def set_events(self, events: list[SpectralEvent]) -> None:
        """Show `events` (newest first)."""
        self.beginResetModel()
        self._events = events
        self.endResetModel()

    def row_total(self) -> int:
        """The rows on show."""
        return len(self._events)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt API: a cell's text, tooltip, font and colour."""
        if not index.isValid():
            return None
        event = self._events[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return datetime.fromtimestamp(event.timestamp).strftime("%H:%M:%S.%f")[:-3]
            if column == 1:
                return event.topic
            if column == 2:
                return event.source
            return preview(event.data)
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            return preview(event.data, TOOLTIP_CHARS)
        if role == Qt.ItemDataRole.FontRole and column in (0, 3):
            return self._mono
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return SEVERITY_COLOURS.get(severity(event))
        return None


class HubMonitorPanel(QWidget):
    """A filter field, pause and clear buttons, a status line and the table of events."""

    def __init__(self, model: MonitorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setObjectName("hubMonitorPanel")
        self.setStyleSheet(STYLE)
        self.filter_edit = QLineEdit(
            placeholderText="Topic pattern, e.g. plugin/+/state or cauldron/#",
            clearButtonEnabled=True,
        )
        self.filter_error = QLabel(objectName="hubMonitorFilterError")
        self.filter_error.hide()
        self.pause_button = QPushButton("Pause", checkable=True, objectName="hubMonitorPause")
        self.clear_button = QPushButton("Clear")
        self.status = QLabel(objectName="hubMonitorStatus")
        self.events = EventTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.events)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((100, 240, 130)):
            self.table.setColumnWidth(column, width)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Filter"))
        controls.addWidget(self.filter_edit, 1)
        controls.addWidget(self.pause_button)
        controls.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(controls)
        layout.addWidget(self.filter_error)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

        self.filter_edit.setText(model.pattern)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.pause_button.toggled.connect(self._set_paused)
        self.clear_button.clicked.connect(self._clear)
        self._shown_revision = -1
        self._applied_pattern = model.pattern
        self.frame_clock = QTimer(self, interval=FRAME_INTERVAL_MS)
        self.frame_clock.timeout.connect(self.refresh)
        self.frame_clock.start()
        self.refresh()

    def refresh(self) -> None:
        """One frame: bring the controls, the table and the status line up to date."""
        self._sync_controls()
        if self.model.revision != self._shown_revision:
            self._shown_revision = self.model.revision
            self.events.set_events(self.model.visible())
        self._show_status()

    def _apply_filter(self, text: str) -> None:
        try:
            self.model.set_pattern(text)
        except ValueError as exc:
            shown = self.model.pattern or "all topics"
            self.filter_error.setText(f"Invalid topic pattern: {exc}. Still showing {shown}.")
            self._mark_invalid(True)
            return
        self._applied_pattern = self.model.pattern
        self._mark_invalid(False)

    def _mark_invalid(self, invalid: bool) -> None:
        self.filter_error.setVisible(invalid)
        self.filter_edit.setProperty("invalid", invalid)
        self.filter_edit.style().unpolish(self.filter_edit)
        self.filter_edit.style().polish(self.filter_edit)

    def _set_paused(self, paused: bool) -> None:
        self.model.paused = paused
        self.pause_button.setText("Resume" if paused else "Pause")

    def _clear(self) -> None:
        self.model.clear()
        self.refresh()

    def _sync_controls(self) -> None:
        """Follow changes made to the model elsewhere (a restore after hot reload)."""
        if self.pause_button.isChecked() != self.model.paused:
            self.pause_button.setChecked(self.model.paused)
        if self.model.pattern != self._applied_pattern:
            self._applied_pattern = self.model.pattern
            self.filter_edit.setText(self.model.pattern)

    def _show_status(self) -> None:
        model = self.model
        parts = [
            f"{self.events.rowCount():,} shown",
            f"{model.held:,} held (last {model.capacity:,})",
            f"{model.seen:,} seen",
            f"{len(model.counts):,} topics",
        ]
        if model.paused:
            parts.append(f"paused: {model.skipped:,} skipped")
        self.status.setText("  ·  ".join(parts))
        busiest = "\n".join(f"{count:>7,}  {topic}" for topic, count in model.busiest())
        self.status.setToolTip(f"Busiest topics:\n{busiest}" if busiest else "")
