"""Start coroutines from Qt slots on the app's loop, and report their failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("phantom.qt.tasks")


class TaskRunner:
    """Runs coroutines on `loop`; a failure goes to `on_error(what, exception)`."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, on_error: Callable[[str, BaseException], None]
    ) -> None:
        self._loop = loop
        self._on_error = on_error
        self._running: set[asyncio.Task[Any]] = set()

    def run(self, coroutine: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        """Start `coroutine`; `what` describes it in error reports ("load Lantern")."""
        task = self._loop.create_task(coroutine)
        self._running.add(task)

        def finished(done: asyncio.Task[Any]) -> None:
            self._running.discard(done)
            if done.cancelled():
                return
            error = done.exception()
            if error is not None:
                log.error("could not %s: %s", what, error)
                self._on_error(what, error)

        task.add_done_callback(finished)
        return task

    @property
    def pending(self) -> int:
        """How many started coroutines have not finished."""
        return len(self._running)
