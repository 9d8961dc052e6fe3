"""Catch exceptions nobody handled, anywhere, and report them instead of dying.

An unhandled exception on any thread, in a Qt slot (PySide6 routes those through
`sys.excepthook`) or in an asyncio callback is logged at SCREAM with its traceback
and published on the hub as `ERROR_TOPIC`, where the window shows a notification.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from phantom_gui.core.hub import EventHub

ERROR_TOPIC = "app/error"

log = logging.getLogger("phantom.unhandled")


class UnhandledErrorReporter:
    """Installs the hooks that turn unhandled exceptions into logged, published errors."""

    def __init__(self, hub: EventHub, log_file: Path | None) -> None:
        self._hub = hub
        self._log_file = log_file
        self._hub_thread = threading.get_ident()
        self._previous: tuple[Any, Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.count = 0

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Hook `sys`, `threading` and, if given, the asyncio `loop` (on the hub's thread)."""
        self._hub_thread = threading.get_ident()
        if self._previous is None:
            self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook
        if loop is not None:
            loop.set_exception_handler(self._loop_hook)
            self._loop = loop

    def uninstall(self) -> None:
        """Put back the hooks that were there before `install`."""
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None
        if self._loop is not None and not self._loop.is_closed():
            self._loop.set_exception_handler(None)
        self._loop = None

    def report(self, exc: BaseException, where: str) -> None:
        """Log `exc` and publish it; never raises."""
        self.count += 1
        text = "".join(traceback.format_exception(exc))
        log.error("unhandled %s in %s: %s", type(exc).__name__, where, exc, exc_info=exc)
        data = {
            "error": type(exc).__name__,
            "message": str(exc),
            "where": where,
            "traceback": text,
            "log_file": str(self._log_file) if self._log_file else None,
        }
        try:
            if threading.get_ident() == self._hub_thread:
                self._hub.publish(ERROR_TOPIC, data, source="app")
            else:
                self._hub.publish_threadsafe(ERROR_TOPIC, data, source="app")
        except Exception:
            log.exception("could not publish an unhandled error on the hub")

    def _sys_hook(
        self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        self.report(exc.with_traceback(tb), "the main thread")

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        name = args.thread.name if args.thread else "?"
        self.report(args.exc_value, f"thread {name}")

    def _loop_hook(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            self.report(exc, f"asyncio: {context.get('message', 'callback')}")
        else:
            log.error("asyncio: %s", context.get("message"))
