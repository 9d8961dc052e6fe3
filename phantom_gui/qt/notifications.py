"""Non-modal notifications ("toasts") stacked in a corner of the main window.

An error stays until the user dismisses it, with a Details… button when there is more to
read (a traceback, where the log is); other notices fade away after a while.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QChildEvent,
    QEasingCurve,
    QEvent,
    QObject,
    QPropertyAnimation,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsOpacityEffect,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from phantom_gui.qt.copyable_text import CopyableTextDialog

FADE_MS = 250
NOTICE_LIFETIME_MS = 12_000
LASTING = frozenset({"error", "warning"})
"""Severities that stay until dismissed: an error, or a warning that asks the user to act.
An "info" notice fades by itself."""
"""How long a notice that is not an error stays before it fades."""


class Toast(QFrame):
    """One notification: a title, a detail line (selectable), a close button, and a
    Details… button when there are `details`. Only an "info" notice fades by itself, after
    `lifetime_ms`; errors and warnings stay until dismissed."""

    def __init__(
        self,
        title: str,
        detail: str,
        severity: str,
        parent: QWidget,
        *,
        details: str = "",
        lifetime_ms: int = NOTICE_LIFETIME_MS,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toast")
        self.setProperty("severity", severity)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMaximumWidth(460)

        title_label = QLabel(title, objectName="toastTitle", wordWrap=True)
        detail_label = QLabel(detail, objectName="toastDetail", wordWrap=True)
        detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QToolButton(text="✕", toolTip="Dismiss", objectName="toastDismiss")
        self.dismiss_button.clicked.connect(self.dismiss)
        self._details = details
        self.details_dialog: CopyableTextDialog | None = None

        text = QVBoxLayout()
        text.addWidget(title_label)
        text.addWidget(detail_label)
        if details:
            self.details_button = QPushButton("Details…", objectName="toastDetails")
            self.details_button.clicked.connect(self.show_details)
            text.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        row = QHBoxLayout(self)
        row.addLayout(text, 1)
        row.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)

        self._opacity = QGraphicsOpacityEffect(self, opacity=0.0)
        self.setGraphicsEffect(self._opacity)
        self._fade = QPropertyAnimation(self._opacity, b"opacity", self, duration=FADE_MS)
        self._fade.setEasingCurve(QEasingCurve.Type.InOutQuad)
        self._fade.setStartValue(0.0)
        self._fade.setEndValue(1.0)
        self._fade.start()
        self.lasting = severity in LASTING
        """Whether it stays until dismissed."""
        if not self.lasting:
            QTimer.singleShot(lifetime_ms, self, self.dismiss)

    @property
    def title(self) -> str:
        """The title line (what happened)."""
        return self.findChild(QLabel, "toastTitle").text()

    @property
    def detail(self) -> str:
        """The detail line (where to read more)."""
        return self.findChild(QLabel, "toastDetail").text()

    def show_details(self) -> None:
        """Open (or raise) a window with the details, which the user can copy."""
        if self.details_dialog is None:  # goes with the toast; shown over the window
            self.details_dialog = CopyableTextDialog("Details", self.title, self._details, self)
        self.details_dialog.show()
        self.details_dialog.raise_()

    def dismiss(self) -> None:
        """Fade out, then remove the toast."""
        self._fade.stop()
        self._fade.setStartValue(self._opacity.opacity())
        self._fade.setEndValue(0.0)
        self._fade.finished.connect(self.deleteLater)
        self._fade.start()


class NotificationArea(QWidget):
    """A column of toasts floating over the bottom-right corner of its parent, above the
    parent's other children, those added or raised later included."""

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
        for sibling in parent.findChildren(
            QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly
        ):
            sibling.installEventFilter(self)
        self.hide()

    def notify(
        self,
        title: str,
        detail: str = "",
        *,
        severity: str = "error",
        details: str = "",
        lifetime_ms: int = NOTICE_LIFETIME_MS,
    ) -> Toast:
        """Show a toast without blocking anything. When there are too many, the oldest goes
        (the oldest that is not an error, if there is one)."""
        toasts = self.toasts()
        if len(toasts) >= self.MAX_TOASTS:
            fading = [toast for toast in toasts if not toast.lasting]
            oldest = (fading or toasts)[0]
            oldest.setParent(None)
            oldest.deleteLater()
        toast = Toast(title, detail, severity, self, details=details, lifetime_ms=lifetime_ms)
        toast.destroyed.connect(self._place)
        self._column.addWidget(toast)
        toast.show()  # now, not later: the column leaves hidden widgets out of its height
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
        kind = event.type()
        if watched is self.parent():
            if kind == QEvent.Type.Resize:
                self._place()
            elif isinstance(event, QChildEvent) and kind == QEvent.Type.ChildAdded:
                child = event.child()
                if child is not self and child.isWidgetType():
                    child.installEventFilter(self)  # to stay over it when it is raised
                self._stay_on_top()
        elif kind == QEvent.Type.ZOrderChange and watched is not self:
            self._stay_on_top()
        return False

    def _stay_on_top(self) -> None:
        """Over the parent's other children: a panel docked or raised after a toast came."""
        if self.isVisible():
            self.raise_()

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
