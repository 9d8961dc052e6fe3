"""The Qt-free services of one Phantom run, and the headless main loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from phantom_gui import __version__
from phantom_gui.core.hub import EventHub
from phantom_gui.core.logs import configure_logging
from phantom_gui.core.paths import AppPaths
from phantom_gui.core.settings import Settings
from phantom_gui.core.unhandled import UnhandledErrorReporter

log = logging.getLogger("phantom")

APP_SOURCE = "app"


@dataclass
class Services:
    """Everything a run shares: folders, settings, the hub and the error reporter."""

    paths: AppPaths
    settings: Settings
    hub: EventHub
    reporter: UnhandledErrorReporter
    log_file: Path

    @classmethod
    def create(cls, data_dir: Path | None = None, config_file: Path | None = None) -> Services:
        """Resolve the folders, start logging, read the settings and make the hub."""
        paths = AppPaths.resolve(data_dir, config_file)
        paths.ensure()
        log_file = configure_logging(paths.log_dir)
        settings = Settings(paths.config_file)
        hub = EventHub()
        services = cls(paths, settings, hub, UnhandledErrorReporter(hub, log_file), log_file)
        log.info("Phantom %s starting; data in %s", __version__, paths.data_dir)
        return services

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind the hub to `loop` (on its thread), install the error hooks, announce the start."""
        self.hub.bind_loop(loop)
        self.reporter.install(loop)
        self.hub.publish(
            "app/started",
            {"version": __version__, "data_dir": str(self.paths.data_dir)},
            source=APP_SOURCE,
        )
        if self.settings.problem:
            self.hub.publish("app/warning", {"message": self.settings.problem}, source=APP_SOURCE)

    def stop(self) -> None:
        """Announce the end of the run and let go of the hub."""
        self.hub.publish("app/stopping", {}, source=APP_SOURCE)
        self.hub.on_completed()
        self.reporter.uninstall()
        log.info("Phantom stopped")


async def run_headless(services: Services) -> int:
    """Run the hub without a window until SIGINT or SIGTERM; return the exit code."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    services.start(loop)
    log.info("running headless; stop with SIGINT or SIGTERM")
    await stop.wait()
    services.stop()
    return 0
