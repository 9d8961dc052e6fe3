"""`phantom coven token | secret | up | down | status`: coven tokens and the shared secret,
and the local cluster of headless workers, from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime

from phantom_gui.core.paths import AppPaths
from phantom_gui.core.settings import Settings
from phantom_gui.coven.cluster import (
    ClusterPaths,
    ProcessStatus,
    read_status,
    start_supervisor,
    stop_supervisor,
)
from phantom_gui.coven.secret_store import SECRET_VARIABLE, SecretStore, new_secret
from phantom_gui.coven.settings import CovenSettings

EXIT_PROBLEM = 2


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
        return manage_secret(paths, store, options)
    except (ValueError, RuntimeError, OSError) as error:
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
