"""The main window: menus, status bar, notifications and the (empty) realm for docks."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from phantom_gui import __version__
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.scheduling import loop_scheduler
from phantom_gui.core.settings import SettingsModel, same_fields
from phantom_gui.core.unhandled import ERROR_TOPIC
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.connection_dialog import MqttConnectionsDialog
from phantom_gui.qt.copyable_text import CopyableTextDialog
from phantom_gui.qt.dead_letters import DeadLetterDialog
from phantom_gui.qt.default_sizes import first_run_geometry
from phantom_gui.qt.docks import PluginDocks
from phantom_gui.qt.notifications import NotificationArea
from phantom_gui.qt.plugin_manager import PluginManagerDialog
from phantom_gui.qt.plugin_menu import HauntPacksMenu
from phantom_gui.qt.status_bar import HubStatusBar
from phantom_gui.qt.tasks import TaskRunner
from phantom_gui.qt.theme import app_icon
from phantom_gui.qt.user_guide import UserGuideDialog
from phantom_gui.runtime import WARNING_TOPIC, Services


class WindowSettings(SettingsModel):
    """The main window's geometry and dock layout, as Qt saves them (base64)."""

    SECTION = "window"
    MIGRATIONS = (same_fields,)  # 0 → 1: the flat keys window/geometry and window/state

    geometry: str | None = None
    state: str | None = None


class EmptyRealm(QWidget):
    """What the window shows while no haunt pack has a panel open."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        ghost = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        ghost.setPixmap(app_icon().pixmap(128, 128))
        title = QLabel("The realm is quiet", objectName="emptyRealmTitle")
        hint = QLabel(
            "Summon a haunt pack from the Haunt Packs menu to open its panel.",
            objectName="emptyRealmHint",
        )
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for label in (ghost, title, hint):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
        layout.addStretch(2)


class MainWindow(QMainWindow):
    """Phantom's main window, a view of the run's `Services`."""

    closed = Signal()

    def __init__(
        self,
        services: Services,
        loop: asyncio.AbstractEventLoop,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self.setObjectName("phantomMainWindow")
        self.setWindowTitle("Phantom")
        self.setWindowIcon(app_icon())
        self.setDockNestingEnabled(True)
        self.setCentralWidget(EmptyRealm())
        self.hub_status = HubStatusBar(services.hub, loop_scheduler(loop))
        self.hub_status.dead_letters_requested.connect(self.show_dead_letters)
        self.hub_status.connection_requested.connect(self.show_mqtt_connection)
        self.setStatusBar(self.hub_status)
        self.notifications = NotificationArea(self)
        self.tasks = TaskRunner(loop, self._task_failed)
        self.plugin_docks = PluginDocks(
            self, services.plugins, services.hub, self.tasks, self._docks_changed
        )
        self.dead_letter_dialog: DeadLetterDialog | None = None
        self.plugin_dialog: PluginManagerDialog | None = None
        self.mqtt_dialog: MqttConnectionsDialog | None = None
        self.about_box: QMessageBox | None = None
        self.user_guide: UserGuideDialog | None = None
        self.log_folder_dialog: CopyableTextDialog | None = None
        self._build_menus()
        self.subscriptions = Subscriptions(self)
        self.subscriptions.bind(services.hub.on(ERROR_TOPIC), self._show_error)
        for message in services.warnings:
            self.notifications.notify("Warning", message, severity="warning")
        self.subscriptions.bind(services.hub.on(WARNING_TOPIC), self._show_warning)
        self._restore_layout()

    # -- menus --------------------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.file_menu.addAction(self._action("&MQTT Connections…", self.show_mqtt_connections))
        self.file_menu.addSeparator()
        self.file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        self.haunt_menu = HauntPacksMenu(
            self._services.hub,
            on_choose=self.plugin_docks.toggle,
            on_manage=self.show_plugin_manager,
            is_shown=lambda pid: (
                pid in self.plugin_docks.docks and self.plugin_docks.docks[pid].isVisible()
            ),
            parent=self,
        )
        bar.addMenu(self.haunt_menu)

        self.view_menu = bar.addMenu("&View")
        status = self._action("Status &Bar", self.statusBar().setVisible)
        status.setCheckable(True)
        status.setChecked(True)
        self.view_menu.addAction(status)
        full_screen = self._action("&Full Screen", self._toggle_full_screen, "F11")
        full_screen.setCheckable(True)
        self.view_menu.addAction(full_screen)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self._action("&Dead Letters…", self.show_dead_letters))

        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(
            self._action("&User Guide", self.show_user_guide, QKeySequence.StandardKey.HelpContents)
        )
        self.help_menu.addAction(self._action("Open &Log Folder", self.open_log_folder))
        self.help_menu.addSeparator()
        self.help_menu.addAction(self._action("&About Phantom", self.show_about))

    def _action(self, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if slot is not None:
            action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(shortcut)
        return action

    def _toggle_full_screen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def open_log_folder(self) -> None:
        """Open the log folder in the file manager; where there is none, show its path in a
        small window with a Copy button."""
        folder = str(self._services.paths.log_dir)
        if QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
            return
        if self.log_folder_dialog is None:
            self.log_folder_dialog = CopyableTextDialog(
                "Log Folder",
                "No file manager could open the log folder. It is here:",
                folder,
                self,
            )
        self.log_folder_dialog.show()
        self.log_folder_dialog.raise_()

    def show_user_guide(self) -> None:
        """Open (or raise) the user guide shipped with Phantom."""
        if self.user_guide is None:
            self.user_guide = UserGuideDialog(self)
        self.user_guide.show()
        self.user_guide.raise_()

    def show_about(self) -> None:
        """Open the About box without blocking the loop."""
        box = QMessageBox(self)
        box.setWindowTitle("About Phantom")
        box.setIconPixmap(app_icon().pixmap(72, 72))
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(
            f"<h2>Phantom {__version__}</h2>"
            "<p>Live, slightly spooky simulations on a reactive event hub.</p>"
            f"<p>Data: <code>{self._services.paths.data_dir}</code><br>"
            f"Log: <code>{self._services.log_file}</code></p>"
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.about_box = box

    def show_plugin_manager(self) -> None:
        """Open (or raise) the plugin manager dialog."""
        if self.plugin_dialog is None:
            self.plugin_dialog = PluginManagerDialog(
                self._services.plugins, self._services.hub, self.tasks, self
            )
        self.plugin_dialog.refresh()
        self.plugin_dialog.show()
        self.plugin_dialog.raise_()

    def show_mqtt_connections(self) -> None:
        """Open (or raise) the MQTT connections window."""
        if self.mqtt_dialog is None:
            self.mqtt_dialog = MqttConnectionsDialog(
                self._services.mqtt, self._services.hub, self.tasks, self
            )
        self.mqtt_dialog.show()
        self.mqtt_dialog.raise_()

    def show_mqtt_connection(self, connection_id: str) -> None:
        """Open (or raise) the MQTT connections window on connection `connection_id` (as
        it opens when the id is empty)."""
        self.show_mqtt_connections()
        if connection_id and self.mqtt_dialog is not None:
            self.mqtt_dialog.select(connection_id)

    def _docks_changed(self) -> None:
        """The quiet-realm hint only shows while no panel is open."""
        self.centralWidget().setVisible(not self.plugin_docks.any_shown())

    def _task_failed(self, what: str, error: BaseException) -> None:
        self.notifications.notify(
            f"Could not {what}",
            str(error),
            details=self._with_log_file("".join(traceback.format_exception(error))),
        )

    def _with_log_file(self, details: str) -> str:
        return f"{details.rstrip()}\n\nThe log: {self._services.log_file}"

    def show_dead_letters(self) -> None:
        """Open (or raise and refresh) the dead-letter window."""
        if self.dead_letter_dialog is None:
            self.dead_letter_dialog = DeadLetterDialog(self._services.hub, self)
        self.dead_letter_dialog.refresh()
        self.dead_letter_dialog.show()
        self.dead_letter_dialog.raise_()

    # -- notifications ------------------------------------------------------------------

    def _show_error(self, event: SpectralEvent) -> None:
        data = event.data
        self.notifications.notify(
            f"{data['error']}: {data['message']}",
            f"Phantom kept running. Details in {data['log_file'] or 'the log'}",
            details=self._with_log_file(f"In {data['where']}:\n{data['traceback']}"),
        )

    def _show_warning(self, event: SpectralEvent) -> None:
        self.notifications.notify("Warning", event.data["message"], severity="warning")

    # -- layout persistence -------------------------------------------------------------

    def _restore_layout(self) -> None:
        saved = self._services.settings.load(WindowSettings)
        geometry = saved.geometry
        if not geometry or not self.restoreGeometry(QByteArray.fromBase64(geometry.encode())):
            self.setGeometry(first_run_geometry(self.screen().availableGeometry()))
        if saved.state:
            self.restoreState(QByteArray.fromBase64(saved.state.encode()))

    def save_layout(self) -> None:
        """Remember the window's geometry and dock layout for the next run."""
        self._services.settings.save(
            WindowSettings(
                geometry=bytes(self.saveGeometry().toBase64()).decode(),
                state=bytes(self.saveState().toBase64()).decode(),
            )
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the layout and tell the app the window is gone."""
        self.save_layout()
        event.accept()
        self.closed.emit()

    def dispose(self) -> None:
        """Stop every subscription of the window and its status bar."""
        self.subscriptions.dispose()
        self.hub_status.subscriptions.dispose()
        self.haunt_menu.subscriptions.dispose()
        self.plugin_docks.subscriptions.dispose()
        if self.plugin_dialog is not None:
            self.plugin_dialog.subscriptions.dispose()
        if self.mqtt_dialog is not None:
            self.mqtt_dialog.subscriptions.dispose()
