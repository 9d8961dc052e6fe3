"""The plugin manager dialog: manifests, dependencies, permissions, state, errors, actions."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.plugins.lifecycle import LOADABLE, PluginState
from phantom_gui.plugins.manager import PluginManager, PluginRecord
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.plugin_look import STATE_WORDS, state_icon
from phantom_gui.qt.tasks import TaskRunner

PLUGIN_ID_ROLE = Qt.ItemDataRole.UserRole


class PluginManagerDialog(QDialog):
    """A non-modal window over the plugin manager: inspect each plugin and act on it."""

    def __init__(
        self,
        manager: PluginManager,
        hub: EventHub,
        tasks: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._manager = manager
        self._tasks = tasks
        self.setWindowTitle("Haunt Packs — Phantom")
        self.resize(900, 560)

        self.plugin_list = QListWidget()
        self.plugin_list.currentItemChanged.connect(lambda *_: self._show_selected())
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.problems = QLabel(wordWrap=True, objectName="discoveryProblems")
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.load_button = QPushButton("Load")
        self.unload_button = QPushButton("Unload")
        self.reload_button = QPushButton("Reload")
        self.enable_button = QPushButton("Enable")
        self.disable_button = QPushButton("Disable")
        self.load_button.clicked.connect(lambda: self._act("load"))
        self.unload_button.clicked.connect(lambda: self._act("unload"))
        self.reload_button.clicked.connect(lambda: self._act("reload"))
        self.enable_button.clicked.connect(lambda: self._act("enable"))
        self.disable_button.clicked.connect(lambda: self._act("disable"))
        actions = QHBoxLayout()
        for button in (
            self.load_button,
            self.unload_button,
            self.reload_button,
            self.enable_button,
            self.disable_button,
        ):
            actions.addWidget(button)
        actions.addStretch(1)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.details, 1)
        right_layout.addLayout(actions)
        splitter = QSplitter()
        splitter.addWidget(self.plugin_list)
        splitter.addWidget(right)
        splitter.setSizes([260, 640])
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.problems)
        layout.addWidget(close)

        self.subscriptions = Subscriptions(self)
        self.subscriptions.bind(hub.on("plugin/#"), self._plugin_event)
        self.refresh()

    def refresh(self) -> None:
        """List every plugin and the discovery problems again, keeping the selection."""
        selected = self.selected_id()
        self.plugin_list.clear()
        for record in sorted(self._manager.records.values(), key=lambda r: r.manifest.name):
            item = QListWidgetItem(state_icon(record.state), self._label(record))
            item.setData(PLUGIN_ID_ROLE, record.id)
            self.plugin_list.addItem(item)
            if record.id == selected:
                self.plugin_list.setCurrentItem(item)
        if self.plugin_list.currentItem() is None and self.plugin_list.count():
            self.plugin_list.setCurrentRow(0)
        problems = self._manager.problems
        self.problems.setVisible(bool(problems))
        self.problems.setText(
            "<b>Found but not usable:</b><br>"
            + "<br>".join(escape(problem.message) for problem in problems)
        )
        self._show_selected()

    def selected_id(self) -> str | None:
        """The id of the plugin selected in the list."""
        item = self.plugin_list.currentItem()
        return None if item is None else str(item.data(PLUGIN_ID_ROLE))

    def select(self, plugin_id: str) -> None:
        """Select a plugin in the list."""
        for row in range(self.plugin_list.count()):
            if self.plugin_list.item(row).data(PLUGIN_ID_ROLE) == plugin_id:
                self.plugin_list.setCurrentRow(row)

    def _plugin_event(self, event: SpectralEvent) -> None:
        if event.topic.endswith("/state") or event.topic == "plugin/discovery":
            self.refresh()
        elif event.topic.split("/")[1] == self.selected_id():
            self._show_selected()

    def _label(self, record: PluginRecord) -> str:
        return f"{record.manifest.name}  ({STATE_WORDS[record.state]})"

    def _show_selected(self) -> None:
        plugin_id = self.selected_id()
        record = self._manager.records.get(plugin_id) if plugin_id else None
        buttons = {
            self.load_button: record is not None and record.state in LOADABLE,
            self.unload_button: record is not None and record.state is PluginState.ACTIVE,
            self.reload_button: record is not None and record.state is PluginState.ACTIVE,
            self.enable_button: record is not None and record.state is PluginState.DISABLED,
            self.disable_button: record is not None and record.state is not PluginState.DISABLED,
        }
        for button, enabled in buttons.items():
            button.setEnabled(enabled)
        self.details.setHtml("" if record is None else describe(record))

    def _act(self, action: str) -> None:
        plugin_id = self.selected_id()
        if plugin_id is None:
            return
        name = self._manager.records[plugin_id].manifest.name
        manager = self._manager
        if action == "enable":
            manager.enable(plugin_id)
            return
        coroutines = {
            "load": lambda: manager.activate(plugin_id, remember=True),
            "unload": lambda: manager.deactivate(plugin_id, remember=True),
            "reload": lambda: manager.reload(plugin_id),
            "disable": lambda: manager.disable(plugin_id),
        }
        self._tasks.run(coroutines[action](), f"{action} {name}")


def describe(record: PluginRecord) -> str:
    """A plugin's manifest, state and last error as HTML."""
    manifest = record.manifest
    rows = [
        ("Id", manifest.id),
        ("Version", manifest.version),
        ("Author", manifest.author or "—"),
        ("Origin", f"{record.discovered.origin}: {record.discovered.manifest_path}"),
        ("Entry", manifest.entry),
        ("State", record.state.value),
        ("Load attempts", str(record.load_attempts)),
        ("Dependencies", ", ".join(manifest.dependencies) or "none"),
        ("Permissions", ", ".join(manifest.permissions) or "none"),
        ("Consumes", ", ".join(manifest.consumes) or "nothing"),
        ("Haunts", f"p = {manifest.haunt_probability:g} per tick, {record.haunts} so far"),
        ("Spookiness", manifest.spookiness_level),
        ("Isolation", manifest.isolation),
        ("Panel", f"{manifest.panel.title} ({manifest.panel.area})" if manifest.panel else "none"),
    ]
    table = "".join(
        f"<tr><td style='color:#8d84a0;padding-right:12px'>{escape(key)}</td>"
        f"<td>{escape(value)}</td></tr>"
        for key, value in rows
    )
    html = (
        f"<h2 style='color:#ff7a1a'>{escape(manifest.name)}</h2>"
        f"<p>{escape(manifest.description)}</p><table>{table}</table>"
    )
    if record.error:
        html += f"<h3 style='color:#e0344a'>Last error</h3><p>{escape(record.error)}</p>"
    if record.traceback:
        html += f"<pre style='color:#8d84a0'>{escape(record.traceback)}</pre>"
    return html
