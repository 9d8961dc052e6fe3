"""A child's side of dying with the app (see `phantom_gui.core.children`).

Run as a program (``python -I -S orphans.py PROGRAM ARGS...``) it is the launcher of a
program that is not ours: it asks to die with the app, then becomes the program (exec).
It imports only the standard library, so it starts in a few milliseconds.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence

EXIT_ORPHANED = 70
"""The exit code of a child that ended because the app had gone (EX_SOFTWARE)."""
PARENT_PID_VARIABLE = "PHANTOM_PARENT_PID"
"""Tells a child the app's process id, so that it can tell whether the app is still there."""
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child of the app: be killed when the app dies (Linux), and exit now if it has
    died already."""
    told = os.environ.pop(PARENT_PID_VARIABLE, None)
    parent = int(told) if told else os.getppid()
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_SET_PDEATHSIG): {os.strerror(error)}")
    if os.getppid() != parent:
        os._exit(EXIT_ORPHANED)


def become(argv: Sequence[str]) -> None:
    """The launcher: die with the app, then become `argv`."""
    die_with_parent()
    try:
        os.execvp(argv[0], list(argv))
    except OSError as error:
        sys.exit(f"cannot start {argv[0]}: {error}")


if __name__ == "__main__":
    become(sys.argv[1:])
