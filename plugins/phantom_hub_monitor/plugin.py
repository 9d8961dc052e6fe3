"""The Hub Monitor plugin: records every hub event it may see into a `MonitorModel`."""

from __future__ import annotations

from typing import Any

from phantom_gui.plugins.context import PluginContext
from phantom_gui.plugins.contract import Plugin
from phantom_hub_monitor.model import MonitorModel


class HubMonitor(Plugin):
    """Hub Monitor: a live, filterable table of recent hub events."""

    def __init__(self) -> None:
        self.model = MonitorModel()

    def init(self, context: PluginContext) -> None:
        """Observe every topic; the subscription ends when the plugin is torn down."""
        super().init(context)
        context.hub.on("#").subscribe(self.model.record)

    def create_panel(self, parent: Any) -> Any:
        """The monitor's QWidget (Qt is imported only here)."""
        from phantom_hub_monitor._qt.panel import HubMonitorPanel

        return HubMonitorPanel(self.model, parent)

    def snapshot(self) -> dict[str, Any]:
        """The filter and pause state, kept across a hot reload."""
        return {"filter": self.model.pattern, "paused": self.model.paused}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `snapshot` kept."""
        self.model.set_pattern(state.get("filter", ""))
        self.model.paused = bool(state.get("paused", False))
