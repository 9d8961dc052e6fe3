"""The `phantom` command line: the app, and the `plugin`, `audit` and `coven` subcommands.

Qt-free: the window comes from whoever calls `main` (see `phantom_gui.__main__`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from phantom_gui import __version__

if TYPE_CHECKING:
    from phantom_gui.mqtt.config import ConnectionConfig
    from phantom_gui.runtime import Services

WindowRunner = Callable[["Services"], int]
"""Shows the window over a run's services until it is closed; returns the exit code."""


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
        "--broker",
        type=broker_url,
        metavar="URL",
        help="also connect to the MQTT broker at mqtt[s]://[user:password@]host[:port]"
        "[/?client_id=ID] for this run (not saved)",
    )
    parser.add_argument(
        "--no-audio",
        action="store_true",
        help="open no sound device: the séance runs on its synthetic room",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run the hub and plugins without a window until SIGINT or SIGTERM",
    )
    parser.add_argument(
        "--plugins",
        type=plugin_ids,
        metavar="ID[,ID...]",
        help="with --headless: run only these plugins (and what they need), remembered or not",
    )
    add_coven_options(parser)
    parser.add_argument(
        "--coven-role",
        metavar="ROLE",
        help="the role of the token minted to join: user (default), moderator or admin",
    )
    parser.add_argument(
        "--coven-token",
        metavar="TOKEN",
        help="join with this token (default: PHANTOM_COVEN_TOKEN, else one minted from the "
        "coven secret)",
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
    add_audit_commands(commands)
    add_coven_commands(commands)
    return parser


def plugin_ids(text: str) -> tuple[str, ...]:
    """The plugin ids of a ``--plugins`` list, or an argparse error when it names none."""
    ids = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise argparse.ArgumentTypeError("name at least one plugin id")
    return ids


def broker_url(text: str) -> ConnectionConfig:
    """The connection a ``--broker`` URL describes, or an argparse error saying why not."""
    from phantom_gui.mqtt.config import ConfigError, parse_broker_url

    try:
        return parse_broker_url(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error).replace("\n", "; ")) from None


def add_coven_options(parser: argparse.ArgumentParser) -> None:
    """--coven NAME and --coven-broker URL."""
    parser.add_argument("--coven", metavar="NAME", help="join the coven NAME for this run")
    parser.add_argument(
        "--coven-broker",
        type=broker_url,
        metavar="URL",
        help="the coven's MQTT broker (default: the settings', else --broker's)",
    )


def add_audit_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`phantom audit list | show | export | verify`."""
    audit = commands.add_parser("audit", help="read, export and verify the audit log")
    add_location_options(audit, nested=True)
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the recorded runs and their event counts")
    listing.add_argument("--project", metavar="NAME", help="only the runs of project NAME")
    show = actions.add_parser("show", help="print a run and its events")
    show.add_argument("id", metavar="ID", help="the run's id")
    show.add_argument("--json", action="store_true", help="print one JSON document")
    export = actions.add_parser(
        "export", help="write a run's events (or, with ID 'all', the whole log) as JSONL or CSV"
    )
    export.add_argument("id", metavar="ID", help="the run's id, or 'all'")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write to FILE instead of stdout"
    )
    verify = actions.add_parser(
        "verify", help="check the keyed hash chain; exit 1 if a record was tampered with"
    )
    verify.add_argument(
        "--key",
        type=Path,
        metavar="FILE",
        help="the log's verification key (saved on its first run): authenticates every record",
    )
    for action in (listing, show, export, verify):
        add_location_options(action, nested=True)


def add_coven_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`phantom coven token | secret | keys | broadcast | up | down | status`."""
    coven = commands.add_parser(
        "coven",
        help="tokens and the shared secret of a coven, messages to it, a local cluster of workers",
    )
    add_location_options(coven, nested=True)
    actions = coven.add_subparsers(dest="coven_command", metavar="ACTION", required=True)
    token = actions.add_parser(
        "token",
        help="print a token signed with the coven secret or private key, for a member to join with",
    )
    token.add_argument("--role", required=True, metavar="ROLE", help="user, moderator or admin")
    token.add_argument("--name", required=True, metavar="NAME", help="the member's name")
    token.add_argument(
        "--ttl", type=float, metavar="S", help="lifetime in seconds (default: the settings')"
    )
    token.add_argument(
        "--refresh", action="store_true", help="a refresh token, which buys access tokens"
    )
    secret = actions.add_parser(
        "secret", help="say where the coven secret comes from, or make or set a new one"
    )
    change = secret.add_mutually_exclusive_group()
    change.add_argument(
        "--new", action="store_true", help="make a new secret, keep it and print it once"
    )
    change.add_argument("--set", action="store_true", help="keep the secret read from stdin")
    secret.add_argument(
        "--in-settings",
        action="store_true",
        help="keep it in the settings file, in plain text, instead of the system keyring",
    )
    keys = actions.add_parser(
        "keys", help="say which key pair the settings name, or write a new one (--new)"
    )
    keys.add_argument("--new", action="store_true", help="write a new key pair")
    keys.add_argument(
        "--kid", default="coven", metavar="ID", help="its key id, and file name (default: coven)"
    )
    keys.add_argument(
        "--algorithm",
        default="EdDSA",
        metavar="ALG",
        help="RS256, RS384, RS512, PS256, ES256 or EdDSA (default: EdDSA)",
    )
    keys.add_argument(
        "--out", type=Path, default=Path(), metavar="DIR", help="where (default: here)"
    )
    broadcast = actions.add_parser(
        "broadcast", help="send MESSAGE to every member of a coven (needs a moderator's right)"
    )
    broadcast.add_argument("message", metavar="MESSAGE")
    add_coven_options(broadcast)
    broadcast.add_argument(
        "--coven-role",
        default="moderator",
        metavar="ROLE",
        help="the role of the token minted to send it (default: moderator)",
    )
    up = actions.add_parser(
        "up", help="start N supervised headless workers in the background (a local cluster)"
    )
    up.add_argument("--workers", type=int, required=True, metavar="N", help="how many workers")
    up.add_argument(
        "--plugins", type=plugin_ids, default=(), metavar="ID[,ID...]", help="what they run"
    )
    up.add_argument(
        "extra", nargs="*", metavar="-- ARGS", help="more `phantom` options for every worker"
    )
    down = actions.add_parser("down", help="stop the cluster's supervisor and workers, and wait")
    status = actions.add_parser("status", help="the cluster's supervisor and workers")
    status.add_argument("--json", action="store_true", help="print one JSON document")
    for action in (token, secret, keys, broadcast, up, down, status):
        add_location_options(action, nested=True)


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


def main(argv: Sequence[str] | None = None, run_gui: WindowRunner | None = None) -> int:
    """Run `phantom` with `argv` (default: the process arguments); return the exit code.

    `run_gui` shows the window over the run's services; the `phantom` command
    (`phantom_gui.__main__`) passes the Qt app's. Without it only the subcommands and
    ``--headless`` run.
    """
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.command == "plugin":
        from phantom_gui.plugin_commands import run_plugin_command

        return run_plugin_command(options)
    if options.command == "audit":
        from phantom_gui.audit_commands import run_audit_command

        return run_audit_command(options)
    if options.command == "coven":
        from phantom_gui.coven_commands import run_coven_command

        return run_coven_command(options)
    if run_gui is None and not options.headless:
        parser.error("this entry point has no window: add --headless")
    if options.plugins and not options.headless:
        parser.error("--plugins runs plugins without a window: add --headless")
    from phantom_gui.core.paths import UnusableFolder
    from phantom_gui.runtime import Services, run_headless

    try:
        services = Services.create(
            options.data_dir,
            options.config,
            plugin_dirs=options.plugin_dir,
            seed=options.seed,
            broker=options.broker,
            audio=not options.no_audio,
            coven=options.coven,
            coven_broker=options.coven_broker,
            coven_role=options.coven_role,
            coven_token=options.coven_token,
        )
    except UnusableFolder as exc:
        print(f"phantom: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"phantom: could not start: {exc}", file=sys.stderr)
        return 2
    if options.headless or run_gui is None:
        return asyncio.run(run_headless(services, options.plugins))
    return run_gui(services)
