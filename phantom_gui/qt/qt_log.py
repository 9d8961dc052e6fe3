"""Qt's own messages (about widgets, painting, fonts, the platform) in Phantom's log."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("phantom.qt")

LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}

QtMessageHandler = Callable[[QtMsgType, QMessageLogContext, str], None]


def log_qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Log one Qt message on ``phantom.qt`` with its category, and Qt's source file, line
    and function where Qt was built to tell them."""
    level = LEVELS.get(kind, logging.WARNING)
    if not log.isEnabledFor(level):
        return
    record = log.makeRecord(
        log.name,
        level,
        context.file or "<qt>",
        context.line or 0,
        "%s",
        (message,),
        None,
        func=context.function,
        extra={"qt_category": context.category or "default"},
    )
    log.handle(record)


def install_qt_log_handler() -> Callable[[], None]:
    """Send Qt's messages to the log instead of standard error; return what puts back the
    handler that was there before."""
    previous: QtMessageHandler | None = qInstallMessageHandler(log_qt_message)

    def restore() -> None:
        qInstallMessageHandler(previous)

    return restore
