"""One séance: the ear (analysis of the engine's input), the session model, the haunts and
their voices, moved on by `SeanceRun.tick` on the app's frame clock.

Each tick reads what the input ring received since the last one, analyses it, tells the
session model what the medium said, ticks the haunts (a manifestation's voice is
synthesised off the clock's thread and mixed into the output), samples the level for the
audit log, and makes the `SceneFrame` the shadow realm shows. Engine notices become
`seance/engine` events and messages for the panel.

A replay of a recorded séance (events whose metadata says ``replayed``) takes over the
view: a session of its own is rebuilt from the replayed events (`SeanceSession.apply`),
recorded levels move the scene, replayed manifestations speak again with their recorded
voice seeds; the live input is ignored and the haunts hold still meanwhile. The live
séance comes back `REPLAY_HOLD_S` after the last replayed event.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from phantom_seance.audio import AudioEngine, EngineEventKind
from phantom_seance.dsp import Analyser, Analysis
from phantom_seance.engine_setup import EngineSetup, source_text
from phantom_seance.events import Manifestation, haunt_topic
from phantom_seance.frame import Apparition, SceneFrame
from phantom_seance.haunts import HauntCircle, default_haunts
from phantom_seance.levels import (
    ENGINE_TOPIC,
    LEVEL_TOPIC,
    SAMPLE_INTERVAL_S,
    EngineNotice,
    LevelSample,
)
from phantom_seance.model import MEDIUM, Participant, Publish, SeanceSession
from phantom_seance.spectrum import FLOOR_DB
from phantom_seance.synth import speak

APPARITION_S = 6.0
"""How long a haunt shows in the realm after it spoke."""
REPLAY_HOLD_S = 5.0
VOICE_GAIN = 0.7
MESSAGES_KEPT = 6


@dataclass(frozen=True)
class Message:
    """Something the panel tells the host; `alarming` when something went wrong."""

    text: str
    alarming: bool = False


@dataclass(frozen=True)
class HauntLine:
    """A haunt as the panel lists it; `last_words` is None until it has spoken."""

    name: str
    personality: str
    voice_model: str
    last_words: Manifestation | None


@dataclass(frozen=True)
class SeanceState:
    """What the panel shows of the séance at one tick."""

    source: str
    level_dbfs: float
    voiced: bool
    participants: tuple[Participant, ...]
    atmosphere: float
    rituals: frozenset[str]
    haunts: tuple[HauntLine, ...]
    overflows: int
    underflows: int
    replaying: bool
    messages: tuple[Message, ...]


class SeanceRun:
    """The séance over `engine` (started by the caller); events go out through `publish`."""

    def __init__(
        self, engine: AudioEngine, publish: Publish, seed: int, problem: str | None = None
    ) -> None:
        self.engine = engine
        self._publish = publish
        self.live = SeanceSession(publish)
        self.circle = HauntCircle(default_haunts(), seed)
        self._problem = problem
        self._voices = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seance-voice")
        self._speaking: list[Future[np.ndarray]] = []
        self._messages: deque[Message] = deque(maxlen=MESSAGES_KEPT)
        self._last_words: dict[str, Manifestation] = {}
        self._shown: dict[str, tuple[Manifestation, float]] = {}
        self._started: float | None = None
        self._next_sample = 0.0
        self._replay: SeanceSession | None = None
        self._replay_level: LevelSample | None = None
        self._replay_heard = 0.0
        self._position = 0
        self._listen_afresh()
        self.frame = SceneFrame.silence()

    # -- the frame clock ---------------------------------------------------------------

    def tick(self, now: float) -> SceneFrame:
        """Move the séance on to `now` (monotonic seconds); the frame to show."""
        if self._started is None:
            self._started = now
        at = now - self._started
        for event in self.engine.poll_events():
            notice = EngineNotice(str(event.kind), event.message, round(at, 3))
            self._publish(ENGINE_TOPIC, notice)
            if event.kind is not EngineEventKind.STARTED:  # the header says where it listens
                self._messages.append(Message(f"device lost: {event.message}", alarming=True))
        self._play_ready_voices()
        samples, self._position = self.engine.input_ring.read_since(
            self._position, self.engine.input_ring.capacity
        )
        if self._replay is not None and now - self._replay_heard > REPLAY_HOLD_S:
            self._replay = None
            self._say("the replay ended; back to the live séance")
        if self._replay is None:
            self._live_tick(self.analyser.analyse(samples), at, now)
        self.frame = self._frame(now)
        return self.frame

    def _live_tick(self, analysis: Analysis, at: float, now: float) -> None:
        self.analysis = analysis
        session = self.live
        session.observe(
            MEDIUM,
            at,
            analysis.level_dbfs,
            analysis.voiced,
            analysis.pitch_hz,
            analysis.speaking_rate,
        )
        spoken = self.circle.tick(
            at, session.quiet_for(at), session.atmosphere_level, session.active_rituals
        )
        for manifestation in spoken:
            session.manifested(manifestation)
            self._manifest(manifestation, now)
        if at >= self._next_sample:
            self._next_sample = at + SAMPLE_INTERVAL_S
            stats = self.engine.stats
            sample = LevelSample.of(
                analysis.level_dbfs,
                analysis.voiced,
                analysis.spectrum,
                (stats.overflows, stats.underflows),
                at,
            )
            self._publish(LEVEL_TOPIC, sample)

    def _frame(self, now: float) -> SceneFrame:
        apparitions = tuple(
            Apparition(words.haunt, words.personality, now - since)
            for words, since in self._shown.values()
            if now - since < APPARITION_S
        )
        level = self._replay_level if self._replay is not None else None
        if level is not None:
            return SceneFrame(
                level.level_dbfs,
                level.spectrum_array(),
                self.session.atmosphere_level,
                level.voiced,
                apparitions,
            )
        analysis = self.analysis
        return SceneFrame(
            analysis.level_dbfs,
            analysis.spectrum,
            min(1.0, max(0.0, self.session.atmosphere_level)),
            analysis.voiced,
            apparitions,
        )

    # -- haunts' voices ----------------------------------------------------------------

    def _manifest(self, words: Manifestation, now: float) -> None:
        self._last_words[words.haunt] = words
        self._shown[words.haunt] = (words, now)
        samplerate = self.engine.config.samplerate
        self._speaking.append(
            self._voices.submit(
                speak, words.voice_model, np.random.default_rng(words.voice_seed), samplerate
            )
        )

    def _play_ready_voices(self) -> None:
        ready = [voice for voice in self._speaking if voice.done()]
        for voice in ready:
            self._speaking.remove(voice)
            try:
                self.engine.mixer.play(voice.result(), VOICE_GAIN)
            except ValueError as error:
                self._say(f"a haunt's voice could not be played: {error}", alarming=True)

    # -- the host's rituals and choices ------------------------------------------------

    def start_ritual(self, name: str) -> None:
        self.live.start_ritual(name)

    def end_ritual(self, name: str) -> None:
        self.live.end_ritual(name)

    def reconfigure(self, setup: EngineSetup) -> None:
        """Run the engine with new devices, format or source (from the devices dialog)."""
        self.engine.reconfigure(setup.config, setup.source)
        self._problem = setup.problem
        self._listen_afresh()

    def _listen_afresh(self) -> None:
        self.analyser = Analyser(self.engine.config.samplerate)
        self.analysis = Analysis(FLOOR_DB, np.full(1, FLOOR_DB), False, None, 0.0)
        self._position = self.engine.input_ring.written

    # -- replay ------------------------------------------------------------------------

    def replayed(self, topic: str, data: object, now: float) -> None:
        """Take in a replayed `seance/...` event: the view follows the replay."""
        if self._replay is None:
            self._replay = SeanceSession(_nowhere)
            self._replay_level = None
            self._last_words = {}
            self._say("replaying a recorded séance; the live input is ignored")
        self._replay_heard = now
        try:
            if topic == LEVEL_TOPIC:
                self._replay_level = LevelSample.from_plain(data)
            elif topic != ENGINE_TOPIC and self._replay.apply(topic, data):
                words = self._replay.last_manifestation
                if topic.startswith(haunt_topic("")) and words is not None:
                    self._manifest(words, now)
        except ValueError as error:
            self._say(f"a replayed event was refused: {error}", alarming=True)

    def _say(self, text: str, *, alarming: bool = False) -> None:
        self._messages.append(Message(text, alarming))

    # -- what the panel shows ----------------------------------------------------------

    @property
    def session(self) -> SeanceSession:
        """The session on show: the replay's while one runs, else the live one."""
        return self._replay if self._replay is not None else self.live

    @property
    def replaying(self) -> bool:
        return self._replay is not None

    def state(self) -> SeanceState:
        session = self.session
        stats = self.engine.stats
        haunts = tuple(
            HauntLine(h.name, h.personality, h.voice_model, self._last_words.get(h.name))
            for h in self.circle.haunts
        )
        return SeanceState(
            source=source_text(self.engine, self._problem),
            level_dbfs=self.frame.level_dbfs,
            voiced=self.frame.voiced,
            participants=tuple(session.participants.values()),
            atmosphere=session.atmosphere_level,
            rituals=session.active_rituals,
            haunts=haunts,
            overflows=stats.overflows,
            underflows=stats.underflows,
            replaying=self._replay is not None,
            messages=tuple(self._messages),
        )

    def close(self) -> None:
        """Stop the voices' worker (the engine is its owner's to stop)."""
        self._voices.shutdown(wait=True, cancel_futures=True)


def _nowhere(topic: str, data: object) -> None:
    """A replayed session publishes nothing: its events are in the log already."""
