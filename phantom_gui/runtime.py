"""The Qt-free services of one Phantom run, and the headless main loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reactivex import abc
from reactivex.disposable import Disposable

from phantom_gui import __version__
from phantom_gui.audit.service import AuditService
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.logs import configure_logging
from phantom_gui.core.paths import AppPaths
from phantom_gui.core.scheduling import loop_scheduler
from phantom_gui.core.settings import Settings
from phantom_gui.core.unhandled import UnhandledErrorReporter
from phantom_gui.coven.limits import LimitSettings
from phantom_gui.coven.service import CovenError, CovenService
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.service import MqttService
from phantom_gui.plugins.context import AudioAccess
from phantom_gui.plugins.manager import PluginManager
from phantom_gui.plugins.sandbox import ProcessPluginHost

log = logging.getLogger("phantom")

APP_SOURCE = "app"
HAUNT_PERIOD_S = 5.0
WARNING_TOPIC = "app/warning"


@dataclass
class Services:
    """Everything a run shares: folders, settings, the hub, the error reporter, plugins,
    the audit log, the MQTT connections and the coven."""

    paths: AppPaths
    settings: Settings
    hub: EventHub
    reporter: UnhandledErrorReporter
    log_file: Path
    plugins: PluginManager
    audit: AuditService
    mqtt: MqttService
    coven: CovenService
    coven_request: CovenRequest | None = None
    """The coven to join on `start` (``--coven``)."""
    coven_joining: asyncio.Task[bool] | None = field(default=None, repr=False)
    """Joining the requested coven: True once under way, False if it could not."""
    warnings: list[str] = field(default_factory=list)
    _haunting: abc.DisposableBase = field(default_factory=Disposable, repr=False)

    @classmethod
    def create(
        cls,
        data_dir: Path | None = None,
        config_file: Path | None = None,
        *,
        plugin_dirs: Sequence[Path] = (),
        seed: int | None = None,
        broker: ConnectionConfig | None = None,
        audio: bool = True,
        coven: str | None = None,
        coven_broker: ConnectionConfig | None = None,
        coven_role: str | None = None,
        coven_token: str | None = None,
    ) -> Services:
        """Resolve the folders, start logging, read the settings, make the hub and plugins.

        `broker` (from ``--broker``) is an MQTT connection for this run only; `audio`
        False (``--no-audio``) tells plugins to open no sound device. `coven` names a
        coven to join on `start`, through `coven_broker` (else the settings' or
        `broker`), with `coven_token` or a token minted for `coven_role`.
        """
        paths = AppPaths.resolve(data_dir, config_file)
        paths.ensure()
        log_file = configure_logging(paths.log_dir)
        settings = Settings(paths.config_file)
        hub = EventHub()
        audit = AuditService.open(paths.data_dir / "audit", hub)
        limits = settings.load(LimitSettings)
        mqtt = MqttService(hub, settings, audit=audit, topic_limiter=limits.topic_limiter)
        if broker is not None:
            mqtt.add_session(broker)
        covens = CovenService(
            hub,
            mqtt,
            settings,
            audit,
            default_broker=broker,
            limiter=limits.member_limiter(),
            plugins=lambda: tuple(plugins.load_order()),
        )
        plugins = PluginManager(
            hub,
            settings,
            paths.data_dir / "plugin-data",
            [*plugin_dirs, paths.plugin_dir],
            seed=seed,
            process_host_factory=ProcessPluginHost,
            services={
                "audit": audit,
                "mqtt": mqtt,
                "audio": AudioAccess(enabled=audio),
                "coven": covens,
            },
            limiter=limits.plugin_limiter(),
        )
        reporter = UnhandledErrorReporter(hub, log_file)
        log.info("Phantom %s starting; data in %s", __version__, paths.data_dir)
        request = None
        if coven is not None:
            request = CovenRequest(coven, coven_broker, coven_role, coven_token)
        return cls(paths, settings, hub, reporter, log_file, plugins, audit, mqtt, covens, request)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind the hub to `loop`, install the error hooks, discover plugins, start haunting."""
        self.hub.bind_loop(loop)
        self.reporter.install(loop)
        scheduler = loop_scheduler(loop)
        self.plugins.scheduler = scheduler
        self.audit.start(__version__, loop)
        for notice in self.audit.notices:
            self._warn(notice)
        self.hub.publish(
            "app/started",
            {
                "version": __version__,
                "data_dir": str(self.paths.data_dir),
                "seed": self.plugins.seed,
            },
            source=APP_SOURCE,
        )
        if self.settings.problem:
            self._warn(self.settings.problem)
        for problem in self.mqtt.problems:
            self._warn(problem)
        self.mqtt.start()
        if self.coven_request is not None:
            self.coven_joining = loop.create_task(self._join_coven(self.coven_request))
        self.plugins.discover()
        self._haunting = self.plugins.start_haunting(scheduler, HAUNT_PERIOD_S)

    async def _join_coven(self, request: CovenRequest) -> bool:
        """Join the requested coven; a failure is a warning (the reason and the remedy)."""
        try:
            await self.coven.join(
                request.name, broker=request.broker, role=request.role, token=request.token
            )
        except CovenError as error:
            self._warn(f"could not join the coven {request.name!r}: {error}")
            return False
        return True

    def _warn(self, message: str) -> None:
        """Publish a warning and keep it in `warnings` for a window that opens later."""
        self.warnings.append(message)
        self.hub.publish(WARNING_TOPIC, {"message": message}, source=APP_SOURCE)

    async def stop(self) -> None:
        """Unload the plugins, disconnect MQTT, announce the end of the run, let go of the hub."""
        self._haunting.dispose()
        await self.plugins.shutdown()
        await self.coven.leave()
        await self.mqtt.stop()
        self.hub.publish("app/stopping", {}, source=APP_SOURCE)
        self.audit.stop()
        self.hub.on_completed()
        self.reporter.uninstall()
        log.info("Phantom stopped")


@dataclass(frozen=True)
class CovenRequest:
    """The coven a run was asked to join, and how (``--coven`` and its options)."""

    name: str
    broker: ConnectionConfig | None = None
    role: str | None = None
    token: str | None = None


async def run_headless(services: Services, plugins: Sequence[str] | None = None) -> int:
    """Run the hub without a window until SIGINT or SIGTERM; return the exit code.

    `plugins` (``--plugins``) are the only plugins run, instead of the remembered ones;
    an id that was not discovered, or a requested coven that cannot be joined, ends the
    run at once with exit code 2.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    told = services.hub.on(WARNING_TOPIC).subscribe(_tell_on_stderr)
    services.start(loop)
    exit_code = 0
    if services.coven_joining is not None and not await services.coven_joining:
        stop.set()
        exit_code = 2
    elif plugins is None:
        await services.plugins.restore_session()
    else:
        unknown = [plugin_id for plugin_id in plugins if plugin_id not in services.plugins.records]
        if unknown:
            known = ", ".join(sorted(services.plugins.records)) or "none"
            print(
                f"phantom: --plugins: no plugin {', '.join(unknown)} (known: {known})",
                file=sys.stderr,
            )
            stop.set()
            exit_code = 2
        else:
            await services.plugins.activate_only(plugins)
    if not stop.is_set():
        log.info("running headless; stop with SIGINT or SIGTERM")
    await stop.wait()
    told.dispose()
    await services.stop()
    return exit_code


def _tell_on_stderr(event: SpectralEvent) -> None:
    """With no window, a warning for the user (where the audit key went...) goes to stderr."""
    print(f"phantom: {event.data['message']}", file=sys.stderr, flush=True)
