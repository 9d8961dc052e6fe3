"""The Haunt Packs menu: every discovered plugin with its state and permissions."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.manager import PluginManager, PluginRecord
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.plugin_look import STATE_WORDS, state_icon


class HauntPacksMenu(QMenu):
    """A view of the plugin manager's records; choosing a plugin calls `on_choose(id)`."""

    def __init__(
        self,
        manager: PluginManager,
        hub: EventHub,
        on_choose: Callable[[str], None],
        on_manage: Callable[[], None],
        is_shown: Callable[[str], bool],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("&Haunt Packs", parent)
        self._manager = manager
        self._on_choose = on_choose
        self._on_manage = on_manage
        self._is_shown = is_shown
        self.plugin_actions: dict[str, QAction] = {}
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self._refresh_checks)
        self.subscriptions = Subscriptions(self)
        self.subscriptions.bind(hub.on("plugin/discovery"), lambda _: self.rebuild())
        self.subscriptions.bind(hub.on("plugin/+/state"), self._state_changed)
        self.rebuild()

    def rebuild(self) -> None:
        """Build the menu again from the manager's records."""
        self.clear()
        self.plugin_actions = {}
        records = sorted(self._manager.records.values(), key=_menu_order)
        submenus: dict[str, QMenu] = {}
        for record in records:
            path = record.manifest.panel.menu_path if record.manifest.panel else ""
            menu: QMenu = self
            if path:
                if path not in submenus:
                    submenus[path] = self.addMenu(path)
                    submenus[path].setToolTipsVisible(True)
                menu = submenus[path]
            action = QAction(self)
            action.setCheckable(True)
            action.triggered.connect(lambda _=False, pid=record.id: self._on_choose(pid))
            menu.addAction(action)
            self.plugin_actions[record.id] = action
            self._describe(record, action)
        if not records:
            none_found = self.addAction("No haunt packs found")
            none_found.setEnabled(False)
        self.addSeparator()
        problems = len(self._manager.problems)
        if problems:
            warning = self.addAction(
                f"{problems} plugin problem{'s' if problems != 1 else ''} found…"
            )
            warning.triggered.connect(self._on_manage)
        self.addAction("&Manage Haunt Packs…", self._on_manage)

    def _state_changed(self, event: SpectralEvent) -> None:
        plugin_id = event.topic.split("/")[1]
        record = self._manager.records.get(plugin_id)
        action = self.plugin_actions.get(plugin_id)
        if record is None or action is None:
            self.rebuild()
            return
        self._describe(record, action)

    def _describe(self, record: PluginRecord, action: QAction) -> None:
        manifest = record.manifest
        action.setText(f"{manifest.name}\t{STATE_WORDS[record.state]}")
        action.setIcon(state_icon(record.state))
        action.setEnabled(record.state not in (PluginState.DISABLED, PluginState.LOADING))
        permissions = ", ".join(manifest.permissions) or "none"
        lines = [
            f"<b>{escape(manifest.name)}</b> {escape(manifest.version)}",
            escape(manifest.description) if manifest.description else "",
            f"State: {record.state.value}",
            f"Permissions: {escape(permissions)}",
        ]
        if record.error:
            lines.append(f"<span style='color:#e0344a'>Error: {escape(record.error)}</span>")
        if record.state is PluginState.DISABLED:
            lines.append("Enable it in Manage Haunt Packs to load it.")
        action.setToolTip("<br>".join(line for line in lines if line))
        action.setChecked(record.state is PluginState.ACTIVE and self._is_shown(record.id))

    def _refresh_checks(self) -> None:
        for plugin_id, action in self.plugin_actions.items():
            record = self._manager.records[plugin_id]
            action.setChecked(record.state is PluginState.ACTIVE and self._is_shown(plugin_id))


def _menu_order(record: PluginRecord) -> tuple[str, str]:
    """Submenus in alphabetical order of their path, plugins by name within each."""
    panel = record.manifest.panel
    return ((panel.menu_path if panel else "").lower(), record.manifest.name.lower())
