"""The Coven panel: a thin Qt view of a `CovenViewModel`, redrawn on a frame clock only
when the model changed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from phantom_coven.view_model import CovenViewModel, FlowRow, MemberRow
from phantom_gui.coven.traffic import RefusalKind
from phantom_gui.qt.table_model import ColumnTableModel, Index
from phantom_gui.qt.tasks import TaskRunner
from phantom_gui.qt.theme import ASH, BLOOD, ECTOPLASM, PUMPKIN

FRAME_INTERVAL_MS = 100
"""The frame clock: at most 10 redraws a second, however busy the coven."""
DOT = "●"
MEMBER_COLUMNS = ("", "Name", "Instance", "Role", "Version", "Host", "Plugins", "Since")
FLOW_COLUMNS = ("Member", "Topic", "Sent", "Received", "Sent/s", "Received/s")
STATUS_COLOURS = {"joined": ECTOPLASM, "joining": PUMPKIN, "failed": BLOOD}

STYLE = f"""
QLabel#covenState {{ font-weight: bold; }}
QLabel#covenProblem {{ color: {BLOOD}; }}
QLabel#covenToken, QLabel#covenRefusedCounts {{ color: {ASH}; }}
"""


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).strftime("%H:%M:%S")


def member_cell(row: MemberRow, column: int) -> str:
    """The text of one member's cell."""
    if column == 0:
        return DOT
    if column == 7:
        return f"{'online' if row.online else 'offline'} since {_time(row.since)}"
    name = f"{row.name} (this instance)" if row.is_self else row.name
    values = (name, row.instance, row.role, row.version, row.host, ", ".join(row.plugins))
    return values[column - 1]


def flow_cell(row: FlowRow, column: int) -> str:
    """The text of one traffic cell."""
    values = (
        row.member,
        row.topic,
        f"{row.sent:,}",
        f"{row.received:,}",
        f"{row.sent_per_s:,.1f}",
        f"{row.received_per_s:,.1f}",
    )
    return values[column]


class RowsModel(ColumnTableModel):
    """Rows of the view model, replaced whole when they change; `cell` gives the text."""

    def __init__(
        self,
        columns: tuple[str, ...],
        cell: Callable[[Any, int], str],
        colour: Callable[[Any, int], QColor | None] = lambda row, column: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns = columns
        self._cell = cell
        self._colour = colour
        self.rows: Sequence[Any] = ()

    def set_rows(self, rows: Sequence[Any]) -> None:
        """Show `rows`, if they differ from those on show."""
        if rows == self.rows:
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def row_total(self) -> int:
        """The rows on show."""
        return len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt API: a cell's text and colour."""
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell(row, index.column())
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colour(row, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and self.columns[index.column()] == "":
            return Qt.AlignmentFlag.AlignCenter
        return None


def _dot_colour(row: MemberRow, column: int) -> QColor | None:
    if column == 0:
        return QColor(ECTOPLASM if row.online else ASH)
    return None if row.online else QColor(ASH)


def _table(model: RowsModel, widths: Sequence[int]) -> QTableView:
    table = QTableView()
    table.setModel(model)
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(22)
    table.horizontalHeader().setStretchLastSection(True)
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)
    return table


def _titled(title: str, *widgets: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QLabel(f"<b>{title}</b>"))
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QListWidget | QTableView) else 0)
    return box


class CovenPanel(QWidget):
    """The state with Join…/Leave, the token line, the members, the traffic, the
    refusals and the broadcasts."""

    def __init__(
        self,
        model: CovenViewModel,
        loop: asyncio.AbstractEventLoop,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.tasks = TaskRunner(loop, model.failed)
        self.setObjectName("covenPanel")
        self.setStyleSheet(STYLE)
        self.state_label = QLabel(objectName="covenState")
        self.coven_field = QLineEdit(placeholderText="coven name", clearButtonEnabled=True)
        self.coven_field.setMaximumWidth(200)
        self.coven_field.hide()
        self.join_button = QPushButton("Join…")
        self.leave_button = QPushButton("Leave")
        self.problem_label = QLabel(objectName="covenProblem")
        self.problem_label.hide()
        self.token_label = QLabel(objectName="covenToken")
        self.token_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.members = RowsModel(MEMBER_COLUMNS, member_cell, _dot_colour, self)
        self.members_table = _table(self.members, (24, 220, 150, 80, 60, 110, 170))
        self.flows = RowsModel(FLOW_COLUMNS, flow_cell, parent=self)
        self.flows_table = _table(self.flows, (140, 150, 60, 70, 60))
        self.refused_counts = QLabel(objectName="covenRefusedCounts")
        self.refused_counts.setWordWrap(True)
        self.refusals = QListWidget()
        self.broadcasts = QListWidget()

        header = QHBoxLayout()
        header.addWidget(self.state_label, 1)
        header.addWidget(self.coven_field)
        header.addWidget(self.join_button)
        header.addWidget(self.leave_button)
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(_titled("Refused", self.refused_counts, self.refusals))
        side.addWidget(_titled("Broadcasts", self.broadcasts))
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(_titled("Traffic", self.flows_table))
        lower.addWidget(side)
        lower.setSizes([600, 400])
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(_titled("Members", self.members_table))
        body.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(header)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.token_label)
        layout.addWidget(body, 1)

        self.join_button.clicked.connect(self._join_clicked)
        self.coven_field.returnPressed.connect(self._join_clicked)
        self.leave_button.clicked.connect(self._leave_clicked)
        self._drawn_revision = -1
        self.frame_clock = QTimer(self, interval=FRAME_INTERVAL_MS)
        self.frame_clock.timeout.connect(self.refresh)
        self.frame_clock.start()
        self.refresh()

    def refresh(self) -> bool:
        """One frame: poll the model and redraw what changed; False if nothing did."""
        self.model.poll()
        model = self.model
        if model.revision == self._drawn_revision:
            return False
        self._drawn_revision = model.revision
        self.state_label.setText(model.state_line)
        colour = STATUS_COLOURS.get(model.status)
        self.state_label.setStyleSheet(f"color: {colour};" if colour else "")
        joined = model.status in ("joining", "joined")
        self.join_button.setEnabled(not joined)
        self.leave_button.setEnabled(joined)
        if joined:
            self.coven_field.hide()
            self.join_button.setText("Join…")
        self.problem_label.setText(model.problem)
        self.problem_label.setVisible(bool(model.problem))
        token = model.token
        self.token_label.setText("No token" if token is None else token.line(model.now()))
        self.members.set_rows(model.members)
        self.flows.set_rows(model.flows)
        self._show_refusals()
        self._show_list(self.broadcasts, model.broadcasts)
        return True

    def _show_refusals(self) -> None:
        model = self.model
        kinds = " · ".join(f"{kind} {model.refused_by_kind.get(kind, 0):,}" for kind in RefusalKind)
        members = ", ".join(f"{m} {n:,}" for m, n in model.refused_by_member.items())
        self.refused_counts.setText(kinds + (f"\nby member: {members}" if members else ""))
        self._show_list(
            self.refusals,
            [f"{r.member} · {r.topic} · {r.kind}: {r.reason}" for r in model.recent_refusals],
        )

    @staticmethod
    def _show_list(widget: QListWidget, lines: Sequence[str]) -> None:
        shown = [widget.item(row).text() for row in range(widget.count())]
        if shown != list(lines):
            widget.clear()
            widget.addItems(list(lines))

    def _join_clicked(self) -> None:
        if not self.coven_field.isVisible():
            self.coven_field.show()
            self.coven_field.setFocus()
            self.join_button.setText("Join")
            return
        name = self.coven_field.text()
        self.tasks.run(self.model.join(name), f"join {name.strip() or 'a coven'}")

    def _leave_clicked(self) -> None:
        self.tasks.run(self.model.leave(), "leave the coven")
