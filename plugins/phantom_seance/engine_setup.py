"""From the host's choices (`SeanceSettings`) to the engine's stream and source."""

from __future__ import annotations

from dataclasses import dataclass

from phantom_seance.audio import AudioEngine, StreamConfig
from phantom_seance.settings import SeanceSettings, SourceKind
from phantom_seance.sources import BlockSource, SyntheticSource, WavSource


@dataclass(frozen=True)
class EngineSetup:
    """The stream to open, what stands in for the microphone (None: the microphone
    itself), and why the chosen source could not be used (None if it could)."""

    config: StreamConfig
    source: BlockSource | None
    problem: str | None = None


def engine_setup(settings: SeanceSettings, seed: int) -> EngineSetup:
    """The stream and source `settings` ask for; the synthetic room where a recording
    cannot be read, saying why."""
    config = StreamConfig.from_settings(settings)
    if settings.source is SourceKind.SYNTHETIC:
        return EngineSetup(config, SyntheticSource(config.samplerate, seed))
    if settings.source is SourceKind.FILE and settings.source_file is not None:
        try:
            return EngineSetup(config, WavSource(settings.source_file, config.samplerate))
        except (OSError, ValueError) as exc:
            return EngineSetup(
                config,
                SyntheticSource(config.samplerate, seed),
                f"the recording could not be played ({exc}); playing the synthetic source",
            )
    return EngineSetup(config, None)


def source_text(engine: AudioEngine, problem: str | None = None) -> str:
    """Where the séance's sound comes from, in a line for the panel's header."""
    source = engine.source
    if problem is not None:
        return f"Synthetic haunted room — {problem}"
    if engine.reason is not None:
        stand_in = "Recording" if isinstance(source, WavSource) else "Synthetic haunted room"
        why = engine.reason.partition("; playing")[0]
        return f"{stand_in} — {why}"
    if isinstance(source, WavSource):
        return f"Recording {source.path.name}, played as the microphone"
    if isinstance(source, SyntheticSource):
        return "Synthetic haunted room, as chosen in Audio devices…"
    device = engine.config.input_device or "the default input"
    return f"Microphone: {device}"
