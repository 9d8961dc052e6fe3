"""The Halloween theme: a dark palette plus the style sheet in `assets/`."""

from __future__ import annotations

from importlib.resources import files

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

NIGHT = "#15121c"
CRYPT = "#1e1a29"
MIST = "#2a2438"
BONE = "#ece3f5"
ASH = "#8d84a0"
PUMPKIN = "#ff7a1a"
ECTOPLASM = "#7dffb2"
BLOOD = "#e0344a"


def asset_text(name: str) -> str:
    """The text of a file shipped in Phantom's assets."""
    return files("phantom_gui.assets").joinpath(name).read_text(encoding="utf-8")


def app_icon() -> QIcon:
    """Phantom's ghost icon."""
    return QIcon(str(files("phantom_gui.assets").joinpath("phantom.svg")))


def dark_palette() -> QPalette:
    """A dark palette with pumpkin highlights."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: NIGHT,
        QPalette.ColorRole.WindowText: BONE,
        QPalette.ColorRole.Base: CRYPT,
        QPalette.ColorRole.AlternateBase: MIST,
        QPalette.ColorRole.ToolTipBase: MIST,
        QPalette.ColorRole.ToolTipText: BONE,
        QPalette.ColorRole.PlaceholderText: ASH,
        QPalette.ColorRole.Text: BONE,
        QPalette.ColorRole.Button: MIST,
        QPalette.ColorRole.ButtonText: BONE,
        QPalette.ColorRole.BrightText: ECTOPLASM,
        QPalette.ColorRole.Highlight: PUMPKIN,
        QPalette.ColorRole.HighlightedText: NIGHT,
        QPalette.ColorRole.Link: ECTOPLASM,
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(ASH))
    return palette


def apply_theme(app: QApplication) -> None:
    """Give `app` the Fusion style, the dark palette and Phantom's style sheet."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(asset_text("theme.qss"))
