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

from phantom_gui.core.hub import EventHub
from phantom_gui.core.resilience import BreakerState
from phantom_gui.plugins.discovery import DiscoveryNote
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.manager import PluginManager
from phantom_gui.plugins.status import PLUGIN_STATUSES, PluginStatus, PluginStatuses
from phantom_gui.qt.bindings import Subscriptions
from phantom_gui.qt.plugin_look import STATE_WORDS, state_icon
from phantom_gui.qt.tasks import TaskRunner

PLUGIN_ID_ROLE = Qt.ItemDataRole.UserRole
ISOLATION_WORDS = {
    "inline": "inside the app",
    "process": "in a process of its own (a crash cannot take the app down)",
}


class PluginManagerDialog(QDialog):
    """A non-modal window over the plugins' statuses: inspect each plugin and act on it
    (through the manager, by plugin id)."""

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
        self._statuses = PluginStatuses()
        self._shown_html: str | None = None
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
        self.subscriptions.bind(hub.select(PLUGIN_STATUSES), self._statuses_changed)
        self.refresh()

    def refresh(self) -> None:
        """List every plugin and the discovery problems again, keeping the selection."""
        selected = self.selected_id()
        self.plugin_list.blockSignals(True)
        self.plugin_list.clear()
        for status in sorted(self._statuses.plugins, key=lambda status: status.name):
            item = QListWidgetItem(state_icon(status.state), self._label(status))
            item.setData(PLUGIN_ID_ROLE, status.id)
            self.plugin_list.addItem(item)
            if status.id == selected:
                self.plugin_list.setCurrentItem(item)
        if self.plugin_list.currentItem() is None and self.plugin_list.count():
            self.plugin_list.setCurrentRow(0)
        self.plugin_list.blockSignals(False)
        notes = describe_discovery(self._statuses.problems, self._statuses.warnings)
        self.problems.setVisible(bool(notes))
        self.problems.setText(notes)
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

    def _statuses_changed(self, statuses: object) -> None:
        if isinstance(statuses, PluginStatuses):
            self._statuses = statuses
            self.refresh()

    def _label(self, status: PluginStatus) -> str:
        return f"{status.name}  ({STATE_WORDS[status.state]})"

    def _show_selected(self) -> None:
        plugin_id = self.selected_id()
        status = self._statuses.get(plugin_id) if plugin_id else None
        state = status.state if status else None
        buttons = {
            self.load_button: status is not None and status.loadable,
            self.unload_button: state is PluginState.ACTIVE,
            self.reload_button: state is PluginState.ACTIVE,
            self.enable_button: state is PluginState.DISABLED,
            self.disable_button: status is not None and state is not PluginState.DISABLED,
        }
        for button, enabled in buttons.items():
            button.setEnabled(enabled)
        html = "" if status is None else describe(status, self._statuses.haunt_period_s)
        if html != self._shown_html:
            self._shown_html = html
            self.details.setHtml(html)

    def _act(self, action: str) -> None:
        plugin_id = self.selected_id()
        status = self._statuses.get(plugin_id) if plugin_id else None
        if plugin_id is None or status is None:
            return
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
        self._tasks.run(coroutines[action](), f"{action} {status.name}")


def describe(status: PluginStatus, haunt_period_s: float | None) -> str:
    """A plugin's manifest, state and last error as HTML, in plain words."""
    rows = [
        ("Id", status.id),
        ("Version", status.version),
        ("Author", status.author or "—"),
        ("State", state_words(status)),
        ("Load attempts", str(status.load_attempts)),
        ("Needs", ", ".join(status.dependencies) or "no other plugin"),
        ("Needed by", ", ".join(status.dependants) or "no other plugin"),
        ("Permissions", ", ".join(status.permissions) or "none"),
        ("Listens to", ", ".join(status.consumes) or "nothing"),
        ("Haunts", haunt_words(status.haunt_probability, haunt_period_s, status.haunts)),
        ("Spookiness", status.spookiness),
        ("Runs", ISOLATION_WORDS.get(status.isolation, status.isolation)),
        ("Panel", panel_words(status)),
        ("Event handling", breaker_words(status)),
        ("Code", status.entry),
        ("Found", f"{status.origin}: {status.manifest_path}"),
    ]
    table = "".join(
        f"<tr><td style='color:#8d84a0;padding-right:12px'>{escape(key)}</td>"
        f"<td>{escape(value)}</td></tr>"
        for key, value in rows
    )
    html = (
        f"<h2 style='color:#ff7a1a'>{escape(status.name)}</h2>"
        f"<p>{escape(status.description)}</p><table>{table}</table>"
    )
    if status.error:
        html += f"<h3 style='color:#e0344a'>Last error</h3><p>{escape(status.error)}</p>"
    if status.traceback:
        html += f"<pre style='color:#8d84a0'>{escape(status.traceback)}</pre>"
    return html


def state_words(status: PluginStatus) -> str:
    """Where the plugin stands, and what that means for the user."""
    meaning = {
        PluginState.DISCOVERED: "found; its dependencies are being checked",
        PluginState.RESOLVED: "ready to load",
        PluginState.LOADING: "loading…",
        PluginState.ACTIVE: "running",
        PluginState.STOPPING: "stopping…",
        PluginState.STOPPED: "stopped; it can be loaded again",
        PluginState.FAILED: "failed (see the error below); it can be loaded again",
        PluginState.DISABLED: "disabled; it stays off until enabled",
    }
    return meaning[status.state]


def haunt_words(probability: float, period_s: float | None, haunts: int) -> str:
    """How often a plugin haunts, and how often it did, in plain words."""
    if probability <= 0:
        return "never (haunt probability 0)"
    tick = f"every {period_s:g} s" if period_s else "at each haunt tick"
    if probability >= 1:
        chance = f"at every haunt tick ({tick})" if period_s else "at every haunt tick"
    else:
        odds = 1 / probability
        if abs(odds - round(odds)) < 1e-6:
            chance = f"1 chance in {round(odds)} {tick}"
        else:
            chance = f"{probability:.0%} chance {tick}"
    done = {0: "has not haunted yet", 1: "haunted once"}.get(haunts, f"haunted {haunts} times")
    return f"{chance}; {done} this session"


def panel_words(status: PluginStatus) -> str:
    """Where the plugin's panel opens, or that it has none."""
    panel = status.panel
    if panel is None:
        return "none"
    where = f"“{panel.title}”, docked {panel.area}"
    return f"{where}, listed under Haunt Packs › {panel.menu_path}" if panel.menu_path else where


def breaker_words(status: PluginStatus) -> str:
    """Whether the plugin's process() is being called, or paused after repeated failures."""
    if status.breaker is BreakerState.OPEN:
        return "paused after repeated failures; one event is let through again after a pause"
    if status.breaker is BreakerState.HALF_OPEN:
        return "trying one event after a pause"
    if status.breaker_trips:
        paused = "once" if status.breaker_trips == 1 else f"{status.breaker_trips} times"
        return f"normal (paused {paused} after repeated failures)"
    return "normal"


def describe_discovery(
    problems: tuple[DiscoveryNote, ...], warnings: tuple[DiscoveryNote, ...]
) -> str:
    """The manifests found but not usable, and those found with a warning, as HTML."""
    parts = []
    if problems:
        parts.append(
            "<b>Found but not usable:</b><br>"
            + "<br>".join(escape(problem.message) for problem in problems)
        )
    if warnings:
        parts.append(
            "<b>Found with a warning:</b><br>"
            + "<br>".join(escape(warning.message) for warning in warnings)
        )
    return "<br>".join(parts)
