"""The Séance as a host uses it: the real plugin, loaded by the real plugin manager over a
real hub and audit log, its panel (with the vispy shadow realm) on the virtual screen,
its audio engine on the synthetic room (``--no-audio``) or on a PulseAudio null sink."""

from __future__ import annotations

import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from phantom_gui import __version__
from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.replay import ReplaySession
from phantom_gui.audit.service import AuditService
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.scheduling import loop_scheduler
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.context import AudioAccess
from phantom_gui.plugins.manager import PluginManager
from phantom_seance.haunts import Haunt, HauntCircle
from phantom_seance.levels import LEVEL_TOPIC

pytestmark = pytest.mark.screen

SEANCE = "phantom_seance"


class Host:
    """A hub, an audit log in `folder`, and a plugin manager that finds the built-ins."""

    def __init__(self, folder: Path, qt_loop: Any, *, audio: bool) -> None:
        self.hub = EventHub()
        self.hub.bind_loop(qt_loop)
        self.audit = AuditService.open(folder / "audit", self.hub, use_keyring=False)
        self.audit.start(__version__, qt_loop)
        self.manager = PluginManager(
            self.hub,
            Settings(folder / "settings.json"),
            folder / "plugin-data",
            seed=13,
            services={"audit": self.audit, "audio": AudioAccess(enabled=audio)},
        )
        self.manager.scheduler = loop_scheduler(qt_loop)
        self.manager.discover()
        self.events: list[SpectralEvent] = []
        self.hub.on("seance/#").subscribe(self.events.append)

    def topics(self) -> list[str]:
        return [event.topic for event in self.events]


@pytest.fixture
def host(tmp_path: Path, qt_loop, run_on_loop) -> Iterator[Host]:  # type: ignore[no-untyped-def]
    host = Host(tmp_path, qt_loop, audio=False)
    yield host
    run_on_loop(host.manager.shutdown())
    host.audit.stop()


def open_panel(qtbot, host: Host, run_on_loop) -> tuple[Any, Any]:  # type: ignore[no-untyped-def]
    seance = run_on_loop(host.manager.activate(SEANCE)).instance
    panel = seance.create_panel(None)
    panel.resize(1100, 620)
    panel.show()
    qtbot.waitExposed(panel)
    return seance, panel


def close_panel(host: Host, panel: Any, run_on_loop) -> None:  # type: ignore[no-untyped-def]
    run_on_loop(host.manager.deactivate(SEANCE))
    panel.close()
    panel.deleteLater()
    QApplication.processEvents()


def test_the_panel_opens_and_closes_again_and_again_leaving_no_canvas_stream_or_thread(
    qtbot, host: Host, run_on_loop
) -> None:
    threads_before = {thread.name for thread in threading.enumerate()}
    engines = []
    for _ in range(3):
        seance, panel = open_panel(qtbot, host, run_on_loop)
        qtbot.waitUntil(lambda: panel.realm.fps > 0)  # noqa: B023
        assert seance.engine.running
        engines.append(seance.engine)
        close_panel(host, panel, run_on_loop)
        assert panel.realm is None, "the panel must let go of its realm"
    assert not any(engine.running for engine in engines)
    qtbot.waitUntil(
        lambda: {thread.name for thread in threading.enumerate()} <= threads_before, timeout=5000
    )


def test_on_the_synthetic_room_the_realm_gets_frames_and_the_meter_moves(
    qtbot, host: Host, run_on_loop
) -> None:
    seance, panel = open_panel(qtbot, host, run_on_loop)
    try:
        assert "Synthetic haunted room" in panel.source_label.text()
        assert "--no-audio" in panel.source_label.text()
        draws = len(panel.realm._draws)
        levels: set[int] = set()
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline and len(levels) < 3:
            qtbot.wait(100)
            levels.add(panel.level_meter.value())
        assert len(panel.realm._draws) > draws + 5, "the realm must be drawn frame after frame"
        assert len(levels) >= 3, f"the level meter stood still at {levels}"
        assert panel.level_meter.value() > panel.level_meter.minimum()
        assert [line.name for line in seance.state().haunts] == ["pip", "agnes", "mordred"]
        assert panel.haunts.rowCount() == 3
        assert "medium" in panel.participants.item(0, 1).text()
        assert LEVEL_TOPIC in host.topics(), "levels are sampled for the audit log"
        panel.grab().save("/tmp/seance_panel.png")
    finally:
        close_panel(host, panel, run_on_loop)


def test_summon_and_banish_publish_ritual_events(qtbot, host: Host, run_on_loop) -> None:
    seance, panel = open_panel(qtbot, host, run_on_loop)
    try:
        panel.summon_button.click()
        panel.banish_button.click()
        panel.summon_button.click()
        rituals = [
            (event.topic, event.data.active)
            for event in host.events
            if event.topic.startswith("seance/ritual/")
        ]
        assert rituals == [
            ("seance/ritual/summoning", True),
            ("seance/ritual/banishing", True),
            ("seance/ritual/summoning", False),
        ]
        assert seance.state().rituals == {"banishing"}
        qtbot.waitUntil(lambda: panel.banish_button.isChecked())
        assert not panel.summon_button.isChecked()
    finally:
        close_panel(host, panel, run_on_loop)


def test_a_recorded_seance_replayed_from_the_audit_log_reaches_the_model_and_the_scene(
    qtbot, host: Host, run_on_loop, qt_loop
) -> None:
    seance, panel = open_panel(qtbot, host, run_on_loop)
    eager = Haunt("pip", "mischievous", "imp", interruption_probability=10.0, cooldown_s=0.5)
    seance.run.circle = HauntCircle([eager], seed=5)
    panel.summon_button.click()
    qtbot.waitUntil(lambda: "seance/atmosphere" in host.topics(), timeout=10_000)
    qtbot.waitUntil(lambda: "seance/haunt/pip" in host.topics(), timeout=10_000)
    recorded = seance.audit_run.id
    live_atmosphere = seance.run.live.atmosphere_level
    close_panel(host, panel, run_on_loop)
    assert host.audit.recorder is not None and host.audit.recorder.flush()
    stored = host.audit.storage.matching_seqs(EventFilter(audit_id=recorded, events_only=True))
    assert len(stored) >= 5, "the séance's events are filed under its run"

    seance, panel = open_panel(qtbot, host, run_on_loop)
    try:
        assert not seance.run.replaying
        replay = ReplaySession(
            host.audit.storage,
            host.hub,
            loop_scheduler(qt_loop),
            EventFilter(audit_id=recorded),
            speed=None,
        )
        while replay.step():
            pass
        assert seance.run.replaying
        session = seance.run.session
        assert session is not seance.run.live
        assert session.active_rituals == {"summoning"}
        assert session.atmosphere_level > 0.0
        assert abs(session.atmosphere_level - live_atmosphere) < 0.25
        assert set(session.participants) >= {"medium", "pip"}
        assert session.participants["pip"].role == "spirit"
        assert session.last_manifestation is not None
        assert session.last_manifestation.haunt == "pip"
        qtbot.waitUntil(lambda: panel.replay_badge.isVisible())
        assert any(a.haunt == "pip" for a in seance.frame.apparitions)
        qtbot.wait(1500)  # the apparition rises
        panel.grab().save("/tmp/seance_panel_replay.png")
        assert seance.run.live.active_rituals == frozenset(), "the live séance is untouched"
    finally:
        close_panel(host, panel, run_on_loop)


@pytest.fixture
def sounding_host(tmp_path: Path, qt_loop, run_on_loop, virtual_audio) -> Iterator[Host]:  # type: ignore[no-untyped-def]
    """A host whose plugins may open sound devices (a PulseAudio null sink is running)."""
    host = Host(tmp_path, qt_loop, audio=True)
    yield host
    run_on_loop(host.manager.shutdown())
    host.audit.stop()


def tone_wav(path: Path, seconds: float = 1.0) -> Path:
    frames = np.arange(int(48_000 * seconds))
    samples = (0.3 * np.sin(2 * np.pi * 440 * frames / 48_000) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(48_000)
        writer.writeframes(samples.tobytes())
    return path


@pytest.mark.audio
def test_the_devices_dialog_lists_rescans_and_its_choice_is_remembered_and_applied(
    qtbot, sounding_host: Host, run_on_loop, tmp_path: Path
) -> None:
    from phantom_seance.settings import SeanceSettings, SourceKind
    from phantom_seance.sources import WavSource

    seance, panel = open_panel(qtbot, sounding_host, run_on_loop)
    try:
        assert seance.engine.on_device, seance.engine.reason
        dialog = panel.open_devices()
        dialog.rescan_button.click()
        inputs = [dialog.input_choice.itemData(i) for i in range(dialog.input_choice.count())]
        assert "pulse" in inputs
        dialog.source_choice.setCurrentIndex(dialog.source_choice.findData(SourceKind.FILE))
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
        assert dialog.isVisible() and "choose the recording" in dialog.problem.text()

        recording = tone_wav(tmp_path / "rehearsal.wav")
        dialog.file_edit.setText(str(recording))
        dialog.input_choice.setCurrentIndex(dialog.input_choice.findData("pulse"))
        dialog.output_choice.setCurrentIndex(dialog.output_choice.findData("pulse"))
        dialog.latency_choice.setCurrentIndex(dialog.latency_choice.findData(0.2))
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
        assert not dialog.isVisible()

        saved = seance.context.settings.load(SeanceSettings)
        assert (saved.source, saved.source_file, saved.input_device, saved.latency_s) == (
            SourceKind.FILE,
            recording,
            "pulse",
            0.2,
        )
        assert isinstance(seance.engine.source, WavSource)
        assert seance.engine.on_device, "the recording plays as the microphone, out on the sink"
        assert seance.engine.mixer.output_latency_s >= 0.2, "the device buffers what was chosen"
        qtbot.waitUntil(lambda: "rehearsal.wav" in panel.source_label.text())
        qtbot.waitUntil(lambda: panel.level_meter.value() > -20, timeout=5000)
    finally:
        close_panel(sounding_host, panel, run_on_loop)


def test_a_recording_that_cannot_be_read_is_named_and_the_seance_goes_on_synthetic(
    qtbot, host: Host, run_on_loop, tmp_path: Path
) -> None:
    from phantom_seance.settings import SourceKind

    seance, panel = open_panel(qtbot, host, run_on_loop)
    try:
        broken = tmp_path / "not-audio.wav"
        broken.write_text("a ghost story, in words")
        dialog = panel.open_devices()
        dialog.source_choice.setCurrentIndex(dialog.source_choice.findData(SourceKind.FILE))
        dialog.file_edit.setText(str(broken))
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
        qtbot.waitUntil(lambda: "could not be played" in panel.source_label.text())
        assert "not-audio.wav" in panel.source_label.text()
        assert seance.engine.running
        levels = {panel.level_meter.value()}
        qtbot.waitUntil(lambda: levels.add(panel.level_meter.value()) or len(levels) > 2)
    finally:
        close_panel(host, panel, run_on_loop)
