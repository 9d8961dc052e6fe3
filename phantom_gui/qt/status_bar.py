"""The status bar: a view of the hub's throughput, its dead letters, the audit log and the
MQTT connections."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar, QWidget
from reactivex import abc

from phantom_gui.audit.service import AUDIT_STATUS_KEY, AuditStatus
from phantom_gui.core.hub import EventHub
from phantom_gui.core.scheduling import rate_per_second
from phantom_gui.mqtt.states import CONNECTIONS_KEY, MqttConnections
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.theme import ASH, BLOOD, BONE

MQTT_BUTTON_STYLE = (
    f"QPushButton {{ border: none; background: transparent; color: {ASH}; padding: 0 8px; }} "
    f"QPushButton:hover {{ color: {BONE}; }} "
    f'QPushButton[alarming="true"] {{ color: {BLOOD}; font-weight: bold; }}'
)


class HubStatusBar(QStatusBar):
    """Shows the hub's events per second, its dead letters, the audit log and MQTT."""

    dead_letters_requested = Signal()
    connection_requested = Signal(str)
    """The MQTT label was clicked: the connection to show (the first in trouble, else the
    first; empty when there is none)."""

    def __init__(
        self,
        hub: EventHub,
        scheduler: abc.SchedulerBase,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._hub = hub
        self.mqtt_button = QPushButton(objectName="mqttStatus")
        self.mqtt_button.setFlat(True)
        self.mqtt_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.mqtt_button.setStyleSheet(MQTT_BUTTON_STYLE)
        self.mqtt_button.clicked.connect(self._request_connection)
        self._focus = ""
        self.audit_label = QLabel("audit: —", objectName="auditStatus")
        self.rate_label = QLabel("hub: — events/s", objectName="hubRate")
        self.rate_label.setToolTip("Events published on the hub in the last second")
        self.dead_letter_button = QPushButton("dead letters: 0", objectName="deadLetters")
        self.dead_letter_button.setFlat(True)
        self.dead_letter_button.setToolTip(
            "Events no one handled and subscribers that failed; click to inspect"
        )
        self.dead_letter_button.clicked.connect(self.dead_letters_requested)
        self.addPermanentWidget(self.mqtt_button)
        self.addPermanentWidget(self.audit_label)
        self.addPermanentWidget(self.dead_letter_button)
        self.addPermanentWidget(self.rate_label)
        self.subscriptions = Subscriptions(self)
        self.subscriptions.bind(
            rate_per_second(lambda: hub.published_count, scheduler), self._show_rate
        )
        self.subscriptions.bind(hub.select(CONNECTIONS_KEY), self._show_mqtt)
        self.subscriptions.bind(hub.select(AUDIT_STATUS_KEY), self._show_audit)

    def _show_rate(self, per_second: float) -> None:
        self.rate_label.setText(f"hub: {per_second:,.0f} events/s")
        total = self._hub.dead_letter_total
        failures = sum(1 for letter in self._hub.dead_letters if letter.reason != "no subscriber")
        self.dead_letter_button.setText(f"dead letters: {total:,}")
        _set_alarm(self.dead_letter_button, bool(failures))

    def _show_mqtt(self, connections: object) -> None:
        if not isinstance(connections, MqttConnections):
            return
        summary = connections.summary()
        self._focus = summary.focus or ""
        self.mqtt_button.setText(summary.text)
        self.mqtt_button.setToolTip(f"{summary.detail}\n\nClick to open the MQTT connections")
        _set_alarm(self.mqtt_button, summary.alarming)

    def _request_connection(self) -> None:
        self.connection_requested.emit(self._focus)

    def _show_audit(self, status: object) -> None:
        if not isinstance(status, AuditStatus):
            return  # a replayed value, not the service's
        size = f"{status.size_bytes / 1_048_576:,.1f} MB"
        text = f"audit: {status.recorded:,} this session · {status.total:,} in all · {size}"
        if status.pending:
            text += f" · {status.pending:,} pending"
        tip = (
            f"{status.recorded:,} records written to the tamper-evident audit log this session; "
            f"the log holds {status.total:,} records from every session ({size} on disk)"
        )
        if status.in_memory_reason:
            text = f"audit: in memory only · {status.recorded:,} this session"
            tip = f"The audit log could not be opened: {status.in_memory_reason}"
        elif status.error:
            text = f"audit: writes failing · {status.pending:,} pending"
            tip = f"Retrying: {status.error}"
        self.audit_label.setText(text)
        self.audit_label.setToolTip(tip)
        _set_alarm(self.audit_label, bool(status.in_memory_reason or status.error))


def _set_alarm(widget: QWidget, on: bool) -> None:
    """Switch the style sheet's ``alarming`` look of `widget`."""
    value = "true" if on else "false"
    if widget.property("alarming") != value:
        widget.setProperty("alarming", value)
        widget.style().polish(widget)
