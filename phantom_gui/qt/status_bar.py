"""The status bar: a view of the hub's throughput and its dead-letter queue."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar, QWidget
from reactivex import abc

from phantom_gui.core.hub import EventHub
from phantom_gui.core.scheduling import rate_per_second
from phantom_gui.qt.bindings import Subscriptions


class HubStatusBar(QStatusBar):
    """Shows the hub's events per second and how many events ended as dead letters."""

    dead_letters_requested = Signal()

    def __init__(
        self, hub: EventHub, scheduler: abc.SchedulerBase, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._hub = hub
        self.rate_label = QLabel("hub: — events/s", objectName="hubRate")
        self.rate_label.setToolTip("Events published on the hub in the last second")
        self.dead_letter_button = QPushButton("dead letters: 0", objectName="deadLetters")
        self.dead_letter_button.setFlat(True)
        self.dead_letter_button.setToolTip(
            "Events no one handled and subscribers that failed; click to inspect"
        )
        self.dead_letter_button.clicked.connect(self.dead_letters_requested)
        self.addPermanentWidget(self.dead_letter_button)
        self.addPermanentWidget(self.rate_label)
        self.subscriptions = Subscriptions(self)
        self.subscriptions.bind(
            rate_per_second(lambda: hub.published_count, scheduler), self._show_rate
        )

    def _show_rate(self, per_second: float) -> None:
        self.rate_label.setText(f"hub: {per_second:,.0f} events/s")
        total = self._hub.dead_letter_total
        failures = sum(1 for letter in self._hub.dead_letters if letter.reason != "no subscriber")
        self.dead_letter_button.setText(f"dead letters: {total:,}")
        alarming = "true" if failures else "false"
        if self.dead_letter_button.property("alarming") != alarming:
            self.dead_letter_button.setProperty("alarming", alarming)
            self.dead_letter_button.style().polish(self.dead_letter_button)
