"""Plugin panels as dock widgets: one dock per active plugin, never a duplicate."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEasingCurve, QPropertyAnimation, Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QGraphicsOpacityEffect,
    QLabel,
    QMainWindow,
    QWidget,
)

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.plugins.manager import PluginManager
from phantom_gui.plugins.status import PLUGIN_STATUSES, Haunting, PluginStatus, PluginStatuses
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.default_sizes import give_room
from phantom_gui.qt.tasks import TaskRunner

log = logging.getLogger("phantom.qt.docks")

AREAS = {
    "left": Qt.DockWidgetArea.LeftDockWidgetArea,
    "right": Qt.DockWidgetArea.RightDockWidgetArea,
    "top": Qt.DockWidgetArea.TopDockWidgetArea,
    "bottom": Qt.DockWidgetArea.BottomDockWidgetArea,
}
FADE_IN_MS = 350
FLICKER_MS = 900
FLICKER = [(0.0, 1.0), (0.15, 0.2), (0.3, 1.0), (0.45, 0.35), (0.6, 1.0), (1.0, 1.0)]


def dock_name(plugin_id: str) -> str:
    """The object name of a plugin's dock (what the saved layout refers to)."""
    return f"plugin-dock:{plugin_id}"


class PluginDocks:
    """Opens a plugin's panel in a dock when it becomes active and removes it when it stops.

    A view of the plugins' statuses: it asks the manager for a panel by plugin id, and
    `toggle(plugin_id)` (choosing a plugin in the menu) loads the plugin, which opens
    its dock, or shows/hides the dock it already has.
    """

    def __init__(
        self,
        window: QMainWindow,
        manager: PluginManager,
        hub: EventHub,
        tasks: TaskRunner,
        on_docks_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self._window = window
        self._on_docks_changed = on_docks_changed
        self._manager = manager
        self._tasks = tasks
        self._statuses = PluginStatuses()
        self.docks: dict[str, QDockWidget] = {}
        self.subscriptions = Subscriptions(window)
        self.subscriptions.bind(hub.select(PLUGIN_STATUSES), self._statuses_changed)
        self.subscriptions.bind(hub.on("plugin/+/haunt"), self._haunted)

    def toggle(self, plugin_id: str) -> None:
        """Load the plugin, or show/hide its dock if it is loaded already."""
        status = self._statuses.get(plugin_id)
        dock = self.docks.get(plugin_id)
        if dock is not None:
            dock.setVisible(not dock.isVisible())
            if dock.isVisible():
                dock.raise_()
            self._on_docks_changed()
            return
        if status is None:
            return
        if status.active:
            if status.panel is None:
                self._tasks.run(
                    self._manager.deactivate(plugin_id, remember=True), f"unload {status.name}"
                )
            else:
                self._open(status)
            return
        self._tasks.run(self._manager.activate(plugin_id, remember=True), f"load {status.name}")

    def any_shown(self) -> bool:
        """Is any plugin panel on screen?"""
        return any(not dock.isHidden() for dock in self.docks.values())

    def _statuses_changed(self, statuses: object) -> None:
        if not isinstance(statuses, PluginStatuses):
            return
        self._statuses = statuses
        for status in statuses.plugins:
            if self._statuses is not statuses:
                return  # a newer picture arrived while a panel was built, and was shown
            if status.active and status.id not in self.docks:
                self._open(status)
            elif not status.active and status.id in self.docks:
                self._close(status.id)

    def _open(self, status: PluginStatus) -> None:
        if status.panel is None:
            return
        dock = QDockWidget(status.panel.title, self._window)
        dock.setObjectName(dock_name(status.id))
        dock.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.docks[status.id] = dock
        try:
            panel = self._manager.create_panel(status.id, dock)
        except Exception as exc:
            log.error("plugin %s could not build its panel: %s", status.id, exc, exc_info=exc)
            panel = QLabel(f"{status.name} could not build its panel:\n{exc}")
            panel.setObjectName("panelError")
            panel.setWordWrap(True)
        if not isinstance(panel, QWidget):
            panel = QLabel(f"{status.name}: create_panel() returned {panel!r}")
        dock.setWidget(panel)
        if not self._window.restoreDockWidget(dock):
            self._window.addDockWidget(AREAS[status.panel.area], dock)
            give_room(self._window, dock)
        dock.show()
        self._on_docks_changed()
        _animate_opacity(panel, [(0.0, 0.0), (1.0, 1.0)], FADE_IN_MS)

    def _close(self, plugin_id: str) -> None:
        dock = self.docks.pop(plugin_id)
        self._window.removeDockWidget(dock)
        dock.setParent(None)
        dock.deleteLater()
        self._on_docks_changed()

    def _haunted(self, event: SpectralEvent) -> None:
        haunting = event.data
        if not isinstance(haunting, Haunting) or not haunting.disturbance:
            return
        dock = self.docks.get(haunting.plugin_id)
        if dock is not None and dock.widget() is not None:
            _animate_opacity(dock.widget(), FLICKER, FLICKER_MS)


def _animate_opacity(widget: QWidget, key_values: list[tuple[float, float]], ms: int) -> None:
    """Animate `widget`'s opacity through `key_values`, then take the effect off again."""
    effect = QGraphicsOpacityEffect(widget)
    widget.setGraphicsEffect(effect)
    animation = QPropertyAnimation(effect, b"opacity", widget)
    animation.setDuration(ms)
    animation.setEasingCurve(QEasingCurve.Type.InOutQuad)
    for step, value in key_values:
        animation.setKeyValueAt(step, value)
    animation.finished.connect(lambda: widget.setGraphicsEffect(None))
    animation.start(QPropertyAnimation.DeletionPolicy.DeleteWhenStopped)
