"""The plugin manager ("haunt summoner"): discovery, dependency order, lifecycle, haunts.

Every state change is published on the hub as ``plugin/<id>/state``. Loading is
retried with exponential backoff; `process()` runs behind a circuit breaker; a
plugin's haunts are drawn from a seeded random source so that a run can be replayed.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import random
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SingleAssignmentDisposable

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.resilience import Backoff, BreakerState, CircuitBreaker
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.context import PluginContext
from phantom_gui.plugins.contract import HauntPack, check_contract
from phantom_gui.plugins.discovery import (
    ENTRY_POINT_GROUP,
    DiscoveredPlugin,
    DiscoveryProblem,
    discover,
)
from phantom_gui.plugins.graph import dependants_of, resolve
from phantom_gui.plugins.host_settings import PluginHostSettings
from phantom_gui.plugins.lifecycle import LOADABLE, PluginState, check_transition
from phantom_gui.plugins.manifest import PluginManifest

log = logging.getLogger("phantom.plugins")

SOURCE = "plugins"
MAX_LOAD_RETRIES = 3
LOAD_BACKOFF = Backoff(base=0.5, maximum=8.0)

ProcessHostFactory = Callable[[DiscoveredPlugin, Callable[[str, dict[str, Any]], None]], HauntPack]


@dataclass
class PluginRecord:
    """What the manager knows of one plugin: where it came from, its state, its last error."""

    discovered: DiscoveredPlugin
    breaker: CircuitBreaker
    state: PluginState = PluginState.DISCOVERED
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
    ) -> None:
        self._services = dict(services or {})
        self._hub = hub
        self._settings = settings
        self._data_root = data_root
        self._plugin_dirs = list(plugin_dirs)
        self.load_backoff = load_backoff
        self._sleep = sleep
        self.scheduler = scheduler
        self._breaker_clock = breaker_clock
        self._process_host_factory = process_host_factory
        self._entry_points_group = entry_points_group
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self._haunt_rng = random.Random(self.seed)
        self.records: dict[str, PluginRecord] = {}
        self.problems: list[DiscoveryProblem] = []
        self._locks: dict[str, asyncio.Lock] = {}

    # -- discovery ------------------------------------------------------------------------

    def discover(self) -> None:
        """Find every plugin, check dependencies, and mark each resolved, failed or disabled."""
        found = discover(self._plugin_dirs, entry_points_group=self._entry_points_group)
        self.problems = found.problems
        for plugin_id, discovered in found.plugins.items():
            if plugin_id not in self.records:
                self.records[plugin_id] = PluginRecord(discovered, self._new_breaker(plugin_id))
                self._announce(self.records[plugin_id])
        self._hub.publish(
            "plugin/discovery",
            {
                "plugins": sorted(found.plugins),
                "problems": [{"path": str(p.path), "message": p.message} for p in found.problems],
            },
            source=SOURCE,
        )
        self._resolve_all()

    def _resolve_all(self) -> None:
        resolution = resolve({pid: record.manifest for pid, record in self.records.items()})
        disabled = set(self._settings.load(PluginHostSettings).disabled)
        for plugin_id, record in self.records.items():
            if record.state not in (PluginState.DISCOVERED, PluginState.DISABLED):
                continue
            if plugin_id in disabled:
                if record.state is not PluginState.DISABLED:
                    self._move(record, PluginState.DISABLED)
            elif plugin_id in resolution.failures:
                self._move(record, PluginState.FAILED, error=resolution.failures[plugin_id])
            else:
                self._move(record, PluginState.RESOLVED)

    def load_order(self) -> list[str]:
        """The ids of the plugins that can load, dependencies first."""
        return resolve({pid: record.manifest for pid, record in self.records.items()}).order

    # -- activation -----------------------------------------------------------------------

    async def activate(self, plugin_id: str, *, remember: bool = False) -> PluginRecord:
        """Load `plugin_id` and, first, everything it depends on (retrying each load).

        Raises `ManifestationError` when the plugin or a dependency cannot be loaded.
        `remember` keeps it in the list of plugins to load at the next start.
        """
        record = self._record(plugin_id)
        resolution = resolve({pid: rec.manifest for pid, rec in self.records.items()})
        if plugin_id in resolution.failures:
            raise ManifestationError(
                f"{plugin_id}: {resolution.failures[plugin_id]}", source=plugin_id
            )
        for dependency, _ in record.manifest.requirements():
            if self._record(dependency).state is not PluginState.ACTIVE:
                await self.activate(dependency)
        async with self._lock(plugin_id):
            if record.state is not PluginState.ACTIVE:
                await self.retry_load(plugin_id)
        if remember:
            self._remember(plugin_id, active=True)
        return record

    async def retry_load(self, plugin_id: str, max_retries: int = MAX_LOAD_RETRIES) -> HauntPack:
        """Load the plugin, retrying up to `max_retries` times with exponential backoff.

        A `ManifestationError` (the plugin breaks the contract, is disabled or loaded
        already) is not worth retrying and is raised at once, as is the last failure.
        """
        record = self._record(plugin_id)
        if record.state is PluginState.DISABLED:
            raise ManifestationError(f"{plugin_id} is disabled; enable it first", source=plugin_id)
        for attempt in range(max_retries + 1):
            try:
                return await self._load_once(record)
            except ManifestationError:
                raise
            except Exception as exc:
                if attempt == max_retries:
                    raise ManifestationError(
                        f"{plugin_id}: gave up after {attempt + 1} attempts: {record.error}",
                        source=plugin_id,
                    ) from exc
                delay = self.load_backoff.delay(attempt)
                self._hub.publish(
                    f"plugin/{plugin_id}/retry",
                    {"attempt": attempt + 1, "delay": delay, "error": record.error},
                    source=SOURCE,
                )
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _load_once(self, record: PluginRecord) -> HauntPack:
        if record.state not in LOADABLE:
            raise ManifestationError(
                f"{record.id} cannot load while {record.state.value}", source=record.id
            )
        record.load_attempts += 1
        self._move(record, PluginState.LOADING)
        context = PluginContext(
            record.id,
            self._hub,
            record.manifest.granted,
            self._settings,
            self._data_root,
            self.scheduler,
            self._services,
        )
        try:
            for pattern in record.manifest.records:
                context.record(pattern)
            instance = self._instantiate(record)
            result = instance.init(context)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            context.dispose()
            self._move(
                record,
                PluginState.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                trace="".join(traceback.format_exception(exc)),
            )
            log.error("plugin %s failed to load: %s", record.id, exc, exc_info=exc)
            raise
        record.instance = instance
        record.context = context
        record.breaker = self._new_breaker(record.id)
        self._wire_process(record)
        self._move(record, PluginState.ACTIVE)
        return instance

    def _instantiate(self, record: PluginRecord) -> HauntPack:
        discovered = record.discovered
        if record.manifest.isolation == "process":
            if self._process_host_factory is None:
                raise ManifestationError(
                    f"{record.id} asks for process isolation, which this app cannot provide",
                    source=record.id,
                )
            return self._process_host_factory(discovered, self._incident_reporter(record.id))
        if discovered.import_root is not None and str(discovered.import_root) not in sys.path:
            sys.path.insert(0, str(discovered.import_root))
        module_name, _, class_name = record.manifest.entry.partition(":")
        module = importlib.import_module(module_name)
        factory = getattr(module, class_name, None)
        if factory is None:
            raise ManifestationError(
                f"{record.id}: module {module_name} has no {class_name}", source=record.id
            )
        instance = factory()
        check_contract(instance, f"{record.id} ({record.manifest.entry})")
        return instance  # type: ignore[no-any-return]

    # -- deactivation ---------------------------------------------------------------------

    async def deactivate(self, plugin_id: str, *, remember: bool = False) -> list[str]:
        """Unload `plugin_id`, unloading whatever depends on it first.

        Returns the ids unloaded, in order. `remember` drops it from the plugins to load
        at the next start.
        """
        unloaded = []
        manifests = {pid: record.manifest for pid, record in self.records.items()}
        for dependant in [*dependants_of(plugin_id, manifests), plugin_id]:
            record = self._record(dependant)
            if record.state is PluginState.ACTIVE:
                async with self._lock(dependant):
                    await self._stop(record)
                unloaded.append(dependant)
        if remember:
            self._remember(plugin_id, active=False)
        return unloaded

    async def _stop(self, record: PluginRecord) -> None:
        self._move(record, PluginState.STOPPING)
        record.wiring.dispose()
        record.wiring = CompositeDisposable()
        failure: Exception | None = None
        try:
            if record.instance is not None:
                result = record.instance.teardown()
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            failure = exc
            log.error("plugin %s failed in teardown: %s", record.id, exc, exc_info=exc)
        finally:
            if record.context is not None:
                record.context.dispose()
            record.instance = None
            record.context = None
        if failure is None:
            self._move(record, PluginState.STOPPED)
        else:
            self._move(
                record,
                PluginState.FAILED,
                error=f"teardown: {type(failure).__name__}: {failure}",
                trace="".join(traceback.format_exception(failure)),
            )

    async def shutdown(self) -> None:
        """Unload every active plugin, dependants first (the remembered list is kept)."""
        for plugin_id in reversed(self.load_order()):
            record = self.records[plugin_id]
            if record.state is PluginState.ACTIVE:
                await self._stop(record)

    # -- reload, enable, disable ----------------------------------------------------------

    async def reload(self, plugin_id: str) -> PluginRecord:
        """Re-import the plugin's code and restart it, keeping the state it snapshots."""
        record = self._record(plugin_id)
        snapshot = None
        snapshotter = getattr(record.instance, "snapshot", None)
        if record.state is PluginState.ACTIVE and callable(snapshotter):
            snapshot = snapshotter()
        unloaded = await self.deactivate(plugin_id)
        self._forget_modules(record.manifest)
        await self.activate(plugin_id)
        restorer = getattr(record.instance, "restore", None)
        if snapshot is not None and callable(restorer):
            restorer(snapshot)
        for dependant in unloaded:
            if dependant != plugin_id:
                await self.activate(dependant)
        self._hub.publish(
            f"plugin/{plugin_id}/reloaded", {"restored": snapshot is not None}, source=SOURCE
        )
        return record

    async def disable(self, plugin_id: str) -> None:
        """Unload the plugin (and its dependants) and keep it from loading until enabled."""
        await self.deactivate(plugin_id, remember=True)
        record = self._record(plugin_id)
        if record.state is not PluginState.DISABLED:
            self._move(record, PluginState.DISABLED)
        self._settings.save(
            self._settings.load(PluginHostSettings).disabling(plugin_id, disabled=True)
        )

    def enable(self, plugin_id: str) -> None:
        """Allow a disabled plugin to load again."""
        self._settings.save(
            self._settings.load(PluginHostSettings).disabling(plugin_id, disabled=False)
        )
        record = self._record(plugin_id)
        if record.state is PluginState.DISABLED:
            self._resolve_all()

    async def restore_session(self) -> None:
        """Load the plugins that were active when the app last closed; failures are reported."""
        for plugin_id in self._settings.load(PluginHostSettings).active:
            record = self.records.get(plugin_id)
            if record is None or record.state not in LOADABLE:
                continue
            try:
                await self.activate(plugin_id)
            except ManifestationError as exc:
                log.error("could not restore plugin %s: %s", plugin_id, exc)

    # -- haunts ---------------------------------------------------------------------------

    def haunt_tick(self) -> list[str]:
        """Give every active plugin its chance to haunt; return the ids that haunted."""
        haunted = []
        for plugin_id in sorted(self.records):
            record = self.records[plugin_id]
            probability = record.manifest.haunt_probability
            if record.state is not PluginState.ACTIVE or probability <= 0:
                continue
            if self._haunt_rng.random() >= probability:
                continue
            haunt = getattr(record.instance, "haunt", None)
            if not callable(haunt):
                continue
            haunted.append(plugin_id)
            record.haunts += 1
            self._haunt(record, haunt)
        return haunted

    def start_haunting(self, scheduler: abc.SchedulerBase, period: float) -> abc.DisposableBase:
        """Run `haunt_tick` every `period` seconds on `scheduler`."""

        def tick(_: int) -> None:
            self.haunt_tick()

        return reactivex.interval(period, scheduler=scheduler).subscribe(tick)

    def _haunt(self, record: PluginRecord, haunt: Callable[[], Any]) -> None:
        disturbance = False
        try:
            outputs = haunt()
            manifest_disturbance = getattr(record.instance, "manifest_disturbance", None)
            if callable(manifest_disturbance):
                disturbance = bool(manifest_disturbance())
        except Exception as exc:
            self._report_plugin_error(record, "haunt", exc)
            return
        self._hub.publish(
            f"plugin/{record.id}/haunt",
            {"disturbance": disturbance, "spookiness": record.manifest.spookiness_level},
            source=SOURCE,
            metadata={"haunted": True},
        )
        self._publish_outputs(record, outputs, "haunt")

    # -- process() wiring ---------------------------------------------------------------------

    def _wire_process(self, record: PluginRecord) -> None:
        def deliver(event: SpectralEvent) -> None:
            self._process(record, event)

        for pattern in record.manifest.consumes:
            record.wiring.add(self._hub.on(pattern).subscribe(deliver))

    def _process(self, record: PluginRecord, event: SpectralEvent) -> None:
        if record.instance is None or record.breaker.state is BreakerState.OPEN:
            return
        try:
            outputs = record.instance.process(event)
        except Exception as exc:
            self._plugin_failed(record, "process", exc)
            return
        self._publish_outputs(record, outputs, "process")

    def _publish_outputs(self, record: PluginRecord, outputs: Any, where: str) -> None:
        """Publish the (topic, data) pairs of `outputs`; a `process` call succeeds when they end.

        The subscription leaves the plugin's wiring once the outputs end, so a plugin
        does not keep one per processed event.
        """
        if outputs is None or record.context is None:
            if where == "process":
                record.breaker.record_success()
            return
        if not isinstance(outputs, Observable):
            self._plugin_failed(
                record, where, TypeError(f"{where}() must return an Observable, got {outputs!r}")
            )
            return
        hub = record.context.hub
        wiring = record.wiring
        subscription = SingleAssignmentDisposable()
        wiring.add(subscription)

        def publish(item: Any) -> None:
            try:
                if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                    raise TypeError(f"{where}() emitted {item!r}; expected (topic, data)")
                hub.publish(item[0], item[1])
            except Exception as exc:
                subscription.dispose()
                failed(exc)

        def failed(exc: Exception) -> None:
            wiring.remove(subscription)
            self._plugin_failed(record, where, exc)

        def completed() -> None:
            wiring.remove(subscription)
            if where == "process":
                record.breaker.record_success()

        subscription.disposable = outputs.subscribe(publish, failed, completed)

    def _plugin_failed(self, record: PluginRecord, where: str, exc: Exception) -> None:
        """Count a failure against the breaker, report it, and announce the breaker opening."""
        trips = record.breaker.trips
        record.breaker.record_failure()
        self._report_plugin_error(record, where, exc)
        if record.breaker.trips != trips:
            self._announce_breaker(record)

    def _announce_breaker(self, record: PluginRecord) -> None:
        self._hub.publish(
            f"plugin/{record.id}/breaker",
            {"state": record.breaker.state.value, "trips": record.breaker.trips},
            source=SOURCE,
        )

    def _report_plugin_error(self, record: PluginRecord, where: str, exc: Exception) -> None:
        record.error = f"{where}: {type(exc).__name__}: {exc}"
        record.traceback = "".join(traceback.format_exception(exc))
        log.error("plugin %s failed in %s: %s", record.id, where, exc, exc_info=exc)
        self._hub.publish(
            f"plugin/{record.id}/error",
            {"where": where, "error": type(exc).__name__, "message": str(exc)},
            source=SOURCE,
        )

    def _incident_reporter(self, plugin_id: str) -> Callable[[str, dict[str, Any]], None]:
        def report(kind: str, data: dict[str, Any]) -> None:
            self._hub.publish(f"plugin/{plugin_id}/{kind}", data, source=SOURCE)
            record = self.records[plugin_id]
            if kind == "error":
                trips = record.breaker.trips
                record.breaker.record_failure()
                if record.breaker.trips != trips:
                    self._announce_breaker(record)
            elif kind == "gave_up" and record.state is PluginState.ACTIVE:
                asyncio.get_running_loop().create_task(self._given_up(record, data))

        return report

    async def _given_up(self, record: PluginRecord, data: dict[str, Any]) -> None:
        async with self._lock(record.id):
            if record.state is not PluginState.ACTIVE:
                return
            await self._stop(record)
            self._move(
                record,
                PluginState.FAILED,
                error=f"its process kept dying; gave up after {data.get('restarts', '?')} restarts",
            )

    # -- helpers --------------------------------------------------------------------------

    def _record(self, plugin_id: str) -> PluginRecord:
        record = self.records.get(plugin_id)
        if record is None:
            raise ManifestationError(f"no plugin named {plugin_id!r} was discovered")
        return record

    def _lock(self, plugin_id: str) -> asyncio.Lock:
        return self._locks.setdefault(plugin_id, asyncio.Lock())

    def _new_breaker(self, plugin_id: str) -> CircuitBreaker:
        if self._breaker_clock is None:
            return CircuitBreaker(name=f"{plugin_id}.process")
        return CircuitBreaker(name=f"{plugin_id}.process", clock=self._breaker_clock)

    def _move(
        self,
        record: PluginRecord,
        state: PluginState,
        *,
        error: str | None = None,
        trace: str | None = None,
    ) -> None:
        check_transition(record.id, record.state, state)
        previous = record.state
        record.state = state
        log.info("plugin %s: %s → %s", record.id, previous.value, state.value)
        if state is PluginState.FAILED:
            record.error, record.traceback = error, trace
        elif state is PluginState.ACTIVE:
            record.error = record.traceback = None
        self._announce(record, previous)

    def _announce(self, record: PluginRecord, previous: PluginState | None = None) -> None:
        self._hub.publish(
            f"plugin/{record.id}/state",
            {
                "state": record.state.value,
                "previous": previous.value if previous else None,
                "error": record.error,
                "attempts": record.load_attempts,
            },
            source=SOURCE,
        )

    def _remember(self, plugin_id: str, *, active: bool) -> None:
        self._settings.save(
            self._settings.load(PluginHostSettings).remembering(plugin_id, active=active)
        )

    @staticmethod
    def _forget_modules(manifest: PluginManifest) -> None:
        package = manifest.entry.partition(":")[0].split(".")[0]
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()
