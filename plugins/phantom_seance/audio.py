"""The séance's audio engine: devices, streams, and the fallback when there is no device.

The stream's callback copies the input block into `AudioEngine.input_ring` (or a source's
block, when a recording or the synthetic room stands in for the microphone) and takes the
next output block from `AudioEngine.mixer`; it allocates no array, takes no lock, and
neither logs nor publishes. It counts xruns and keeps its own durations in a preallocated
array (`stats`). Everything else happens on the caller's (GUI) side: `poll_events` notices
a device that stopped delivering blocks, closes its stream and carries on with a thread
that paces the synthetic source at block rate, as when PortAudio is missing, no device is
present or audio is disabled. `reason` says why the engine is not on the device.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from phantom_seance.mixer import OutputMixer
from phantom_seance.ring import AudioRing
from phantom_seance.settings import SeanceSettings
from phantom_seance.sources import BlockSource, SyntheticSource

STALL_TIMEOUT_S = 3.0
"""A stream that delivers no block for this long is taken as lost..."""
SETTLING_STALL_TIMEOUT_S = 10.0
"""...or for this long while it settles: PulseAudio may pause for a few seconds when a
stream starts, after its first blocks or before them."""
CLOSE_TIMEOUT_S = 2.0
"""How long closing a lost stream may block before it is left to finish on its own."""
EXIT_TIMEOUT_S = 2.0
"""How long terminating PortAudio at exit may take before the app exits without it."""
DURATIONS_KEPT = 1 << 16
"""Callback durations kept for percentiles (about 6 minutes of 256-frame blocks at 48 kHz)."""
RING_SECONDS = 10.0
MIX_SECONDS = 30.0
SETTLING_S = 2.0
"""Xruns in a stream's first this many seconds of blocks are counted apart, as settling:
PulseAudio drops a block or two while a new stream's buffers fill, which no one hears."""


class PortAudioMissing(RuntimeError):
    """sounddevice could not load the PortAudio library."""


def sounddevice_module() -> Any:
    """The sounddevice module; PortAudioMissing if its library cannot be loaded."""
    try:
        import sounddevice
    except OSError as exc:
        raise PortAudioMissing(
            f"PortAudio could not be loaded ({exc}); install the libportaudio2 package"
        ) from exc
    _bound_the_exit(sounddevice)
    return sounddevice


@functools.cache
def _bound_the_exit(sounddevice: Any) -> None:
    """Put `_terminate_portaudio` in place of sounddevice's exit handler (once)."""
    atexit.unregister(sounddevice._exit_handler)
    atexit.register(_terminate_portaudio, sounddevice)


def _terminate_portaudio(sounddevice: Any) -> None:
    """sounddevice's own exit handler, given `EXIT_TIMEOUT_S` at most: PortAudio waits
    forever for a stream whose device vanished, which must not keep the app from exiting."""
    ender = threading.Thread(target=sounddevice._exit_handler, daemon=True)
    ender.start()
    ender.join(EXIT_TIMEOUT_S)


@dataclass(frozen=True)
class AudioDevice:
    """A device as PortAudio lists it."""

    index: int
    name: str
    host_api: str
    input_channels: int
    output_channels: int
    default_samplerate: float


def list_devices(*, rescan: bool = False) -> list[AudioDevice]:
    """The devices PortAudio knows (none when PortAudio is missing).

    PortAudio reads the list once, when it starts; `rescan` restarts it to see devices
    plugged in since, which closes every stream still open.
    """
    try:
        sd = sounddevice_module()
    except PortAudioMissing:
        return []
    if rescan:
        sd._terminate()
        sd._initialize()
    host_apis = sd.query_hostapis()
    return [
        AudioDevice(
            index=int(info["index"]),
            name=str(info["name"]),
            host_api=str(host_apis[info["hostapi"]]["name"]),
            input_channels=int(info["max_input_channels"]),
            output_channels=int(info["max_output_channels"]),
            default_samplerate=float(info["default_samplerate"]),
        )
        for info in sd.query_devices()
    ]


@dataclass(frozen=True)
class StreamConfig:
    """The devices (names as listed; None for the system's default) and stream format."""

    input_device: str | None = None
    output_device: str | None = None
    samplerate: int = 48_000
    blocksize: int = 256
    latency_s: float = 0.1
    """The device's buffer, in seconds (`SeanceSettings.latency_s`)."""

    @classmethod
    def from_settings(cls, settings: SeanceSettings) -> StreamConfig:
        return cls(settings.input_device, settings.output_device, settings.samplerate,
                   settings.blocksize, settings.latency_s)  # fmt: skip


class StreamStats:
    """What the callback counts: blocks, xruns, and how long it took for each block."""

    def __init__(self, kept: int = DURATIONS_KEPT, settling_blocks: int = 0) -> None:
        self.blocks = 0
        self.settling_blocks = settling_blocks
        """Xruns in the first this many blocks count as `settling_xruns`."""
        self.settling_xruns = 0
        self.overflows = 0
        """Input overflows (blocks the device dropped before we read them) and output
        overflows."""
        self.underflows = 0
        """Output underflows (the speakers ran dry) and input underflows."""
        self._durations = np.zeros(kept, dtype=np.float64)

    def record(self, seconds: float) -> None:
        """Count a block that took `seconds` (callback-safe)."""
        self._durations[self.blocks % self._durations.shape[0]] = seconds
        self.blocks += 1

    def durations(self) -> np.ndarray:
        """A copy of the durations kept (the latest `kept` blocks), in seconds."""
        return self._durations[: min(self.blocks, self._durations.shape[0])].copy()

    def duration_percentile(self, percent: float) -> float:
        """A percentile of the kept durations in seconds (0 before the first block)."""
        kept = self.durations()
        return float(np.percentile(kept, percent)) if kept.size else 0.0


class EngineEventKind(StrEnum):
    STARTED = "started"
    """The engine runs: on a device, or on a stand-in source (the event says why)."""
    DEVICE_LOST = "device_lost"
    """The device stopped delivering blocks; the engine went on without it."""


@dataclass(frozen=True)
class EngineEvent:
    """Something the GUI should tell the host, polled with `AudioEngine.poll_events`."""

    kind: EngineEventKind
    message: str


class AudioEngine:
    """Audio in and out for the séance, on a device when it can, on a stand-in otherwise.

    `source` replaces the microphone (a `WavSource` for rehearsals); `enabled=False` (the
    app's ``--no-audio``) never touches PortAudio. Without a device the engine plays
    `source`, or the synthetic room made from `seed`.
    """

    def __init__(
        self,
        config: StreamConfig | None = None,
        *,
        enabled: bool = True,
        source: BlockSource | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config or StreamConfig()
        self.enabled = enabled
        self.source = source
        self.seed = seed
        self.input_ring = AudioRing(round(self.config.samplerate * RING_SECONDS))
        self.mixer = OutputMixer(self.config.samplerate, MIX_SECONDS)
        self.stats = StreamStats()
        self.reason: str | None = None
        """Why the engine is not on the chosen devices (None while it is)."""
        self._events: deque[EngineEvent] = deque()
        self._stream: Any = None
        self._stream_ended = threading.Event()
        self._pacer: _Pacer | None = None
        self._synthetic: SyntheticSource | None = None
        self._playing: BlockSource | None = None
        self._scratch = np.zeros(self.config.blocksize, dtype=np.float32)
        self._mix_block = np.zeros(self.config.blocksize, dtype=np.float32)
        self._watched_blocks = 0
        self._watched_since = 0.0

    # -- the GUI side ------------------------------------------------------------------

    @property
    def on_device(self) -> bool:
        """Whether a device stream runs (rather than the pacing thread)."""
        return self._stream is not None

    @property
    def running(self) -> bool:
        return self._stream is not None or self._pacer is not None

    def start(self) -> None:
        """Open the streams, or start the stand-in when that cannot be done."""
        if self.running:
            raise RuntimeError("the audio engine is already running")
        config = self.config
        self.stats = StreamStats(
            settling_blocks=round(SETTLING_S * config.samplerate / config.blocksize)
        )
        reason = self._open_stream()
        if reason is not None:
            self._start_pacer(reason)
        else:
            names = " / ".join(str(n) for n in self._stream_devices())
            self._events.append(EngineEvent(EngineEventKind.STARTED, f"listening on {names}"))

    def stop(self) -> None:
        """Close the stream or stop the pacing thread."""
        if self._stream is not None:
            _close_stream(self._stream)
            self._stream = None
        if self._pacer is not None:
            self._pacer.stop()
            self._pacer = None

    def reconfigure(self, config: StreamConfig, source: BlockSource | None) -> None:
        """Run with new devices, format or source. The ring and mixer are kept unless the
        rate or block size changes (take them anew from the engine then)."""
        was_running = self.running
        self.stop()
        if (config.samplerate, config.blocksize) != (
            self.config.samplerate,
            self.config.blocksize,
        ):
            self.input_ring = AudioRing(round(config.samplerate * RING_SECONDS))
            self.mixer = OutputMixer(config.samplerate, MIX_SECONDS)
            self._scratch = np.zeros(config.blocksize, dtype=np.float32)
            self._mix_block = np.zeros(config.blocksize, dtype=np.float32)
            self._synthetic = None
        self.config = config
        self.source = source
        if was_running:
            self.start()

    def rescan(self) -> list[AudioDevice]:
        """List the devices anew (PortAudio restarts, so a running stream is reopened)."""
        if not self.enabled:
            return []
        was_running = self.running
        self.stop()
        devices = list_devices(rescan=True)
        if was_running:
            self.start()
        return devices

    def poll_events(self) -> list[EngineEvent]:
        """What happened since the last call; notices a device that went away and falls
        back to the stand-in source. Call it from the GUI's frame clock."""
        if self._stream is not None and self._stream_is_lost():
            stream, self._stream = self._stream, None
            _close_stream(stream)
            reason = "the audio device stopped delivering sound"
            self._events.append(EngineEvent(EngineEventKind.DEVICE_LOST, reason))
            self._start_pacer(reason)
        events = list(self._events)
        self._events.clear()
        return events

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> AudioEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- opening -----------------------------------------------------------------------

    def _open_stream(self) -> str | None:
        """Open and start the device stream; the reason when it cannot be done."""
        if not self.enabled:
            return "audio is turned off (--no-audio)"
        try:
            sd = sounddevice_module()
        except PortAudioMissing as exc:
            return str(exc)
        devices = list_devices()
        wants_input = self.source is None
        input_index, input_problem = _pick(devices, self.config.input_device, "input")
        output_index, output_problem = _pick(devices, self.config.output_device, "output")
        if wants_input and input_index is None and output_index is None:
            return input_problem
        if output_index is None and not wants_input:
            return output_problem
        self._playing = self.source
        if wants_input and input_index is None:
            self._playing = self._synthetic_source()
        config = self.config
        common = {
            "samplerate": config.samplerate,
            "blocksize": config.blocksize,
            "latency": config.latency_s,
            "dtype": "float32",
            "finished_callback": self._stream_ended.set,
        }
        self._stream_ended.clear()
        try:
            if input_index is not None and output_index is not None and self._playing is None:
                stream = sd.Stream(
                    device=(input_index, output_index),
                    channels=(1, _output_channels(devices[output_index])),
                    callback=self._duplex_block,
                    **common,
                )
            elif output_index is not None:
                stream = sd.OutputStream(
                    device=output_index,
                    channels=_output_channels(devices[output_index]),
                    callback=self._output_block,
                    **common,
                )
            else:
                stream = sd.InputStream(
                    device=input_index, channels=1, callback=self._input_block, **common
                )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            return f"the audio device could not be opened ({exc})"
        self._stream = stream
        self._watched_blocks, self._watched_since = 0, time.monotonic()
        if output_index is not None:
            self.mixer.output_latency_s = float(np.atleast_1d(stream.latency)[-1])
        self.reason = None
        if wants_input and input_index is None:
            self.reason = f"{input_problem}; playing the synthetic source"
        return None

    def _stream_devices(self) -> tuple[object, ...]:
        device = self._stream.device
        return tuple(device) if isinstance(device, (list, tuple)) else (device,)

    def _stream_is_lost(self) -> bool:
        if self._stream_ended.is_set():
            return True
        now = time.monotonic()
        if self.stats.blocks != self._watched_blocks:
            self._watched_blocks, self._watched_since = self.stats.blocks, now
            return False
        settling = self.stats.blocks < self.stats.settling_blocks
        timeout = SETTLING_STALL_TIMEOUT_S if settling else STALL_TIMEOUT_S
        return now - self._watched_since > timeout

    def _synthetic_source(self) -> SyntheticSource:
        if self._synthetic is None:
            self._synthetic = SyntheticSource(self.config.samplerate, self.seed)
        return self._synthetic

    def _start_pacer(self, reason: str) -> None:
        stand_in = "the recording" if self.source is not None else "the synthetic source"
        self.reason = f"{reason}; playing {stand_in}"
        self._events.append(EngineEvent(EngineEventKind.STARTED, self.reason))
        self._pacer = _Pacer(self, self.source)

    # -- the callback side (no array allocated, no lock, no logging) -------------------

    def _duplex_block(
        self, indata: np.ndarray, outdata: np.ndarray, frames: int, _time: Any, status: Any
    ) -> None:
        began = time.perf_counter()
        if status:
            self._count_xruns(status)
        self.input_ring.write(indata[:, 0])
        self._mix_into(outdata)
        self.stats.record(time.perf_counter() - began)

    def _output_block(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        began = time.perf_counter()
        if status:
            self._count_xruns(status)
        self._play_source(self._playing)
        self._mix_into(outdata)
        self.stats.record(time.perf_counter() - began)

    def _input_block(self, indata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        began = time.perf_counter()
        if status:
            self._count_xruns(status)
        self.input_ring.write(indata[:, 0])
        self.mixer.take(self._mix_block)
        self.stats.record(time.perf_counter() - began)

    def paced_block(self, source: BlockSource) -> None:
        """One block of the stand-in: `source` into the ring, the mix taken to nowhere."""
        began = time.perf_counter()
        self._play_source(source)
        self.mixer.take(self._mix_block)
        self.stats.record(time.perf_counter() - began)

    def _play_source(self, source: BlockSource | None) -> None:
        if source is not None:
            source.fill(self._scratch)
            self.input_ring.write(self._scratch)

    def _mix_into(self, outdata: np.ndarray) -> None:
        block = self._mix_block
        self.mixer.take(block)
        outdata[:] = block[:, np.newaxis]

    def _count_xruns(self, status: Any) -> None:
        if self.stats.blocks < self.stats.settling_blocks:
            self.stats.settling_xruns += 1
            return
        if status.input_overflow or status.output_overflow:
            self.stats.overflows += 1
        if status.input_underflow or status.output_underflow:
            self.stats.underflows += 1


class _Pacer:
    """A thread that plays a stand-in source at block rate, as a device would."""

    def __init__(self, engine: AudioEngine, source: BlockSource | None) -> None:
        self._engine = engine
        self._source = source
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seance-audio-pacer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        engine = self._engine
        source = self._source or engine._synthetic_source()
        period = engine.config.blocksize / engine.config.samplerate
        due = time.monotonic()
        while not self._stopped.is_set():
            engine.paced_block(source)
            due += period
            late = time.monotonic() - due
            if late > 10 * period:
                due = time.monotonic()
            self._stopped.wait(max(0.0, -late))

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


def _pick(devices: list[AudioDevice], name: str | None, kind: str) -> tuple[int | None, str]:
    """The index of the `kind` ("input" or "output") device called `name` (the first such
    device for None), or None and why there is none."""
    channels = "input_channels" if kind == "input" else "output_channels"
    usable = [device for device in devices if getattr(device, channels) > 0]
    if not usable:
        return None, f"no {kind} device is present"
    if name is None:
        default = _default_index(kind)
        chosen = [d for d in usable if d.index == default] or usable
        return chosen[0].index, ""
    for device in usable:
        if device.name == name:
            return device.index, ""
    return None, f"the {kind} device {name!r} is not present"


def _default_index(kind: str) -> int:
    sd = sounddevice_module()
    return int(sd.default.device[0 if kind == "input" else 1])


def _output_channels(device: AudioDevice) -> int:
    return min(2, device.output_channels)


def _close_stream(stream: Any) -> None:
    """Abort and close `stream` without waiting on a device that went away: the close runs
    in a thread, left to finish on its own if it blocks."""
    closer = threading.Thread(target=_abort_and_close, args=(stream,), daemon=True)
    closer.start()
    closer.join(CLOSE_TIMEOUT_S)


def _abort_and_close(stream: Any) -> None:
    sd = sounddevice_module()
    with contextlib.suppress(sd.PortAudioError):
        stream.abort()
    with contextlib.suppress(sd.PortAudioError):
        stream.close()
