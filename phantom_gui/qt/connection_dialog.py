"""The MQTT connections window: each connection with its state; edit, test, save, remove,
connect and disconnect them."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from phantom_gui.core.hub import EventHub
from phantom_gui.mqtt.config import ConfigError, ConnectionConfig
from phantom_gui.mqtt.service import MqttService
from phantom_gui.mqtt.states import CONNECTIONS_KEY, MqttConnections, Status
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.mqtt_form import ConnectionForm, storage_sentence
from phantom_gui.qt.tasks import TaskRunner
from phantom_gui.qt.theme import ASH, BLOOD, ECTOPLASM

CONNECTION_ID_ROLE = Qt.ItemDataRole.UserRole
RETAINED_INTERVAL_MS = 1000
"""How often the window shows again what the selected connection keeps of retained messages."""
STATE_COLOURS = {Status.CONNECTED: ECTOPLASM, Status.FAILED: BLOOD, Status.RECONNECTING: BLOOD}
OUTCOME_STYLE = (
    f"QLabel {{ color: {ASH}; }} "
    f'QLabel[outcome="ok"] {{ color: {ECTOPLASM}; }} '
    f'QLabel[outcome="failed"] {{ color: {BLOOD}; }}'
)


class MqttConnectionsDialog(QDialog):
    """A non-modal window over the `MqttService`: it shows the connections' states as the
    hub's blackboard has them and acts through the service; the network work runs off the
    GUI thread."""

    def __init__(
        self,
        service: MqttService,
        hub: EventHub,
        tasks: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = tasks
        self._connections = MqttConnections()
        self._editing_new = False
        self.setWindowTitle("MQTT Connections — Phantom")
        self.resize(1100, 640)

        self.connection_list = QListWidget()
        self.connection_list.setSpacing(3)
        self.connection_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.connection_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.connection_list.currentItemChanged.connect(lambda *_: self._show_selected())
        self.new_button = QPushButton("New")
        self.remove_button = QPushButton("Remove")
        self.connect_button = QPushButton("Connect")
        self.disconnect_button = QPushButton("Disconnect")
        self.new_button.clicked.connect(self.new_connection)
        self.remove_button.clicked.connect(self._remove)
        self.connect_button.clicked.connect(self._connect)
        self.disconnect_button.clicked.connect(self._disconnect)
        list_buttons = QHBoxLayout()
        for button in (
            self.new_button,
            self.remove_button,
            self.connect_button,
            self.disconnect_button,
        ):
            list_buttons.addWidget(button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.connection_list, 1)
        left_layout.addLayout(list_buttons)

        self.state = QLabel(wordWrap=True, objectName="mqttState")
        self.retained = QLabel(wordWrap=True, objectName="mqttRetained")
        self.retained.setStyleSheet(f"QLabel {{ color: {ASH}; }}")
        self.form = ConnectionForm(service.store)
        self.result = QLabel(wordWrap=True, objectName="mqttResult")
        for label in (self.state, self.result):
            label.setStyleSheet(OUTCOME_STYLE)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_button = QPushButton("Test")
        self.test_button.setToolTip("Try these settings once, without saving them")
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.test_button.clicked.connect(self._test)
        self.save_button.clicked.connect(self._save)
        form_buttons = QHBoxLayout()
        form_buttons.addWidget(self.result, 1)
        form_buttons.addWidget(self.test_button)
        form_buttons.addWidget(self.save_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.state)
        right_layout.addWidget(self.retained)
        right_layout.addWidget(self.form, 1)
        right_layout.addLayout(form_buttons)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([280, 820])
        QVBoxLayout(self).addWidget(splitter)

        self.subscriptions = Subscriptions(self)
        self.subscriptions.bind(hub.select(CONNECTIONS_KEY), self._connections_changed)
        self.refresh()
        self.retained_clock = QTimer(self, interval=RETAINED_INTERVAL_MS)
        self.retained_clock.timeout.connect(self._show_retained)
        self.retained_clock.start()

    # -- the list -------------------------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        """List the connections again, selecting `select` (or the one selected before)."""
        select = select or self.selected_id()
        self.connection_list.blockSignals(True)
        self.connection_list.clear()
        for connection_id in self._connections.ids:
            item = QListWidgetItem()
            item.setData(CONNECTION_ID_ROLE, connection_id)
            self.connection_list.addItem(item)
            self._describe(item)
            if connection_id == select:
                self.connection_list.setCurrentItem(item)
        self.connection_list.blockSignals(False)
        if self.connection_list.currentItem() is not None:
            self._show_selected()
        elif self._editing_new:  # leave the new connection being filled in as it is
            self._enable_actions()
        elif self.connection_list.count():
            self.connection_list.setCurrentRow(0)
        else:
            self.new_connection()

    def select(self, connection_id: str) -> None:
        """Select connection `connection_id` in the list and show it (nothing if there is
        none)."""
        if connection_id in self._connections.ids:
            self.refresh(select=connection_id)

    def selected_id(self) -> str | None:
        """The id of the connection selected in the list."""
        item = self.connection_list.currentItem()
        return None if item is None else str(item.data(CONNECTION_ID_ROLE))

    def _describe(self, item: QListWidgetItem) -> None:
        connection_id = str(item.data(CONNECTION_ID_ROLE))
        state = self._connections.get(connection_id)
        if state is None:
            return
        session = "  (this session only)" if connection_id in self._connections.session_only else ""
        retry = "" if state.retry_in is None else f" in {state.retry_in:g} s"
        item.setText(f"{state.name}{session}\n{state.status}{retry} · {state.broker}")
        item.setToolTip(state.message)
        item.setIcon(_dot(STATE_COLOURS.get(state.status, ASH)))

    def _connections_changed(self, connections: object) -> None:
        if not isinstance(connections, MqttConnections):
            return
        previous, self._connections = self._connections, connections
        if (previous.ids, previous.session_only) != (connections.ids, connections.session_only):
            self.refresh()
            return
        for row in range(self.connection_list.count()):
            self._describe(self.connection_list.item(row))
        self._show_state()
        self._enable_actions()

    def _show_selected(self) -> None:
        selected = self.selected_id()
        if selected is not None:
            self._editing_new = False
            self.form.show_config(self._service.config(selected))
            self._show_result(None, "")
        self._show_state()
        self._enable_actions()

    def _show_state(self) -> None:
        selected = self.selected_id()
        state = None if selected is None else self._connections.get(selected)
        self._show_retained()
        if state is None:
            _show_outcome(self.state, None, "Not saved yet")
            return
        good = True if state.status is Status.CONNECTED else (False if state.troubled else None)
        _show_outcome(self.state, good, state.message)

    def _show_retained(self) -> None:
        selected = self.selected_id()
        if selected is None or not self._service.has(selected):
            self.retained.setText("")
            return
        self.retained.setText(self._service.retained(selected).sentence())

    def _enable_actions(self) -> None:
        selected = self.selected_id()
        state = None if selected is None else self._connections.get(selected)
        active = state is not None and state.active
        self.remove_button.setEnabled(selected is not None)
        self.connect_button.setEnabled(selected is not None and not active)
        self.disconnect_button.setEnabled(active)

    def new_connection(self) -> None:
        """Start a new profile in the form (saved by Save)."""
        self.connection_list.blockSignals(True)
        self.connection_list.setCurrentItem(None)
        self.connection_list.blockSignals(False)
        self._editing_new = True
        self.form.show_config(ConnectionConfig(name="New broker", host="localhost"))
        self._show_result(None, "A new connection: fill it in, then Test or Save.")
        self._show_state()
        self._enable_actions()
        self.form.name.setFocus()

    # -- actions ----------------------------------------------------------------------------

    def _valid_config(self) -> ConnectionConfig | None:
        try:
            return self.form.config()
        except ConfigError as error:
            self._show_result(False, str(error))
            return None

    def _test(self) -> None:
        config = self._valid_config()
        if config is None:
            return
        self.test_button.setEnabled(False)
        self._show_result(None, f"Testing {config.broker}…")
        self._tasks.run(self._run_test(config), "test the MQTT connection")

    async def _run_test(self, config: ConnectionConfig) -> None:
        try:
            check = await self._service.test(config)
        finally:
            self.test_button.setEnabled(True)
        self._show_result(check.ok, check.message if check.ok else f"Test failed: {check.message}")

    def _save(self) -> None:
        config = self._valid_config()
        if config is not None:
            self._tasks.run(self._run_save(config), f"save the MQTT connection {config.name}")

    async def _run_save(self, config: ConnectionConfig) -> None:
        storage = await self._service.save(config)
        self.refresh(select=config.id)
        self._show_result(True, f"Saved. {storage_sentence(storage, self._service.store)}")

    def _remove(self) -> None:
        selected = self.selected_id()
        if selected is not None:
            self._tasks.run(self._run_remove(selected), "remove the MQTT connection")

    async def _run_remove(self, connection_id: str) -> None:
        await self._service.remove(connection_id)
        self.refresh()

    def _connect(self) -> None:
        selected = self.selected_id()
        if selected is not None:
            self._service.connect(selected)

    def _disconnect(self) -> None:
        selected = self.selected_id()
        if selected is not None:
            self._tasks.run(self._service.disconnect(selected), "disconnect from the MQTT broker")

    def _show_result(self, ok: bool | None, text: str) -> None:
        _show_outcome(self.result, ok, text)


def _show_outcome(label: QLabel, ok: bool | None, text: str) -> None:
    """Show `text` in green (ok), red (not ok) or grey (None)."""
    label.setText(text)
    outcome = "" if ok is None else ("ok" if ok else "failed")
    if label.property("outcome") != outcome:
        label.setProperty("outcome", outcome)
        label.style().polish(label)


@cache
def _dot(colour: str) -> QIcon:
    """A round icon of `colour`, the state's mark in the list."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QIcon(pixmap)
