"""The `phantom` command (also `python -m phantom_gui`): the command line, with the window.

The only module above both the Qt app and the Qt-free command line; Qt is imported only
when a window is asked for.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from phantom_gui.cli import main as run_command_line

if TYPE_CHECKING:
    from phantom_gui.runtime import Services


def main(argv: Sequence[str] | None = None) -> int:
    """Run `phantom` with `argv` (default: the process arguments); return the exit code."""
    return run_command_line(argv, run_gui=_run_window)


def _run_window(services: Services) -> int:
    from phantom_gui.app import run_gui

    return run_gui(services)


if __name__ == "__main__":
    sys.exit(main())
