"""The `phantom` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from phantom_gui import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `phantom`."""
    parser = argparse.ArgumentParser(
        prog="phantom",
        description="Phantom: live, slightly spooky simulations on a reactive event hub.",
    )
    parser.add_argument("--version", action="version", version=f"phantom {__version__}")
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep data, logs and settings in DIR instead of the user's folders",
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="read and write settings in FILE"
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run the hub without a window until SIGINT or SIGTERM",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `phantom` with `argv` (default: the process arguments); return the exit code."""
    options = build_parser().parse_args(argv)
    from phantom_gui.runtime import Services, run_headless

    try:
        services = Services.create(options.data_dir, options.config)
    except OSError as exc:
        print(f"phantom: {exc}", file=sys.stderr)
        return 2
    if options.headless:
        return asyncio.run(run_headless(services))
    from phantom_gui.app import run_gui

    return run_gui(services)
