"""A haunt's voice through a real (virtual) sound card: the séance mixes it into the
output of a PulseAudio null sink, the input listens to the sink's monitor, and the live
analysis hears a voice in the room."""

from __future__ import annotations

import time

import pytest

from phantom_seance.audio import AudioEngine, StreamConfig
from phantom_seance.events import Manifestation, SpeechChanged
from phantom_seance.haunts import BANISHING, Haunt, HauntCircle
from phantom_seance.model import MEDIUM
from phantom_seance.run import SeanceRun

from support.virtual_audio import DEVICE, SAMPLERATE

pytestmark = pytest.mark.audio

TICK_S = 1 / 60


def tick_for(run: SeanceRun, seconds: float, until=lambda: False) -> list[bool]:  # type: ignore[no-untyped-def]
    """Tick the séance as its frame clock would; the voice activity seen at each tick."""
    heard = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        run.tick(time.monotonic())
        heard.append(run.analysis.voiced)
        time.sleep(TICK_S)
    return heard


def test_a_haunts_voice_played_on_the_output_is_heard_as_voice_on_the_input() -> None:
    published: list[tuple[str, object]] = []
    engine = AudioEngine(StreamConfig(DEVICE, DEVICE, SAMPLERATE, 256))
    engine.start()
    run = SeanceRun(engine, lambda topic, data: published.append((topic, data)), seed=3)
    try:
        assert engine.on_device, engine.reason
        run.circle = HauntCircle(
            [Haunt("pip", "mischievous", "imp", interruption_probability=10.0, cooldown_s=60.0)],
            seed=3,
        )
        run.start_ritual(BANISHING)
        silent = tick_for(run, 2.0)
        assert not any(silent), "the silent sink's monitor must not sound like a voice"

        run.end_ritual(BANISHING)
        tick_for(run, 5.0, until=lambda: any(isinstance(d, Manifestation) for _, d in published))
        spoken = [data for _, data in published if isinstance(data, Manifestation)]
        assert [words.haunt for words in spoken] == ["pip"]

        heard = tick_for(run, 6.0, until=lambda: run.analysis.voiced)
        assert heard and heard[-1], "the haunt's voice was not heard on the input"
        starts = [
            data
            for _, data in published
            if isinstance(data, SpeechChanged) and data.participant == MEDIUM
        ]
        assert starts and starts[0].state == "start", "the room heard the voice as speech"
    finally:
        run.close()
        engine.close()
