"""A small non-modal window that shows some text (a path, a traceback) with a Copy button."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QStyle,
    QVBoxLayout,
    QWidget,
)

MIN_WIDTH, MAX_WIDTH, MAX_LINES = 480, 960, 24


class CopyableTextDialog(QDialog):
    """`message` above `text`, which the user can select or copy to the clipboard at once."""

    def __init__(self, title: str, message: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{title} — Phantom")
        self.message = QLabel(message, wordWrap=True, objectName="copyableMessage")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text = QPlainTextEdit(text, readOnly=True, objectName="copyableText")
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        room = _room_for(self.text, text)
        self.text.setMinimumSize(room)
        if text.count("\n") < MAX_LINES:
            self.text.setMaximumHeight(room.height())  # all of it shows: no taller
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(self.sizeHint())

    def copy(self) -> None:
        """Put the text on the clipboard and say so on the button."""
        QGuiApplication.clipboard().setText(self.text.toPlainText())
        self.copy_button.setText("Copied")


def _room_for(view: QPlainTextEdit, text: str) -> QSize:
    """Enough room for `text` in `view`: its longest line and up to `MAX_LINES` lines,
    within `MAX_WIDTH` (scroll bars show the rest)."""
    metrics = view.fontMetrics()
    lines = text.splitlines() or [""]
    scroll_bar = view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    padding = 2 * (view.frameWidth() + round(view.document().documentMargin())) + scroll_bar
    width = max(metrics.horizontalAdvance(line) for line in lines) + padding
    height = metrics.lineSpacing() * min(len(lines), MAX_LINES) + padding
    return QSize(min(max(width, MIN_WIDTH), MAX_WIDTH), height)
