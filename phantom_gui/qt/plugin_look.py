"""How plugins look in the menus and dialogs: a coloured dot per lifecycle state."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.qt.theme import ASH, BLOOD, ECTOPLASM, PUMPKIN

STATE_COLORS = {
    PluginState.DISCOVERED: ASH,
    PluginState.RESOLVED: ASH,
    PluginState.LOADING: PUMPKIN,
    PluginState.ACTIVE: ECTOPLASM,
    PluginState.STOPPING: PUMPKIN,
    PluginState.STOPPED: ASH,
    PluginState.FAILED: BLOOD,
    PluginState.DISABLED: "#4a4458",
}

STATE_WORDS = {
    PluginState.DISCOVERED: "available",
    PluginState.RESOLVED: "available",
    PluginState.LOADING: "loading…",
    PluginState.ACTIVE: "active",
    PluginState.STOPPING: "stopping…",
    PluginState.STOPPED: "available",
    PluginState.FAILED: "failed",
    PluginState.DISABLED: "disabled",
}
"""What a user reads for each state (the menu says "available" for loadable plugins)."""


@cache
def state_icon(state: PluginState) -> QIcon:
    """A small dot in the state's colour."""
    pixmap = QPixmap(14, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(STATE_COLORS[state]))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(2, 2, 10, 10)
    painter.end()
    return QIcon(pixmap)
