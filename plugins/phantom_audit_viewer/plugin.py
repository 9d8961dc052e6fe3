"""The Audit Log plugin: a window onto the audit log, with verify, export and replay."""

from __future__ import annotations

from typing import Any

from phantom_audit_viewer.model import AuditViewerModel
from phantom_gui.audit.service import AUDIT_STATUS_KEY
from phantom_gui.plugins.context import PluginContext
from phantom_gui.plugins.contract import Plugin


class AuditViewer(Plugin):
    """Audit Log: the whole log in a virtual table, filtered, verified, exported, replayed."""

    model: AuditViewerModel

    def init(self, context: PluginContext) -> None:
        """Take the audit service (granted by the `audit` permission) and the scheduler."""
        super().init(context)
        self.model = AuditViewerModel(
            context.service("audit"), context.scheduler, context.hub.select(AUDIT_STATUS_KEY)
        )

    def create_panel(self, parent: Any) -> Any:
        """The viewer's QWidget (Qt is imported only here)."""
        from phantom_audit_viewer._qt.panel import AuditViewerPanel

        return AuditViewerPanel(self.model, parent)

    def snapshot(self) -> dict[str, Any]:
        """The filters and the live-tail flag, kept across a hot reload."""
        return self.model.snapshot()

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `snapshot` kept."""
        self.model.restore(state)

    def teardown(self) -> None:
        """Stop the replay and the worker threads; the panel's timers stop with the model."""
        self.model.close()
