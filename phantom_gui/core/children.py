"""Child processes of the app: none outlives it."""

from __future__ import annotations

import atexit
import signal
from multiprocessing import get_context
from typing import Any, Protocol

SPAWN = get_context("spawn")
"""No fork of a process with Qt and threads in it: children start afresh on every OS."""


class Killable(Protocol):
    """A `multiprocessing` process or a `subprocess.Popen`."""

    def kill(self) -> None:
        """End the process now."""
        ...


_live_children: set[Killable] = set()


@atexit.register
def _kill_live_children() -> None:
    """The safety net: no child outlives the app, whatever happened to its owner."""
    for process in list(_live_children):
        process.kill()


def track(process: Killable) -> None:
    """Kill `process` when the app exits, unless it is `forget`-ten first."""
    _live_children.add(process)


def forget(process: Killable) -> None:
    """`process` has been reaped."""
    _live_children.discard(process)


def describe_exit(exitcode: int | None) -> dict[str, Any]:
    """How a child ended: its exit code and, when a signal killed it, the signal's name."""
    info: dict[str, Any] = {"exitcode": exitcode}
    if exitcode is not None and exitcode < 0:
        try:
            info["signal"] = signal.Signals(-exitcode).name
        except ValueError:
            info["signal"] = str(-exitcode)
    return info
