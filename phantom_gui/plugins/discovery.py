"""Find plugins without importing their code.

Three places: the built-in plugins of this distribution and installed
distributions, both registered in the entry-point group `ENTRY_POINT_GROUP` (the
value names the plugin's package, which holds `phantom-plugin.toml`), and plugin
folders, each holding one subfolder per plugin package. A bad manifest is reported
and skipped, a manifest of a newer schema is kept with a warning; discovery goes on.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Literal

from phantom_gui.plugins.manifest import (
    MANIFEST_FILE_NAME,
    ManifestError,
    PluginManifest,
    load_manifest_file,
)

ENTRY_POINT_GROUP = "phantom_gui.plugins"
OWN_DISTRIBUTION = "phantom-gui"

log = logging.getLogger("phantom.plugins.discovery")

Origin = Literal["built-in", "installed", "folder"]


@dataclass(frozen=True)
class DiscoveredPlugin:
    """A plugin's manifest and where it was found."""

    manifest: PluginManifest
    origin: Origin
    manifest_path: Path
    import_root: Path | None = None
    """A folder to put on `sys.path` while the entry is imported (folder plugins)."""


@dataclass(frozen=True, slots=True)
class DiscoveryNote:
    """Something discovery met in one manifest: why it was skipped, or a caveat about it."""

    path: str
    message: str


@dataclass
class Discovery:
    """What discovery found: plugins by id, the problems and the warnings met on the way."""

    plugins: dict[str, DiscoveredPlugin] = field(default_factory=dict)
    problems: list[DiscoveryNote] = field(default_factory=list)
    """Manifests skipped, and why."""
    warnings: list[DiscoveryNote] = field(default_factory=list)
    """Manifests kept with a caveat."""

    def add_file(self, path: Path, origin: Origin, import_root: Path | None) -> None:
        """Read one manifest file and keep its plugins (first one found wins an id)."""
        try:
            contents = load_manifest_file(path)
        except ManifestError as exc:
            self.report(path, str(exc))
            return
        if contents.warning is not None:
            log.warning("plugin discovery: %s", contents.warning)
            self.warnings.append(DiscoveryNote(str(path), contents.warning))
        for manifest in contents.plugins:
            earlier = self.plugins.get(manifest.id)
            if earlier is not None:
                self.report(
                    path,
                    f"{path}: plugin id {manifest.id!r} is already provided by "
                    f"{earlier.manifest_path}; this one is skipped",
                )
                continue
            self.plugins[manifest.id] = DiscoveredPlugin(manifest, origin, path, import_root)

    def report(self, path: Path, message: str) -> None:
        """Note a problem and log it; discovery goes on."""
        log.warning("plugin discovery: %s", message)
        self.problems.append(DiscoveryNote(str(path), message))


def discover(
    plugin_dirs: Iterable[Path] = (), *, entry_points_group: str = ENTRY_POINT_GROUP
) -> Discovery:
    """Discover registered plugins, then those in `plugin_dirs`, importing no plugin code."""
    found = Discovery()
    for entry_point in sorted(entry_points(group=entry_points_group), key=lambda ep: ep.name):
        _add_entry_point(found, entry_point)
    for folder in plugin_dirs:
        _add_folder(found, folder)
    return found


def _add_entry_point(found: Discovery, entry_point: EntryPoint) -> None:
    distribution = entry_point.dist.name if entry_point.dist else ""
    origin: Origin = "built-in" if distribution == OWN_DISTRIBUTION else "installed"
    label = f"entry point {entry_point.name} = {entry_point.value}"
    try:
        spec = importlib.util.find_spec(entry_point.value)
    except (ImportError, ValueError) as exc:
        found.report(Path(entry_point.value), f"{label}: cannot locate the package ({exc})")
        return
    if spec is None or not spec.submodule_search_locations:
        found.report(Path(entry_point.value), f"{label}: not an installed package")
        return
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    manifest = package_dir / MANIFEST_FILE_NAME
    if not manifest.is_file():
        found.report(manifest, f"{label}: {manifest} is missing")
        return
    found.add_file(manifest, origin, None)


def _add_folder(found: Discovery, folder: Path) -> None:
    if not folder.is_dir():
        found.report(folder, f"plugin folder {folder} does not exist")
        return
    for manifest in sorted(folder.glob(f"*/{MANIFEST_FILE_NAME}")):
        found.add_file(manifest, "folder", folder)
