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
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.manager import PluginManager, PluginRecord
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


def dock_name(plugin_id: str) -> str:
    """The object name of a plugin's dock (what the saved layout refers to)."""
    return f"plugin-dock:{plugin_id}"


class PluginDocks:
    """Opens a plugin's panel in a dock when it becomes active and removes it when it stops.

    `toggle(plugin_id)` is what choosing a plugin in the menu does: load it (which
    opens its dock), or show/hide the dock it already has.
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
        self.docks: dict[str, QDockWidget] = {}
        self.subscriptions = Subscriptions(window)
        self.subscriptions.bind(hub.on("plugin/+/state"), self._state_changed)
        self.subscriptions.bind(hub.on("plugin/+/haunt"), self._haunted)

    def toggle(self, plugin_id: str) -> None:
        """Load the plugin, or show/hide its dock if it is loaded already."""
        record = self._manager.records[plugin_id]
        dock = self.docks.get(plugin_id)
        if dock is not None:
            dock.setVisible(not dock.isVisible())
            if dock.isVisible():
                dock.raise_()
            self._on_docks_changed()
            return
        if record.state is PluginState.ACTIVE:
            if record.manifest.panel is None:
                self._tasks.run(
                    self._manager.deactivate(plugin_id, remember=True),
                    f"unload {record.manifest.name}",
                )
            else:
                self._open(record)
            return
        self._tasks.run(
            self._manager.activate(plugin_id, remember=True), f"load {record.manifest.name}"
        )

    def any_shown(self) -> bool:
        """Is any plugin panel on screen?"""
        return any(not dock.isHidden() for dock in self.docks.values())

    def _state_changed(self, event: SpectralEvent) -> None:
        plugin_id = event.topic.split("/")[1]
        record = self._manager.records.get(plugin_id)
        if record is None:
            return
        if record.state is PluginState.ACTIVE and plugin_id not in self.docks:
            self._open(record)
        elif record.state is not PluginState.ACTIVE and plugin_id in self.docks:
            self._close(plugin_id)

    def _open(self, record: PluginRecord) -> None:
        panel_spec = record.manifest.panel
        create_panel = getattr(record.instance, "create_panel", None)
        if panel_spec is None or not callable(create_panel):
            return
        dock = QDockWidget(panel_spec.title, self._window)
        dock.setObjectName(dock_name(record.id))
        dock.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        try:
            panel = create_panel(dock)
        except Exception as exc:
            log.error("plugin %s could not build its panel: %s", record.id, exc, exc_info=exc)
            panel = QLabel(f"{record.manifest.name} could not build its panel:\n{exc}")
            panel.setObjectName("panelError")
            panel.setWordWrap(True)
        if not isinstance(panel, QWidget):
            panel = QLabel(f"{record.manifest.name}: create_panel() returned {panel!r}")
        dock.setWidget(panel)
        if not self._window.restoreDockWidget(dock):
            self._window.addDockWidget(AREAS[panel_spec.area], dock)
            give_room(self._window, dock)
        dock.show()
        self.docks[record.id] = dock
        self._on_docks_changed()
        _animate_opacity(panel, [(0.0, 0.0), (1.0, 1.0)], FADE_IN_MS)

    def _close(self, plugin_id: str) -> None:
        dock = self.docks.pop(plugin_id)
        self._window.removeDockWidget(dock)
        dock.setParent(None)
        dock.deleteLater()
        self._on_docks_changed()

    def _haunted(self, event: SpectralEvent) -> None:
        dock = self.docks.get(event.topic.split("/")[1])
        if dock is not None and dock.widget() is not None and event.data.get("disturbance"):
            flicker = [(0.0, 1.0), (0.15, 0.2), (0.3, 1.0), (0.45, 0.35), (0.6, 1.0), (1.0, 1.0)]
            _animate_opacity(dock.widget(), flicker, FLICKER_MS)


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
