"""`phantom plugin validate | schema | list | enable | disable`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from phantom_gui.core.paths import AppPaths
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.discovery import DiscoveredPlugin, Discovery, discover
from phantom_gui.plugins.discovery import log as discovery_log
from phantom_gui.plugins.host_settings import PluginHostSettings
from phantom_gui.plugins.manifest import MANIFEST_FILE_NAME, manifest_json_schema


def run_plugin_command(options: argparse.Namespace) -> int:
    """Run one `phantom plugin` action; return the exit code."""
    # Each command prints the problems it meets; without a handler of its own the
    # discovery log would print every one a second time through logging's last resort.
    discovery_log.addHandler(logging.NullHandler())
    if options.plugin_command == "validate":
        return validate(options.path)
    if options.plugin_command == "schema":
        print(json.dumps(manifest_json_schema(), indent=2))
        return 0
    paths = AppPaths.resolve(options.data_dir, options.config)
    paths.ensure()
    settings = Settings(paths.config_file)
    found = discover([*options.plugin_dir, paths.plugin_dir])
    host_settings = settings.load(PluginHostSettings)
    disabled = set(host_settings.disabled)
    if options.plugin_command in ("enable", "disable"):
        if options.plugin_id not in found.plugins:
            print(f"phantom: no plugin named {options.plugin_id!r} was found", file=sys.stderr)
            return 1
        settings.save(
            host_settings.disabling(options.plugin_id, disabled=options.plugin_command == "disable")
        )
        print(f"{options.plugin_id}: {options.plugin_command}d")
        return 0
    for plugin in found.plugins.values():
        manifest = plugin.manifest
        status = "disabled" if manifest.id in disabled else "enabled"
        print(
            f"{manifest.id:24} {manifest.version:10} {status:9} {plugin.origin:9} "
            f"{plugin.manifest_path}"
        )
    for warning in found.warnings:
        print(f"warning: {warning.message}", file=sys.stderr)
    for problem in found.problems:
        print(f"problem: {problem.message}", file=sys.stderr)
    return 0


def validate(path: Path) -> int:
    """Check the manifests at `path` and that each entry module exists; 0 when all is well
    (warnings, such as fields of a newer schema that were ignored, are printed too)."""
    found = Discovery()
    if path.is_file():
        found.add_file(path, "folder", path.parent.parent)
    elif (path / MANIFEST_FILE_NAME).is_file():
        found.add_file(path / MANIFEST_FILE_NAME, "folder", path.parent)
    elif path.is_dir():
        manifests = sorted(path.glob(f"*/{MANIFEST_FILE_NAME}"))
        if not manifests:
            found.report(path, f"{path}: no {MANIFEST_FILE_NAME} here or in its subfolders")
        for manifest in manifests:
            found.add_file(manifest, "folder", path)
    else:
        found.report(path, f"{path}: no such file or folder")
    for plugin in found.plugins.values():
        problem = _missing_entry_module(plugin)
        if problem:
            found.report(plugin.manifest_path, problem)
        else:
            print(f"ok: {plugin.manifest.id} {plugin.manifest.version} ({plugin.manifest_path})")
    for warning in found.warnings:
        print(f"warning: {warning.message}", file=sys.stderr)
    for problem in found.problems:
        print(problem.message, file=sys.stderr)
    return 1 if found.problems else 0


def _missing_entry_module(plugin: DiscoveredPlugin) -> str | None:
    root = plugin.import_root
    if root is None:
        return None
    module = plugin.manifest.entry.partition(":")[0]
    candidate = root.joinpath(*module.split("."))
    if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
        return None
    return (
        f"{plugin.manifest_path}: entry: module {module} not found "
        f"(looked for {candidate}.py and {candidate}/__init__.py)"
    )
