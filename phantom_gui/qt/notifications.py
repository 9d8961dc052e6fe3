"""Non-modal notifications ("toasts") stacked in a corner of the main window."""

from __future__ import annotations

from PySide6.QtCore import QEasingCurve, QEvent, QObject, QPropertyAnimation, Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsOpacityEffect,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

FADE_MS = 250


class Toast(QFrame):
    """One notification: a title, a detail line (selectable), a close button."""

    def __init__(
        self, title: str, detail: str, severity: str, lifetime_ms: int, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toast")
        self.setProperty("severity", severity)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMaximumWidth(460)

        title_label = QLabel(title, objectName="toastTitle", wordWrap=True)
        detail_label = QLabel(detail, objectName="toastDetail", wordWrap=True)
        detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(text="✕", toolTip="Dismiss")
        close.clicked.connect(self.dismiss)

        text = QVBoxLayout()
        text.addWidget(title_label)
        text.addWidget(detail_label)
        row = QHBoxLayout(self)
        row.addLayout(text, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)

        self._opacity = QGraphicsOpacityEffect(self, opacity=0.0)
        self.setGraphicsEffect(self._opacity)
        self._fade = QPropertyAnimation(self._opacity, b"opacity", self, duration=FADE_MS)
        self._fade.setEasingCurve(QEasingCurve.Type.InOutQuad)
        self._fade.setStartValue(0.0)
        self._fade.setEndValue(1.0)
        self._fade.start()
        if lifetime_ms > 0:
            QTimer.singleShot(lifetime_ms, self, self.dismiss)

    @property
    def title(self) -> str:
        """The title line (what happened)."""
        return self.findChild(QLabel, "toastTitle").text()

    @property
    def detail(self) -> str:
        """The detail line (where to read more)."""
        return self.findChild(QLabel, "toastDetail").text()

    def dismiss(self) -> None:
        """Fade out, then remove the toast."""
        self._fade.stop()
        self._fade.setStartValue(self._opacity.opacity())
        self._fade.setEndValue(0.0)
        self._fade.finished.connect(self.deleteLater)
        self._fade.start()


class NotificationArea(QWidget):
    """A column of toasts floating over the bottom-right corner of its parent."""

    MARGIN = 16
    BOTTOM_CLEARANCE = 36
    WIDTH = 440
    MAX_TOASTS = 4

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(8)
        parent.installEventFilter(self)
        self.hide()

    def notify(
        self, title: str, detail: str = "", *, severity: str = "error", lifetime_ms: int = 12_000
    ) -> Toast:
        """Show a toast without blocking anything; the oldest goes when there are too many."""
        toasts = self.toasts()
        if len(toasts) >= self.MAX_TOASTS:
            toasts[0].setParent(None)
            toasts[0].deleteLater()
        toast = Toast(title, detail, severity, lifetime_ms, self)
        toast.destroyed.connect(self._place)
        self._column.addWidget(toast)
        self.show()
        self.raise_()
        self._place()
        return toast

    def toasts(self) -> list[Toast]:
        """The toasts shown now, oldest first."""
        return [
            self._column.itemAt(index).widget()
            for index in range(self._column.count())
            if isinstance(self._column.itemAt(index).widget(), Toast)
        ]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        if not self.toasts():
            self.hide()
            return
        self._column.activate()
        height = self._column.totalHeightForWidth(self.WIDTH)
        self.setGeometry(
            parent.width() - self.WIDTH - self.MARGIN,
            parent.height() - height - self.MARGIN - self.BOTTOM_CLEARANCE,
            self.WIDTH,
            height,
        )
