"""The discovered plugins by id, with their dependency resolution worked out once per change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from reactivex.disposable import CompositeDisposable

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.resilience import CircuitBreaker
from phantom_gui.plugins.context import PluginContext
from phantom_gui.plugins.contract import HauntPack
from phantom_gui.plugins.discovery import DiscoveredPlugin
from phantom_gui.plugins.graph import Resolution, dependants_of, resolve
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.manifest import PluginManifest


@dataclass(eq=False)
class PluginRecord:
    """What the host knows of one plugin: where it came from, its state, its running instance."""

    discovered: DiscoveredPlugin
    breaker: CircuitBreaker
    state: PluginState = PluginState.DISCOVERED
    previous: PluginState | None = None
    error: str | None = None
    traceback: str | None = None
    load_attempts: int = 0
    instance: HauntPack | None = None
    context: PluginContext | None = None
    wiring: CompositeDisposable = field(default_factory=CompositeDisposable)
    haunts: int = 0

    @property
    def id(self) -> str:
        """The plugin id."""
        return self.discovered.manifest.id

    @property
    def manifest(self) -> PluginManifest:
        """The plugin's manifest."""
        return self.discovered.manifest


class PluginRegistry:
    """The records of the discovered plugins; the dependency graph is resolved when the set
    of plugins changes, not at each question."""

    def __init__(self) -> None:
        self._records: dict[str, PluginRecord] = {}
        self._resolution: Resolution | None = None
        self._dependants: dict[str, tuple[str, ...]] = {}

    @property
    def records(self) -> Mapping[str, PluginRecord]:
        """Every record by plugin id (a read-only view)."""
        return MappingProxyType(self._records)

    def add(self, record: PluginRecord) -> None:
        """Register a newly discovered plugin."""
        self._records[record.id] = record
        self._resolution = None
        self._dependants = {}

    def get(self, plugin_id: str) -> PluginRecord:
        """The record of `plugin_id`; `ManifestationError` if no such plugin was discovered."""
        record = self._records.get(plugin_id)
        if record is None:
            raise ManifestationError(f"no plugin named {plugin_id!r} was discovered")
        return record

    def __contains__(self, plugin_id: object) -> bool:
        return plugin_id in self._records

    @property
    def resolution(self) -> Resolution:
        """The load order of the plugins that can load, and why each other one cannot."""
        if self._resolution is None:
            self._resolution = resolve(self._manifests())
        return self._resolution

    def load_order(self) -> list[str]:
        """The ids of the plugins that can load, dependencies first."""
        return list(self.resolution.order)

    def dependants_of(self, plugin_id: str) -> tuple[str, ...]:
        """Every plugin that depends on `plugin_id`, directly or not, the most dependent first."""
        if plugin_id not in self._dependants:
            self._dependants[plugin_id] = tuple(dependants_of(plugin_id, self._manifests()))
        return self._dependants[plugin_id]

    def _manifests(self) -> dict[str, PluginManifest]:
        return {plugin_id: record.manifest for plugin_id, record in self._records.items()}
