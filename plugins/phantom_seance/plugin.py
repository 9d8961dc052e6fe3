"""The Séance plugin: the audio engine, the séance on the app's frame clock, its audit run.

It listens where the host chose in the devices dialog (`SeanceSettings`): the microphone,
a recording, or the synthetic room; with ``--no-audio`` (the app's ``audio`` service says
so), no input device or no PortAudio it runs on the synthetic room and says why. The
séance ticks on the asyncio loop at `TICK_HZ`, with or without a window; each séance is
an audit run whose events are its `seance/...` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from typing import Any

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.events import EventMetadata, SpectralEvent
from phantom_gui.plugins.context import PluginContext
from phantom_seance.audio import AudioDevice, AudioEngine, list_devices
from phantom_seance.engine_setup import engine_setup
from phantom_seance.frame import SceneFrame
from phantom_seance.run import SeanceRun, SeanceState
from phantom_seance.settings import SeanceSettings

TICK_HZ = 60.0
ERRORS_LOGGED_EVERY = 600
"""A tick that keeps failing is logged once, then once per this many ticks."""


class Seance:
    """Séance: live audio drives the shadow realm; three haunts speak into the silence."""

    context: PluginContext
    engine: AudioEngine
    run: SeanceRun

    async def init(self, context: PluginContext) -> None:
        """Start the engine, open the séance's audit run, start ticking."""
        self.context = context
        settings = context.settings.load(SeanceSettings)
        setup = engine_setup(settings, context.seed)
        self.engine = AudioEngine(
            setup.config, enabled=_audio_enabled(context), source=setup.source, seed=context.seed
        )
        self.engine.start()
        try:
            self.audit_run: Any = context.open_run(
                "seance", "Séance", seed=context.seed, source=settings.source.value
            )
        except ManifestationError as exc:
            context.logger.warning("the séance is not recorded: %s", exc)
            self.audit_run = None
        self.run = SeanceRun(self.engine, self._publish, context.seed, setup.problem)
        context.hub.on("seance/#").subscribe(self._heard)
        self._panels: weakref.WeakSet[Any] = weakref.WeakSet()
        self._failures = 0
        self._clock = asyncio.get_running_loop().create_task(self._tick_forever())

    def _publish(self, topic: str, data: object) -> None:
        metadata: EventMetadata | None = None
        if self.audit_run is not None:
            metadata = {"run": self.audit_run.id}
        self.context.hub.publish(topic, data, metadata=metadata)

    def _heard(self, event: SpectralEvent) -> None:
        if event.metadata.get("replayed"):
            self.run.replayed(event.topic, event.data, time.monotonic())

    async def _tick_forever(self) -> None:
        period = 1.0 / TICK_HZ
        while True:
            began = time.monotonic()
            try:
                self.run.tick(began)
            except Exception:
                if self._failures % ERRORS_LOGGED_EVERY == 0:
                    self.context.logger.exception("a séance tick failed")
                self._failures += 1
            await asyncio.sleep(max(0.0, period - (time.monotonic() - began)))

    def process(self, event: SpectralEvent) -> None:
        """Nothing: replayed events arrive through the subscription made in `init`."""

    # -- for the panel -------------------------------------------------------------------

    @property
    def frame(self) -> SceneFrame:
        """The latest frame of the shadow realm."""
        return self.run.frame

    def state(self) -> SeanceState:
        return self.run.state()

    def start_ritual(self, name: str) -> None:
        self.run.start_ritual(name)

    def end_ritual(self, name: str) -> None:
        self.run.end_ritual(name)

    def settings(self) -> SeanceSettings:
        return self.context.settings.load(SeanceSettings)

    def devices(self, *, rescan: bool = False) -> list[AudioDevice]:
        """The sound devices (listed anew with `rescan`); none with audio turned off."""
        if rescan:
            return self.engine.rescan()
        return list_devices() if self.engine.enabled else []

    def choose(self, settings: SeanceSettings) -> None:
        """Remember the host's choice of devices, format and source, and run with it."""
        self.context.settings.save(settings)
        self.run.reconfigure(engine_setup(settings, self.context.seed))

    def create_panel(self, parent: Any) -> Any:
        """The shadow realm and the séance's controls (Qt is imported only here)."""
        from phantom_seance._qt.panel import SeancePanel

        panel = SeancePanel(self, parent, seed=self.context.seed)
        self._panels.add(panel)
        return panel

    async def teardown(self) -> None:
        """Close the panels' scenes, stop ticking, the voices and the streams; end the run."""
        for panel in list(self._panels):
            panel.dispose()
        self._clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._clock
        self.run.close()
        self.engine.close()
        if self.audit_run is not None:
            self.audit_run.complete()


def _audio_enabled(context: PluginContext) -> bool:
    """False when the app was started with ``--no-audio``."""
    try:
        access = context.service("audio")
    except ManifestationError:
        return True
    return bool(getattr(access, "enabled", True))
