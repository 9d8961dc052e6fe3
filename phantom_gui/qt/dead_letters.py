"""A non-modal window listing the hub's dead letters."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.mqtt.messages import MqttMessage

COLUMNS = ("Time", "Topic", "Source", "Reason", "Error")


class DeadLetterDialog(QDialog):
    """A view of `EventHub.dead_letters`, newest first, refreshed on demand."""

    def __init__(self, hub: EventHub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._hub = hub
        self.setWindowTitle("Dead letters — Phantom")
        self.resize(820, 420)
        self.summary = QLabel()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.verticalHeader().hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        refresh = buttons.addButton("Refresh", QDialogButtonBox.ButtonRole.ActionRole)
        refresh.clicked.connect(self.refresh)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Show the dead letters held now."""
        letters = list(reversed(self._hub.dead_letters))
        self.summary.setText(
            f"{self._hub.dead_letter_total:,} dead letters since start; "
            f"the latest {len(letters):,} are kept."
        )
        self.table.setRowCount(len(letters))
        for row, letter in enumerate(letters):
            when = datetime.fromtimestamp(letter.event.timestamp).strftime("%H:%M:%S.%f")[:-3]
            cells = (when, _topic(letter.event), letter.event.source, letter.reason, letter.error)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == len(COLUMNS) - 1 and letter.traceback:
                    item.setToolTip(letter.traceback)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()


def _topic(event: SpectralEvent) -> str:
    """The hub topic, and for a message from an MQTT broker the broker's topic too."""
    if isinstance(event.data, MqttMessage):
        return f"{event.topic} · MQTT {event.data.topic}"
    return event.topic
