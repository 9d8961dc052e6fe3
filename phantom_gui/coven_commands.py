"""`phantom coven token | secret | keys | broadcast | up | down | status`: coven tokens, the
shared secret, key pairs, messages to a coven, and the local cluster of headless workers,
from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime

from phantom_gui.core.errors import BanishmentError
from phantom_gui.core.hub import EventHub
from phantom_gui.core.paths import AppPaths
from phantom_gui.core.settings import Settings
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.cluster import (
    ClusterPaths,
    ProcessStatus,
    read_status,
    start_supervisor,
    stop_supervisor,
)
from phantom_gui.coven.keyfiles import write_key_pair
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
    cluster = ClusterPaths.of(paths.data_dir)
    try:
        if options.coven_command == "up":
            return cluster_up(cluster, options)
        if options.coven_command == "down":
            return cluster_down(cluster)
        if options.coven_command == "status":
            return cluster_status(cluster, as_json=options.json)
        if options.coven_command == "token":
            return mint_token(settings, store, options)
        if options.coven_command == "keys":
            return manage_keys(settings, options)
        if options.coven_command == "broadcast":
            return asyncio.run(broadcast(settings, options))
        return manage_secret(paths, store, options)
    except (ValueError, RuntimeError, OSError, TimeoutError, BanishmentError) as error:
        print(f"phantom: {error}", file=sys.stderr)
        return EXIT_PROBLEM


def mint_token(settings: Settings, store: SecretStore, options: argparse.Namespace) -> int:
    """Print a token for `--name` with `--role`, signed with the coven's private key (key
    pairs) or secret."""
    coven = settings.load(CovenSettings)
    service, signer = _signer(coven, store)
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
        f"signed with {signer}, expires {expiry}",
        file=sys.stderr,
    )
    print(token)
    return 0


def _signer(coven: CovenSettings, store: SecretStore) -> tuple[AuthService, str]:
    """The service that mints, and what it signs with (never the secret itself)."""
    if coven.uses_key_pairs:
        if coven.private_key_file is None:
            raise ValueError(
                f"the coven settings name no private_key_file: only the holder of the "
                f"{coven.algorithm} private key can mint tokens"
            )
        return coven.auth_service(), f"the private key {coven.private_key_file}"
    secret = store.find()
    if secret is None:
        raise ValueError(
            "there is no coven secret: make one with `phantom coven secret --new` "
            f"or set {SECRET_VARIABLE}"
        )
    service = coven.auth_service(secret.value.get_secret_value())
    return service, f"the secret from the {secret.origin}"


def manage_keys(settings: Settings, options: argparse.Namespace) -> int:
    """Write a new key pair (`--new`), or say which keys the settings name."""
    if options.new:
        private, public = write_key_pair(options.out, options.kid, options.algorithm)
        print(f"{options.algorithm} key pair {options.kid!r}:", file=sys.stderr)
        print(f"private key (keep it secret) {private}")
        print(f"public key (give it to every member) {public}")
        return 0
    coven = settings.load(CovenSettings)
    if not coven.uses_key_pairs:
        print(f"the coven signs {coven.algorithm} tokens with the shared secret, no key pair")
        return 1
    signing = coven.private_key_file or "none (verifies only)"
    print(f"{coven.algorithm}, signs as {coven.key_id!r} with {signing}")
    for key_id, path in coven.verification_keys.items():
        print(f"verifies {key_id!r} with {path}")
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


def cluster_up(cluster: ClusterPaths, options: argparse.Namespace) -> int:
    """Start the supervisor and its workers in the background; say their pids."""
    state = start_supervisor(cluster, options.workers, options.plugins, options.extra)
    print(f"coven cluster up: supervisor pid {state.supervisor_pid}")
    for worker in state.workers:
        print(f"worker {worker.index}: pid {worker.pid}, data in {worker.data_dir}")
    return 0


def cluster_down(cluster: ClusterPaths) -> int:
    """Stop the supervisor and its workers; return once all have gone."""
    stopped = stop_supervisor(cluster)
    print(f"coven cluster down: stopped pid {', '.join(map(str, stopped))}")
    return 0


def cluster_status(cluster: ClusterPaths, *, as_json: bool) -> int:
    """Print the supervisor and each worker; exit 1 when no supervisor runs."""
    found = read_status(cluster)
    if as_json:
        print(json.dumps(None if found is None else [asdict(status) for status in found]))
    elif found is None:
        print(f"no coven cluster in {cluster.root}")
    else:
        for status in found:
            print(_describe(status))
    return 0 if found is not None and found[0].alive else 1


def _describe(status: ProcessStatus) -> str:
    """One line of `phantom coven status`."""
    if not status.alive:
        text = f"{status.name}: pid {status.pid or '-'} not running"
    else:
        text = f"{status.name}: pid {status.pid} running, up {status.uptime_s or 0:.0f} s"
    if status.worker is not None:
        last = "-" if status.last_exit is None else str(status.last_exit)
        text += f", restarts {status.restarts}, last exit {last}"
    return text


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
            options.coven,
            broker=options.coven_broker,
            role=options.coven_role,
            member_name=name,
            persistent=False,
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
