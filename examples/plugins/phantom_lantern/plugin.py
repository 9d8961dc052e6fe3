"""The Jack-o'-Lantern plugin: answers app events, flickers when it haunts.

It shows each part of the plugin API once: `process()` outputs, `haunt()`,
`manifest_disturbance()`, a subscription through the permission-scoped hub,
settings, the data folder, `snapshot`/`restore` and a panel.
"""

from __future__ import annotations

import json
from typing import Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.subject import Subject

from phantom_gui.core.events import SpectralEvent
from phantom_gui.plugins.context import PluginContext
from phantom_gui.plugins.contract import Plugin

BRIGHTNESS_KEY = "brightness"
DEFAULT_BRIGHTNESS = 70
STATS_FILE = "lantern.json"
DISTURBANCE_EVERY = 3
ANSWERS = {
    "app/started": "glows",
    "app/warning": "shudders",
    "app/error": "gutters",
}
"""The app events the lantern answers on `lantern/seen`, and how it reacts."""


class Lantern(Plugin):
    """A carved pumpkin whose flame reacts to what happens in the app."""

    def __init__(self) -> None:
        self.brightness = DEFAULT_BRIGHTNESS
        self.sightings = 0
        self.haunts_seen = 0
        self.flickers_shown = 0
        self.flickers: Subject[dict[str, Any]] = Subject()
        """Emits each `lantern/flicker` payload as it is published (the panel listens)."""

    def init(self, context: PluginContext) -> None:
        """Read the brightness and past sightings; count every plugin's haunts (its own too)."""
        super().init(context)
        self.brightness = _clamp(context.settings.get(BRIGHTNESS_KEY, DEFAULT_BRIGHTNESS))
        self.sightings = self._load_sightings()
        context.hub.on("plugin/+/haunt").subscribe(self._count_haunt)

    def process(self, event: SpectralEvent) -> Observable[tuple[str, Any]] | None:
        """Answer the app events in `ANSWERS` with a `lantern/seen` event."""
        mood = ANSWERS.get(event.topic)
        if mood is None:
            return None
        self.sightings += 1
        seen = {"topic": event.topic, "mood": mood, "sightings": self.sightings}
        return reactivex.of(("lantern/seen", seen))

    def haunt(self) -> Observable[tuple[str, Any]]:
        """Flicker: publish `lantern/flicker` and tell the panel as it goes out."""
        self.flickers_shown += 1
        flicker = {"brightness": self.brightness, "flicker": self.flickers_shown}
        return reactivex.of(("lantern/flicker", flicker)).pipe(
            ops.do_action(lambda _: self.flickers.on_next(flicker))
        )

    def manifest_disturbance(self) -> bool:
        """Every third flicker the flame goes out for a moment and something slips through."""
        return self.flickers_shown % DISTURBANCE_EVERY == 0

    def set_brightness(self, value: int, *, persist: bool = True) -> None:
        """Set the flame's brightness (0..100); `persist` saves it for the next runs."""
        self.brightness = _clamp(value)
        if persist:
            self.context.settings.set(BRIGHTNESS_KEY, self.brightness)

    def create_panel(self, parent: Any) -> Any:
        """The lantern's QWidget (Qt is imported only here)."""
        from phantom_lantern._qt.panel import LanternPanel

        return LanternPanel(self, parent)

    def snapshot(self) -> dict[str, int]:
        """Brightness and counts, kept across a hot reload."""
        return {"brightness": self.brightness, "sightings": self.sightings}

    def restore(self, state: dict[str, int]) -> None:
        """Take back what `snapshot` kept."""
        self.set_brightness(state.get("brightness", self.brightness), persist=False)
        self.sightings = state.get("sightings", self.sightings)

    def teardown(self) -> None:
        """Write the sightings to the plugin's data folder."""
        path = self.context.data_dir / STATS_FILE
        path.write_text(json.dumps({"sightings": self.sightings}), encoding="utf-8")

    def _load_sightings(self) -> int:
        path = self.context.data_dir / STATS_FILE
        try:
            return int(json.loads(path.read_text(encoding="utf-8"))["sightings"])
        except FileNotFoundError:
            return 0
        except (ValueError, KeyError, TypeError) as exc:
            self.context.logger.warning("ignoring unreadable %s: %s", path, exc)
            return 0

    def _count_haunt(self, _event: SpectralEvent) -> None:
        self.haunts_seen += 1


def _clamp(value: Any) -> int:
    try:
        return max(0, min(100, int(value)))
    except (TypeError, ValueError):
        return DEFAULT_BRIGHTNESS
