"""`phantom coven token | secret | broadcast`: coven tokens, the shared secret and messages
to a coven from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from phantom_gui.core.hub import EventHub
from phantom_gui.core.paths import AppPaths
from phantom_gui.core.settings import Settings
from phantom_gui.coven.secret_store import SECRET_VARIABLE, SecretStore, new_secret
from phantom_gui.coven.service import CONNECTION_ID, CovenError, CovenService, CovenState
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.mqtt.service import MqttService

EXIT_PROBLEM = 2
JOIN_TIMEOUT_S = 15.0
CLI_SUFFIX = "-cli"
"""Added to the member name of a member that joins only to broadcast."""


def run_coven_command(options: argparse.Namespace) -> int:
    """Run one `phantom coven` action; return the exit code."""
    paths = AppPaths.resolve(getattr(options, "data_dir", None), getattr(options, "config", None))
    settings = Settings(paths.config_file)
    store = SecretStore(settings)
    try:
        if options.coven_command == "token":
            return mint_token(settings, store, options)
        if options.coven_command == "broadcast":
            return asyncio.run(broadcast(settings, options))
        return manage_secret(paths, store, options)
    except (ValueError, RuntimeError, OSError, TimeoutError) as error:
        print(f"phantom: {error}", file=sys.stderr)
        return EXIT_PROBLEM


def mint_token(settings: Settings, store: SecretStore, options: argparse.Namespace) -> int:
    """Print a token for `--name` with `--role`, signed with the coven secret."""
    secret = store.find()
    if secret is None:
        raise ValueError(
            "there is no coven secret: make one with `phantom coven secret --new` "
            f"or set {SECRET_VARIABLE}"
        )
    service = settings.load(CovenSettings).auth_service(secret.value.get_secret_value())
    user = {"name": options.name, "role": options.role}
    if options.refresh:
        token = service.generate_refresh_token(user, ttl_s=options.ttl)
        claims = service.verify_refresh(token)
    else:
        token = service.generate_token(user, ttl_s=options.ttl)
        claims = service.verify(token)
    expiry = datetime.fromtimestamp(claims.expires_at, UTC).isoformat(timespec="seconds")
    print(
        f"{claims.type} token for {claims.name} ({claims.role}), key {claims.key_id!r}, "
        f"signed with the secret from the {secret.origin}, expires {expiry}",
        file=sys.stderr,
    )
    print(token)
    return 0


def manage_secret(paths: AppPaths, store: SecretStore, options: argparse.Namespace) -> int:
    """Keep a new (`--new`, printed once) or given (`--set`, from stdin) secret, or say
    where the current one comes from."""
    if not (options.new or options.set):
        found = store.find()
        print("no coven secret" if found is None else f"coven secret from the {found.origin}")
        return 0 if found is not None else 1
    secret = new_secret() if options.new else sys.stdin.readline().strip()
    if not secret:
        raise ValueError("no secret on stdin")
    if not (options.in_settings or store.keyring_available):
        raise RuntimeError(
            "there is no usable system keyring: add --in-settings to keep the secret in the "
            f"settings file (in plain text), or give it to each member in {SECRET_VARIABLE}"
        )
    paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    origin = store.keep(secret, in_settings=options.in_settings)
    print(f"coven secret kept in the {origin}", file=sys.stderr)
    if options.new:
        print(secret)
    return 0


async def broadcast(settings: Settings, options: argparse.Namespace) -> int:
    """Join `--coven` briefly as ``<member name>-cli``, send the message to every member,
    wait until the broker has it, and leave."""
    if not options.coven:
        raise ValueError("name the coven to broadcast to: --coven NAME")
    hub = EventHub(asyncio.get_running_loop())
    mqtt = MqttService(hub, settings)
    coven = CovenService(hub, mqtt, settings, default_broker=getattr(options, "broker", None))
    name = settings.load(CovenSettings).own_name + CLI_SUFFIX
    try:
        await coven.join(
            options.coven, broker=options.coven_broker, role=options.coven_role, member_name=name
        )
        mqtt.connect(CONNECTION_ID)
        state = await asyncio.wait_for(_settled(coven), JOIN_TIMEOUT_S)
        if state.status == "failed":
            raise CovenError(f"could not reach the coven's broker: {state.reason}")
        await coven.broadcast(options.message)
    except TimeoutError:
        raise CovenError(f"the coven's broker did not answer within {JOIN_TIMEOUT_S:g} s") from None
    finally:
        await coven.leave()
        await mqtt.stop()
    print(f"broadcast to coven {options.coven} as {name}", file=sys.stderr)
    return 0


async def _settled(coven: CovenService) -> CovenState:
    """The coven's state once joined or failed."""
    settled: asyncio.Future[CovenState] = asyncio.get_running_loop().create_future()

    def seen(state: CovenState) -> None:
        if state.status in ("joined", "failed") and not settled.done():
            settled.set_result(state)

    following = coven.states().subscribe(seen)
    try:
        return await settled
    finally:
        following.dispose()
