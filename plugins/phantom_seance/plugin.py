"""The Séance plugin: the audio engine, the séance on the app's frame clock, its audit run.

It listens where the host chose in the devices dialog (`SeanceSettings`): the microphone,
a recording, or the synthetic room; with ``--no-audio`` (the app's ``audio`` service says
so), no input device or no PortAudio it runs on the synthetic room and says why. The
séance ticks on the asyncio loop at `TICK_HZ`, with or without a window; each séance is
an audit run whose events are its `seance/...` events.
"""

from __future__ import annotations

import asyncio
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
            self.audit_run = self._open_audit_run(settings)
            self.run = SeanceRun(self.engine, self._publish, context.seed, setup.problem)
            context.hub.on("seance/#").subscribe(self._heard)
        except BaseException:
            self.engine.close()
            raise
        self._panels: weakref.WeakSet[Any] = weakref.WeakSet()
        self._failures = 0
        self._loop = asyncio.get_running_loop()
        self._next_tick: asyncio.TimerHandle | None = self._loop.call_later(0.0, self._tick)

    def _open_audit_run(self, settings: SeanceSettings) -> Any:
        """The séance's run in the audit log (None where the app keeps no log)."""
        try:
            return self.context.open_run(
                "seance", "Séance", seed=self.context.seed, listening_to=settings.source.value
            )
        except ManifestationError as exc:
            self.context.logger.warning("the séance is not recorded: %s", exc)
            return None

    def _publish(self, topic: str, data: object) -> None:
        metadata: EventMetadata | None = None
        if self.audit_run is not None:
            metadata = {"run": self.audit_run.id}
        self.context.hub.publish(topic, data, metadata=metadata)

    def _heard(self, event: SpectralEvent) -> None:
        if event.metadata.get("replayed"):
            self.run.replayed(event.topic, event.data, time.monotonic())

    def _tick(self) -> None:
        """The séance's frame clock, on the asyncio loop (a window or none)."""
        began = time.monotonic()
        try:
            self.run.tick(began)
        except Exception:
            if self._failures % ERRORS_LOGGED_EVERY == 0:
                self.context.logger.exception("a séance tick failed")
            self._failures += 1
        delay = max(0.0, 1.0 / TICK_HZ - (time.monotonic() - began))
        self._next_tick = self._loop.call_later(delay, self._tick)

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
        if self._next_tick is not None:
            self._next_tick.cancel()
            self._next_tick = None
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
