"""A plot's legend: one entry per curve, at most a few rows however many sensors.

Entries flow in rows, right-aligned; those that do not fit in `MAX_ROWS` rows go into a
"+N more" menu at the end of the last row, so the legend never grows taller than its
plot. Clicking an entry (or its menu item) hides or shows the curve; the entry of a
hidden curve is dimmed, and that of a silent sensor is dashed and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QMouseEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QMenu, QSizePolicy, QToolButton, QWidget

from phantom_gui.qt.theme import ASH, BONE, CRYPT

MAX_ROWS = 2
SPACING = 14
"""Pixels between entries in a row."""
DIM = 0.3
"""How much of its colour a hidden curve's entry keeps (the rest is the background's)."""


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One curve as its legend entry shows it."""

    key: str
    """What `Legend.toggled` says when the entry is clicked (the sensor id)."""
    name: str
    colour: str
    tooltip: str = ""
    silent: bool = False
    hidden: bool = False

    @property
    def text(self) -> str:
        """The entry's words: the name, and whether the sensor is silent."""
        return f"{self.name} · silent" if self.silent else self.name


def dimmed(colour: str) -> str:
    """`colour` faded towards the plot's background (a hidden curve's entry)."""
    faded, ground = QColor(colour), QColor(CRYPT)
    mix = [
        round(DIM * a + (1 - DIM) * b)
        for a, b in zip(faded.getRgb()[:3], ground.getRgb()[:3], strict=True)
    ]
    return QColor(*mix).name()


def entry_html(entry: LegendEntry) -> str:
    """A line sample in the curve's colour (dashed when silent) and the name."""
    sample = "╌╌" if entry.silent else "━━"
    colour, words = entry.colour, ASH if entry.silent else BONE
    if entry.hidden:
        colour, words = dimmed(colour), dimmed(words)
    name = escape(entry.text).replace(" ", "&nbsp;")
    return (
        f'<span style="color:{colour}">{sample}</span>&nbsp;'
        f'<span style="color:{words}">{name}</span>'
    )


def entry_tooltip(entry: LegendEntry) -> str:
    """The entry's own tooltip and what a click does."""
    action = "show" if entry.hidden else "hide"
    return f"{entry.tooltip}\n(click to {action} the curve)".lstrip()


class EntryLabel(QLabel):
    """One entry: says which key was clicked."""

    clicked = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, objectName="cauldronLegendEntry")
        self.key = ""
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def show_entry(self, entry: LegendEntry) -> None:
        """Show `entry` (its text, colours and tooltip)."""
        self.key = entry.key
        self.setText(entry_html(entry))
        self.setToolTip(entry_tooltip(entry))
        self.adjustSize()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """Qt API: a left click inside the entry toggles its curve."""
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit(self.key)
        super().mouseReleaseEvent(event)


def swatch(entry: LegendEntry) -> QIcon:
    """A square of the curve's colour for the "+N more" menu."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(dimmed(entry.colour) if entry.hidden else entry.colour))
    return QIcon(pixmap)


class Legend(QWidget):
    """The entries of a plot's curves in at most `max_rows` rows (see the module)."""

    toggled = Signal(str)
    """The key of the entry the user clicked."""

    def __init__(self, max_rows: int = MAX_ROWS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cauldronLegend")
        self.max_rows = max_rows
        self.entries: tuple[LegendEntry, ...] = ()
        self.overflow: tuple[LegendEntry, ...] = ()
        """The entries only the "+N more" menu shows."""
        self._labels: list[EntryLabel] = []
        self.more = QToolButton(self, objectName="cauldronLegendMore")
        self.more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.more.setMenu(QMenu(self.more))
        self.more.menu().setToolTipsVisible(True)
        self.more.menu().triggered.connect(lambda action: self.toggled.emit(action.data()))
        self.more.hide()
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    @property
    def shown_entries(self) -> tuple[LegendEntry, ...]:
        """The entries in the rows (not in the "+N more" menu)."""
        return self.entries[: len(self.entries) - len(self.overflow)]

    def set_entries(self, entries: Sequence[LegendEntry]) -> None:
        """Show `entries`, in order (nothing is done if they did not change)."""
        entries = tuple(entries)
        if entries == self.entries:
            return
        self.entries = entries
        while len(self._labels) < len(entries):
            label = EntryLabel(self)
            label.clicked.connect(self.toggled)
            self._labels.append(label)
        for label, entry in zip(self._labels, entries, strict=False):
            label.show_entry(entry)
        for label in self._labels[len(entries) :]:
            label.hide()
        self._place(self.width())
        self.updateGeometry()

    def hasHeightForWidth(self) -> bool:
        """Qt API: the rows needed depend on the width."""
        return True

    def heightForWidth(self, width: int) -> int:
        """Qt API: the height of the rows the entries take at `width`."""
        return self._rows(width)[1] * self._row_height()

    def sizeHint(self) -> QSize:
        """Qt API: all entries in one row."""
        widths = [label.sizeHint().width() for label in self._labels[: len(self.entries)]]
        return QSize(sum(widths) + SPACING * len(widths), self._row_height())

    def minimumSizeHint(self) -> QSize:
        """Qt API: room for the "+N more" button."""
        return QSize(self.more.sizeHint().width(), self._row_height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Qt API: lay the entries out again for the new width."""
        self._place(event.size().width())
        super().resizeEvent(event)

    def _row_height(self) -> int:
        return max(self.fontMetrics().height() + 4, self.more.sizeHint().height())

    def _rows(self, width: int) -> tuple[list[list[int]], int]:
        """The entries' indices row by row, and the rows used (the "+N more" button
        included: it ends the last row when some entries do not fit)."""
        widths = [label.sizeHint().width() for label in self._labels[: len(self.entries)]]
        rows: list[list[int]] = [[]]
        used = 0
        for index, entry_width in enumerate(widths):
            if rows[-1] and used + SPACING + entry_width > width:
                if len(rows) == self.max_rows:
                    break
                rows.append([])
                used = 0
            used += (SPACING if rows[-1] else 0) + entry_width
            rows[-1].append(index)
        placed = sum(map(len, rows))
        if placed < len(widths):
            self._make_room_for_more(rows, widths, width, len(widths) - placed)
        return rows, len(rows) if widths else 0

    def _make_room_for_more(
        self, rows: list[list[int]], widths: list[int], width: int, missing: int
    ) -> None:
        """Take entries off the end of the last row until the "+N more" button fits."""
        last = rows[-1]
        while last:
            self.more.setText(f"+{missing} more")
            room = width - sum(widths[i] + SPACING for i in last)
            if room >= self.more.sizeHint().width():
                return
            last.pop()
            missing += 1
        self.more.setText(f"+{missing} more")

    def _place(self, width: int) -> None:
        rows, _ = self._rows(width)
        row_height = self._row_height()
        placed = [index for row in rows for index in row]
        for top, row in enumerate(rows):
            items: list[QWidget] = [self._labels[index] for index in row]
            if row is rows[-1] and len(placed) < len(self.entries):
                items.append(self.more)
            right = width
            for item in reversed(items):
                hint = item.sizeHint()
                right -= hint.width()
                item.setGeometry(
                    right, top * row_height + (row_height - hint.height()) // 2, *hint.toTuple()
                )
                item.show()
                right -= SPACING
        for index, label in enumerate(self._labels[: len(self.entries)]):
            label.setVisible(index in placed)
        self.overflow = self.entries[len(placed) :]
        self.more.setVisible(bool(self.overflow))
        self._fill_menu()

    def _fill_menu(self) -> None:
        menu = self.more.menu()
        menu.clear()
        for entry in self.overflow:
            action = QAction(swatch(entry), entry.text, menu)
            action.setData(entry.key)
            action.setCheckable(True)
            action.setChecked(not entry.hidden)
            action.setToolTip(entry_tooltip(entry))
            menu.addAction(action)
