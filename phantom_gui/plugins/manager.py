"""The plugin manager ("haunt summoner"): the one door to the plugin host.

It composes the parts, each with one job: the `PluginRegistry` (records, cached
dependency resolution), the `StatusBoard` (lifecycle moves, published as typed
statuses), the `PluginLoader` (import, init, teardown), the `OutputWiring` (process()
and its circuit breaker) and the `Haunter` (seeded haunt ticks). What it adds is the
order of things across plugins: dependencies first, dependants unloaded first, retries
of a load that may pass, the remembered session and the disabled list.
"""

from __future__ import annotations

import asyncio
import logging
import random
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from reactivex import abc

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.hub import EventHub
from phantom_gui.core.limits import Limiter
from phantom_gui.core.resilience import Backoff, RetryPolicy, retry_async
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.contract import HauntPack
from phantom_gui.plugins.discovery import ENTRY_POINT_GROUP, DiscoveryNote, discover
from phantom_gui.plugins.haunting import Haunter
from phantom_gui.plugins.host_settings import PluginHostSettings
from phantom_gui.plugins.lifecycle import LOADABLE, PluginState
from phantom_gui.plugins.loader import (
    LOAD_BACKOFF,
    LOAD_RETRIES,
    PluginLoader,
    ProcessHostFactory,
    forget_modules,
    worth_retrying,
)
from phantom_gui.plugins.registry import PluginRecord, PluginRegistry
from phantom_gui.plugins.status import LoadRetry, ProcessIncident, Reloaded
from phantom_gui.plugins.status_board import SOURCE, StatusBoard
from phantom_gui.plugins.wiring import OutputWiring

log = logging.getLogger("phantom.plugins")


class PluginManager:
    """Discovers, resolves, loads, unloads and reloads plugins, and gives them haunt ticks."""

    def __init__(
        self,
        hub: EventHub,
        settings: Settings,
        data_root: Path,
        plugin_dirs: Iterable[Path] = (),
        *,
        seed: int | None = None,
        load_backoff: Backoff = LOAD_BACKOFF,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        scheduler: abc.SchedulerBase | None = None,
        breaker_clock: Callable[[], float] | None = None,
        process_host_factory: ProcessHostFactory | None = None,
        entry_points_group: str = ENTRY_POINT_GROUP,
        services: Mapping[str, Any] | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self._hub = hub
        self._settings = settings
        self._plugin_dirs = list(plugin_dirs)
        self._entry_points_group = entry_points_group
        self._sleep = sleep
        self.load_policy = RetryPolicy(LOAD_RETRIES, load_backoff, retry_on=worth_retrying)
        """When a failed load is tried again, and after how long."""
        self._registry = PluginRegistry()
        self._board = StatusBoard(hub, self._registry)
        if seed is None:
            seed = random.SystemRandom().randrange(2**32)
        self._loader = PluginLoader(
            hub,
            settings,
            data_root,
            services or {},
            process_host_factory,
            seed=seed,
            limiter=limiter,
        )
        self._loader.scheduler = scheduler
        self._wiring = OutputWiring(hub, self._board, breaker_clock)
        self._haunter = Haunter(hub, self._registry, self._wiring, self._board, seed)
        self._locks: dict[str, asyncio.Lock] = {}
        self._problems: tuple[DiscoveryNote, ...] = ()
        self._warnings: tuple[DiscoveryNote, ...] = ()

    # -- queries --------------------------------------------------------------------------

    @property
    def records(self) -> Mapping[str, PluginRecord]:
        """Every discovered plugin's record by id (read-only; views use the statuses)."""
        return self._registry.records

    @property
    def problems(self) -> tuple[DiscoveryNote, ...]:
        """The manifests the last discovery skipped, and why."""
        return self._problems

    @property
    def warnings(self) -> tuple[DiscoveryNote, ...]:
        """The manifests the last discovery kept with a caveat."""
        return self._warnings

    @property
    def seed(self) -> int:
        """The seed of the haunt draws (the same seed replays the same haunts)."""
        return self._haunter.seed

    @property
    def scheduler(self) -> abc.SchedulerBase | None:
        """The scheduler each new plugin context gets."""
        return self._loader.scheduler

    @scheduler.setter
    def scheduler(self, scheduler: abc.SchedulerBase | None) -> None:
        self._loader.scheduler = scheduler

    def load_order(self) -> list[str]:
        """The ids of the plugins that can load, dependencies first."""
        return self._registry.load_order()

    def create_panel(self, plugin_id: str, parent: Any) -> Any:
        """The active plugin's panel widget, made by its `create_panel(parent)`."""
        record = self._registry.get(plugin_id)
        create_panel = getattr(record.instance, "create_panel", None)
        if record.state is not PluginState.ACTIVE or not callable(create_panel):
            raise ManifestationError(f"{plugin_id} has no panel to show", source=plugin_id)
        return create_panel(parent)

    # -- discovery ------------------------------------------------------------------------

    def discover(self) -> None:
        """Find every plugin, check dependencies, and mark each resolved, failed or disabled."""
        found = discover(self._plugin_dirs, entry_points_group=self._entry_points_group)
        self._problems, self._warnings = tuple(found.problems), tuple(found.warnings)
        newcomers = [
            PluginRecord(discovered, self._wiring.new_breaker(plugin_id))
            for plugin_id, discovered in found.plugins.items()
            if plugin_id not in self._registry
        ]
        for record in newcomers:
            self._registry.add(record)
        for record in newcomers:
            self._board.announce(record)
        self._board.discovered(found)
        self._resolve_all()

    def _resolve_all(self) -> None:
        failures = self._registry.resolution.failures
        disabled = set(self._settings.load(PluginHostSettings).disabled)
        for plugin_id, record in self._registry.records.items():
            if record.state not in (PluginState.DISCOVERED, PluginState.DISABLED):
                continue
            if plugin_id in disabled:
                if record.state is not PluginState.DISABLED:
                    self._board.move(record, PluginState.DISABLED)
            elif plugin_id in failures:
                self._board.move(record, PluginState.FAILED, error=failures[plugin_id])
            else:
                self._board.move(record, PluginState.RESOLVED)

    # -- activation -----------------------------------------------------------------------

    async def activate(self, plugin_id: str, *, remember: bool = False) -> PluginRecord:
        """Load `plugin_id` and, first, everything it depends on.

        Raises `ManifestationError` when the plugin or a dependency cannot be loaded.
        `remember` keeps it in the list of plugins to load at the next start.
        """
        record = self._registry.get(plugin_id)
        failure = self._registry.resolution.failures.get(plugin_id)
        if failure is not None:
            raise ManifestationError(f"{plugin_id}: {failure}", source=plugin_id)
        for dependency, _ in record.manifest.requirements():
            if self._registry.get(dependency).state is not PluginState.ACTIVE:
                await self.activate(dependency)
        async with self._lock(plugin_id):
            if record.state is not PluginState.ACTIVE:
                await self._load(record)
        if remember:
            self._remember(plugin_id, active=True)
        return record

    async def _load(self, record: PluginRecord) -> HauntPack:
        """Load the plugin, trying again as `load_policy` says while the failure may pass.

        A failure that cannot pass (code that does not import, a broken contract) is
        raised at once, the last one after the retries, as a `ManifestationError`.
        """
        if record.state is PluginState.DISABLED:
            raise ManifestationError(f"{record.id} is disabled; enable it first", source=record.id)
        retries = 0

        def retrying(attempt: int, _: Exception, delay: float) -> None:
            nonlocal retries
            retries = attempt
            retry = LoadRetry(record.id, attempt, delay, record.error or "")
            self._hub.publish(f"plugin/{record.id}/retry", retry, source=SOURCE)

        try:
            return await retry_async(
                lambda: self._load_once(record),
                self.load_policy,
                on_retry=retrying,
                sleep=self._sleep,
            )
        except ManifestationError:
            raise
        except Exception as exc:
            tried = f"gave up after {retries + 1} attempts: " if retries else ""
            raise ManifestationError(
                f"{record.id}: {tried}{record.error}", source=record.id
            ) from exc

    async def _load_once(self, record: PluginRecord) -> HauntPack:
        if record.state not in LOADABLE:
            raise ManifestationError(
                f"{record.id} cannot load while {record.state.value}", source=record.id
            )
        record.load_attempts += 1
        self._board.move(record, PluginState.LOADING)
        report = self._wiring.incident_reporter(
            record, lambda incident: self._gave_up(record, incident)
        )
        try:
            instance, context = await self._loader.start(record.discovered, report)
        except Exception as exc:
            self._board.move(
                record,
                PluginState.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                trace="".join(traceback.format_exception(exc)),
            )
            log.error("plugin %s failed to load: %s", record.id, exc, exc_info=exc)
            raise
        record.instance, record.context = instance, context
        self._wiring.wire(record)
        self._board.move(record, PluginState.ACTIVE)
        return instance

    # -- deactivation ---------------------------------------------------------------------

    async def deactivate(self, plugin_id: str, *, remember: bool = False) -> list[str]:
        """Unload `plugin_id`, unloading whatever depends on it first.

        Returns the ids unloaded, in order. `remember` drops it from the plugins to load
        at the next start.
        """
        self._registry.get(plugin_id)
        unloaded = []
        for dependant in [*self._registry.dependants_of(plugin_id), plugin_id]:
            record = self._registry.get(dependant)
            if record.state is PluginState.ACTIVE:
                async with self._lock(dependant):
                    await self._stop(record)
                unloaded.append(dependant)
        if remember:
            self._remember(plugin_id, active=False)
        return unloaded

    async def _stop(self, record: PluginRecord) -> None:
        self._board.move(record, PluginState.STOPPING)
        self._wiring.unwire(record)
        instance, context = record.instance, record.context
        record.instance = record.context = None
        try:
            await self._loader.stop(instance, context)
        except Exception as exc:
            log.error("plugin %s failed in teardown: %s", record.id, exc, exc_info=exc)
            self._board.move(
                record,
                PluginState.FAILED,
                error=f"teardown: {type(exc).__name__}: {exc}",
                trace="".join(traceback.format_exception(exc)),
            )
            return
        self._board.move(record, PluginState.STOPPED)

    async def shutdown(self) -> None:
        """Unload every active plugin, dependants first (the remembered list is kept)."""
        for plugin_id in reversed(self.load_order()):
            record = self._registry.get(plugin_id)
            if record.state is PluginState.ACTIVE:
                await self._stop(record)

    def _gave_up(self, record: PluginRecord, incident: ProcessIncident) -> None:
        """A process-isolated plugin's host stopped restarting its process: unload it, failed."""
        if record.state is PluginState.ACTIVE:
            asyncio.get_running_loop().create_task(self._fail_given_up(record, incident))

    async def _fail_given_up(self, record: PluginRecord, incident: ProcessIncident) -> None:
        async with self._lock(record.id):
            if record.state is not PluginState.ACTIVE:
                return
            await self._stop(record)
            self._board.move(
                record,
                PluginState.FAILED,
                error=f"its process kept dying; gave up after {incident.restarts} restarts",
            )

    # -- reload, enable, disable ----------------------------------------------------------

    async def reload(self, plugin_id: str) -> PluginRecord:
        """Re-import the plugin's code and restart it, keeping the state it snapshots."""
        record = self._registry.get(plugin_id)
        snapshot = None
        snapshotter = getattr(record.instance, "snapshot", None)
        if record.state is PluginState.ACTIVE and callable(snapshotter):
            snapshot = snapshotter()
        unloaded = await self.deactivate(plugin_id)
        forget_modules(record.manifest)
        await self.activate(plugin_id)
        restorer = getattr(record.instance, "restore", None)
        if snapshot is not None and callable(restorer):
            restorer(snapshot)
        for dependant in unloaded:
            if dependant != plugin_id:
                await self.activate(dependant)
        self._hub.publish(
            f"plugin/{plugin_id}/reloaded", Reloaded(plugin_id, snapshot is not None), source=SOURCE
        )
        return record

    async def disable(self, plugin_id: str) -> None:
        """Unload the plugin (and its dependants) and keep it from loading until enabled."""
        await self.deactivate(plugin_id, remember=True)
        record = self._registry.get(plugin_id)
        if record.state is not PluginState.DISABLED:
            self._board.move(record, PluginState.DISABLED)
        self._settings.save(
            self._settings.load(PluginHostSettings).disabling(plugin_id, disabled=True)
        )

    def enable(self, plugin_id: str) -> None:
        """Allow a disabled plugin to load again."""
        self._settings.save(
            self._settings.load(PluginHostSettings).disabling(plugin_id, disabled=False)
        )
        if self._registry.get(plugin_id).state is PluginState.DISABLED:
            self._resolve_all()

    async def restore_session(self) -> None:
        """Load the plugins that were active when the app last closed; failures are reported."""
        await self.activate_only(self._settings.load(PluginHostSettings).active)

    async def activate_only(self, plugin_ids: Iterable[str]) -> None:
        """Load `plugin_ids` (not remembered) and what they need; ids not discovered or not
        loadable (disabled, failed) are skipped, failures are reported."""
        for plugin_id in plugin_ids:
            record = self._registry.records.get(plugin_id)
            if record is None or record.state not in LOADABLE:
                continue
            try:
                await self.activate(plugin_id)
            except ManifestationError as exc:
                log.error("could not load plugin %s: %s", plugin_id, exc)

    # -- haunts ---------------------------------------------------------------------------

    def haunt_tick(self) -> list[str]:
        """Give every active plugin its chance to haunt; return the ids that haunted."""
        return self._haunter.tick()

    def start_haunting(self, scheduler: abc.SchedulerBase, period: float) -> abc.DisposableBase:
        """Run `haunt_tick` every `period` seconds on `scheduler` until disposed."""
        return self._haunter.start(scheduler, period)

    # -- helpers --------------------------------------------------------------------------

    def _lock(self, plugin_id: str) -> asyncio.Lock:
        return self._locks.setdefault(plugin_id, asyncio.Lock())

    def _remember(self, plugin_id: str, *, active: bool) -> None:
        self._settings.save(
            self._settings.load(PluginHostSettings).remembering(plugin_id, active=active)
        )
