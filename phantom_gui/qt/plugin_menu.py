"""The Haunt Packs menu: every discovered plugin with its state and permissions."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from phantom_gui.core.hub import EventHub
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.status import PLUGIN_STATUSES, PluginStatus, PluginStatuses
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.plugin_look import STATE_WORDS, state_icon


class HauntPacksMenu(QMenu):
    """A view of the plugins' statuses (``hub.select(PLUGIN_STATUSES)``); choosing a plugin
    calls `on_choose(id)`."""

    def __init__(
        self,
        hub: EventHub,
        on_choose: Callable[[str], None],
        on_manage: Callable[[], None],
        is_shown: Callable[[str], bool],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("&Haunt Packs", parent)
        self._on_choose = on_choose
        self._on_manage = on_manage
        self._is_shown = is_shown
        self._statuses = PluginStatuses()
        self.plugin_actions: dict[str, QAction] = {}
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self._refresh_checks)
        self.rebuild()
        self.subscriptions = Subscriptions(self)
        self.subscriptions.bind(hub.select(PLUGIN_STATUSES), self._statuses_changed)

    def rebuild(self) -> None:
        """Build the menu again from the last statuses."""
        self.clear()
        self.plugin_actions = {}
        statuses = sorted(self._statuses.plugins, key=_menu_order)
        submenus: dict[str, QMenu] = {}
        for status in statuses:
            path = status.panel.menu_path if status.panel else ""
            menu: QMenu = self
            if path:
                if path not in submenus:
                    submenus[path] = self.addMenu(path)
                    submenus[path].setToolTipsVisible(True)
                menu = submenus[path]
            action = QAction(self)
            action.setCheckable(True)
            action.triggered.connect(lambda _=False, pid=status.id: self._on_choose(pid))
            menu.addAction(action)
            self.plugin_actions[status.id] = action
            self._describe(status, action)
        if not statuses:
            none_found = self.addAction("No haunt packs found")
            none_found.setEnabled(False)
        self.addSeparator()
        for count, what in (
            (len(self._statuses.problems), "problem"),
            (len(self._statuses.warnings), "warning"),
        ):
            if count:
                notice = self.addAction(f"{count} plugin {what}{'s' if count != 1 else ''} found…")
                notice.triggered.connect(self._on_manage)
        self.addAction("&Manage Haunt Packs…", self._on_manage)

    def _statuses_changed(self, statuses: object) -> None:
        if not isinstance(statuses, PluginStatuses):
            return
        before, self._statuses = self._statuses, statuses
        if _layout(before) != _layout(statuses):
            self.rebuild()
            return
        for status in statuses.plugins:
            if status != before.get(status.id):
                self._describe(status, self.plugin_actions[status.id])

    def _describe(self, status: PluginStatus, action: QAction) -> None:
        action.setText(f"{status.name}\t{STATE_WORDS[status.state]}")
        action.setIcon(state_icon(status.state))
        action.setEnabled(status.state not in (PluginState.DISABLED, PluginState.LOADING))
        permissions = ", ".join(status.permissions) or "none"
        lines = [
            f"<b>{escape(status.name)}</b> {escape(status.version)}",
            escape(status.description) if status.description else "",
            f"State: {status.state.value}",
            f"Permissions: {escape(permissions)}",
        ]
        if status.error:
            lines.append(f"<span style='color:#e0344a'>Error: {escape(status.error)}</span>")
        if status.state is PluginState.DISABLED:
            lines.append("Enable it in Manage Haunt Packs to load it.")
        action.setToolTip("<br>".join(line for line in lines if line))
        action.setChecked(status.active and self._is_shown(status.id))

    def _refresh_checks(self) -> None:
        for status in self._statuses.plugins:
            self.plugin_actions[status.id].setChecked(status.active and self._is_shown(status.id))


def _layout(statuses: PluginStatuses) -> tuple[object, ...]:
    """What decides the menu's entries: the plugins, their names and submenus, the notices."""
    return (
        tuple((status.id, status.name, status.panel) for status in statuses.plugins),
        len(statuses.problems),
        len(statuses.warnings),
    )


def _menu_order(status: PluginStatus) -> tuple[str, str]:
    """Submenus in alphabetical order of their path, plugins by name within each."""
    return ((status.panel.menu_path if status.panel else "").lower(), status.name.lower())
