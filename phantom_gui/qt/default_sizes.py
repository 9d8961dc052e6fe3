"""Default sizes that follow the screen: the main window on first run, and a new dock's
share of the window and of its dock area."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

FIRST_RUN_SHARE = 0.8
"""How much of the screen's free width and height the window takes on first run."""
DOCK_AREA_SHARE = 0.4
"""How much of the window's height (top, bottom) or width (left, right) a dock area takes."""
DOCK_MIN_SIZE = 320

_TOP_OR_BOTTOM = (Qt.DockWidgetArea.TopDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea)


def first_run_geometry(available: QRect) -> QRect:
    """`FIRST_RUN_SHARE` of the screen's `available` geometry, centred in it."""
    width, height = available.width() * FIRST_RUN_SHARE, available.height() * FIRST_RUN_SHARE
    geometry = QRect(available.topLeft(), QSize(round(width), round(height)))
    geometry.moveCenter(available.center())
    return geometry


def give_room(window: QMainWindow, dock: QDockWidget) -> None:
    """Show and size `dock`, just added to `window`: its area takes `DOCK_AREA_SHARE` of
    the window, and the docks side by side in that area share it equally. (Qt sizes only
    docks that are shown.)"""
    area = window.dockWidgetArea(dock)
    dock.show()
    if area in _TOP_OR_BOTTOM:
        along, across, extent = Qt.Orientation.Horizontal, Qt.Orientation.Vertical, window.height()
    else:
        along, across, extent = Qt.Orientation.Vertical, Qt.Orientation.Horizontal, window.width()
    window.resizeDocks([dock], [max(DOCK_MIN_SIZE, round(extent * DOCK_AREA_SHARE))], across)
    neighbours = _side_by_side(window, area, dock)
    if len(neighbours) > 1:
        length = window.width() if along is Qt.Orientation.Horizontal else window.height()
        window.resizeDocks(neighbours, [length // len(neighbours)] * len(neighbours), along)


def _side_by_side(
    window: QMainWindow, area: Qt.DockWidgetArea, dock: QDockWidget
) -> list[QDockWidget]:
    """The docks docked and shown in `area` (with `dock`, about to be shown), one per tab
    group."""
    found: list[QDockWidget] = []
    for candidate in window.findChildren(QDockWidget):
        if candidate.isFloating() or window.dockWidgetArea(candidate) != area:
            continue
        if candidate.isHidden() and candidate is not dock:
            continue
        if any(candidate in window.tabifiedDockWidgets(other) for other in found):
            continue
        found.append(candidate)
    return found
