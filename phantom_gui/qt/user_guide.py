"""Help › User Guide: the guide shipped with Phantom, rendered in a window of the app."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

GUIDE = "user-guide.md"


def user_guide_path() -> Path:
    """Where the installed user guide is (the shipped ``phantom_gui.docs`` package)."""
    return Path(str(files("phantom_gui.docs").joinpath(GUIDE)))


class UserGuideDialog(QDialog):
    """A non-modal window showing the user guide; links to the other shipped guides open
    in it too, and web links in the browser."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("User Guide — Phantom")
        self.browser = QTextBrowser(objectName="userGuide")
        self.browser.setOpenExternalLinks(True)
        self.browser.document().setDocumentMargin(18)
        self.browser.setSource(
            QUrl.fromLocalFile(str(user_guide_path())), QTextDocument.ResourceType.MarkdownResource
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        if parent is not None:
            self.resize(min(900, parent.width() - 80), max(480, parent.height() - 120))
