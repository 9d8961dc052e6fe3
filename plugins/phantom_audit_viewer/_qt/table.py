"""A virtual table model over an `AuditPager`: only the rows on screen are ever read."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from phantom_audit_viewer.pager import AuditPager, Selection
from phantom_audit_viewer.records import local_time, preview, severity, short_id
from phantom_gui.qt.table_model import ColumnTableModel, Index
from phantom_gui.qt.theme import ASH, BLOOD, PUMPKIN

COLUMNS = ("Seq", "Time", "Type", "Topic", "Source", "Run", "Data")
SEQ, TIME, TYPE, TOPIC, SOURCE, RUN, DATA = range(len(COLUMNS))
MONO_COLUMNS = frozenset({SEQ, TIME, RUN, DATA})
TOOLTIP_CHARS = 2_000
SEVERITY_COLOURS = {"alarm": QColor(BLOOD), "haunted": QColor(PUMPKIN), "cleared": QColor(ASH)}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class AuditTableModel(ColumnTableModel):
    """Row `i` is `pager.row(i)`; the row count changes only through `show` and `follow`."""

    columns = COLUMNS

    def __init__(self, pager: AuditPager, parent: Any = None) -> None:
        super().__init__(parent)
        self.pager = pager
        self._rows = 0
        self._mono = QFont("DejaVu Sans Mono")

    def show(self, selection: Selection) -> None:
        """Show the rows of `selection` instead of the current ones."""
        self.beginResetModel()
        self._rows = self.pager.show(selection)
        self.endResetModel()

    def follow(self) -> int:
        """Append the rows of records written since the last look; return how many."""
        added = self.pager.follow()
        if added:
            self.beginInsertRows(QModelIndex(), self._rows, self._rows + added - 1)
            self._rows += added
            self.endInsertRows()
        return added

    def row_total(self) -> int:
        """The rows on show."""
        return self._rows

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt API: a cell's text, tooltip, font, colour and alignment (its page read on demand)."""
        if not index.isValid():
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(self.pager.row(index.row()), column)
        if role == Qt.ItemDataRole.ToolTipRole and column in (DATA, RUN):
            record = self.pager.row(index.row())
            return record["audit_id"] if column == RUN else preview(record["data"], TOOLTIP_CHARS)
        if role == Qt.ItemDataRole.FontRole and column in MONO_COLUMNS:
            return self._mono
        if role == Qt.ItemDataRole.ForegroundRole and column in (TYPE, TOPIC):
            return SEVERITY_COLOURS.get(severity(self.pager.row(index.row())))
        if role == Qt.ItemDataRole.TextAlignmentRole and column == SEQ:
            return _RIGHT
        return None


def _cell(record: dict[str, Any], column: int) -> str:
    if column == SEQ:
        return str(record["seq"])
    if column == TIME:
        return local_time(record["timestamp"])
    if column == TYPE:
        return str(record["type"])
    if column == TOPIC:
        return record["topic"] or ""
    if column == SOURCE:
        return record["source"] or ""
    if column == RUN:
        return short_id(record["audit_id"])
    return preview(record["data"])
