"""The `phantom` command line: the app, and the `plugin` subcommands."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
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
    add_location_options(parser)
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="seed the haunts' random source so that a run can be reproduced",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run the hub and plugins without a window until SIGINT or SIGTERM",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    plugin = commands.add_parser("plugin", help="work with plugins (haunt packs)")
    plugin_commands = plugin.add_subparsers(dest="plugin_command", metavar="ACTION", required=True)
    listing = plugin_commands.add_parser("list", help="list the plugins Phantom discovers")
    add_location_options(listing, nested=True)
    validate = plugin_commands.add_parser(
        "validate", help="check a phantom-plugin.toml, a plugin folder or a folder of plugins"
    )
    validate.add_argument("path", type=Path, metavar="PATH")
    plugin_commands.add_parser("schema", help="print the JSON schema of phantom-plugin.toml")
    for action in ("enable", "disable"):
        switch = plugin_commands.add_parser(action, help=f"{action} a plugin for the next runs")
        switch.add_argument("plugin_id", metavar="ID")
        add_location_options(switch, nested=True)
    return parser


def add_location_options(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """--data-dir, --config and --plugin-dir, on the command or (`nested`) a subcommand."""
    unset = {"default": argparse.SUPPRESS} if nested else {}
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep data, logs and settings in DIR instead of the user's folders",
        **unset,
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="read and write settings in FILE", **unset
    )
    parser.add_argument(
        "--plugin-dir",
        type=Path,
        action="append",
        metavar="DIR",
        help="also discover plugins in DIR (one subfolder per plugin); repeatable",
        **(unset or {"default": []}),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run `phantom` with `argv` (default: the process arguments); return the exit code."""
    multiprocessing.freeze_support()
    options = build_parser().parse_args(argv)
    if options.command == "plugin":
        from phantom_gui.plugin_commands import run_plugin_command

        return run_plugin_command(options)
    from phantom_gui.runtime import Services, run_headless

    try:
        services = Services.create(
            options.data_dir, options.config, plugin_dirs=options.plugin_dir, seed=options.seed
        )
    except OSError as exc:
        print(f"phantom: {exc}", file=sys.stderr)
        return 2
    if options.headless:
        return asyncio.run(run_headless(services))
    from phantom_gui.app import run_gui

    return run_gui(services)
