"""Bringing one plugin to life and back: import its entry, instantiate it, check the
contract, init and teardown; and forgetting its modules for a hot reload.

A folder plugin's folder is on `sys.path` only while its entry is imported. Submodules
imported later (a `_qt` panel inside `create_panel`) are found through the package
itself, so they need no path entry.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reactivex import abc

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.hub import EventHub
from phantom_gui.core.limits import Limiter
from phantom_gui.core.resilience import Backoff
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.context import PluginContext
from phantom_gui.plugins.contract import HauntPack, check_contract
from phantom_gui.plugins.discovery import DiscoveredPlugin
from phantom_gui.plugins.manifest import PluginManifest
from phantom_gui.plugins.status import Reporter

LOAD_RETRIES = 3
"""How many times a load that failed for a passing reason is tried again."""
LOAD_BACKOFF = Backoff(base=0.5, maximum=8.0)

ProcessHostFactory = Callable[[DiscoveredPlugin, Reporter], HauntPack]


def worth_retrying(error: Exception) -> bool:
    """Whether a failed load may succeed when tried again.

    Code that does not import or compile, an invalid manifest and a broken contract
    (`ManifestationError`) fail the same way every time; anything else (a file still
    locked, a device not ready) may pass.
    """
    return not isinstance(error, ImportError | SyntaxError | ManifestationError)


@contextmanager
def on_import_path(folder: Path | None) -> Iterator[None]:
    """Put `folder` first on `sys.path` for the duration, unless it is there already."""
    entry = None if folder is None else str(folder)
    if entry is None or entry in sys.path:
        yield
        return
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        if entry in sys.path:
            sys.path.remove(entry)


def forget_modules(manifest: PluginManifest) -> None:
    """Drop the plugin's top-level package and its submodules from `sys.modules`, so the
    next import reads the code again."""
    package = manifest.entry.partition(":")[0].split(".")[0]
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()


class PluginLoader:
    """Makes a plugin's instance and context, initialises it, and tears it down."""

    def __init__(
        self,
        hub: EventHub,
        settings: Settings,
        data_root: Path,
        services: Mapping[str, Any],
        process_host_factory: ProcessHostFactory | None,
        *,
        seed: int = 0,
        limiter: Limiter | None = None,
    ) -> None:
        self._hub = hub
        self._limiter = limiter
        self.seed = seed
        """The run's seed, handed to each plugin's context."""
        self._settings = settings
        self._data_root = data_root
        self._services = dict(services)
        self._process_host_factory = process_host_factory
        self.scheduler: abc.SchedulerBase | None = None
        """Given to each new plugin's context."""

    async def start(
        self, discovered: DiscoveredPlugin, report: Reporter
    ) -> tuple[HauntPack, PluginContext]:
        """A new, initialised instance of the plugin and its context.

        `report` is handed to the host of a process-isolated plugin. On failure the
        context is disposed and the error raised.
        """
        manifest = discovered.manifest
        context = PluginContext(
            manifest.id,
            self._hub,
            manifest.granted,
            self._settings,
            self._data_root,
            self.scheduler,
            self._services,
            seed=self.seed,
            limiter=self._limiter,
        )
        try:
            for pattern in manifest.records:
                context.record(pattern)
            instance = self._instantiate(discovered, report)
            result = instance.init(context)
            if inspect.isawaitable(result):
                await result
        except BaseException:
            context.dispose()
            raise
        return instance, context

    async def stop(self, instance: HauntPack | None, context: PluginContext | None) -> None:
        """Call the plugin's teardown, then dispose its context even if teardown raised."""
        try:
            if instance is not None:
                result = instance.teardown()
                if inspect.isawaitable(result):
                    await result
        finally:
            if context is not None:
                context.dispose()

    def _instantiate(self, discovered: DiscoveredPlugin, report: Reporter) -> HauntPack:
        manifest = discovered.manifest
        if manifest.isolation == "process":
            if self._process_host_factory is None:
                raise ManifestationError(
                    f"{manifest.id} asks for process isolation, which this app cannot provide",
                    source=manifest.id,
                )
            return self._process_host_factory(discovered, report)
        module_name, _, class_name = manifest.entry.partition(":")
        with on_import_path(discovered.import_root):
            module = importlib.import_module(module_name)
        factory = getattr(module, class_name, None)
        if factory is None:
            raise ManifestationError(
                f"{manifest.id}: module {module_name} has no {class_name}", source=manifest.id
            )
        instance = factory()
        check_contract(instance, f"{manifest.id} ({manifest.entry})")
        return instance  # type: ignore[no-any-return]
