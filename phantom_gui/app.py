"""The composition root of the GUI: one QApplication, one qasync loop, the main window."""

from __future__ import annotations

import asyncio
import signal
import sys

import qasync
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from phantom_gui import __version__
from phantom_gui.qt.main_window import MainWindow
from phantom_gui.qt.qt_log import install_qt_log_handler
from phantom_gui.qt.theme import app_icon, apply_theme
from phantom_gui.runtime import Services

SIGNAL_POLL_MS = 200


def run_gui(services: Services) -> int:
    """Show the main window and run until it is closed or the process is signalled."""
    restore_qt_messages = install_qt_log_handler()  # first: creating the app may warn
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Phantom")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("phantom")
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    apply_theme(app)

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    quit_requested = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: loop.call_soon_threadsafe(quit_requested.set))
    # Python runs signal handlers only between bytecodes: give it some now and then.
    signal_poll = QTimer(interval=SIGNAL_POLL_MS)
    signal_poll.timeout.connect(lambda: None)
    signal_poll.start()

    async def run_window() -> None:
        services.start(loop)
        window = MainWindow(services, loop)
        window.closed.connect(quit_requested.set)
        window.show()
        await services.plugins.restore_session()
        await quit_requested.wait()
        window.close()
        window.dispose()
        await services.stop()

    with loop:
        loop.run_until_complete(run_window())
    signal_poll.stop()
    restore_qt_messages()
    return 0
