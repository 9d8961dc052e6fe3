"""The séance's session: who takes part, who speaks, their mood, the rituals, the atmosphere.

Time is the séance's clock: each call carries `now` (seconds), and every quantity moves
with the time elapsed, not with the number of calls. Changes go out through `publish`
under `seance/...` with the dataclasses of `phantom_seance.events` as data; `apply`
rebuilds the state from such events (a replay from the audit log) without publishing.

Speech. A participant starts speaking at its first voiced observation and stops once no
voice has been heard from it for `HANGOVER_S` (so the gaps between syllables and words
do not break a sentence in pieces); the stop is dated at the last voice heard.

Sentiment, in [-1, 1], from a participant's voiced observations only:
    energy  e = clip((level_dbfs + 35) / 15, -1, 1)     (-50 dBFS: -1, -20 dBFS: +1)
    melody  m = clip((pitch_sd - 2) / 2, -1, 1)          (pitch_sd in semitones)
    pace    p = clip((speaking_rate - 4) / 2, -1, 1)     (syllables per second)
    sentiment = 0.4 e + 0.35 m + 0.25 p
where level, pitch (mean and standard deviation, in semitones) and rate are exponential
averages over the last `SENTIMENT_TAU_S` seconds of voice: -1 is hushed, flat and slow,
+1 loud, lilting and brisk. It is published when it moves by `SENTIMENT_STEP`.

Atmosphere, in [0, 1], follows da/dt = up (1 - a) - down a, solved exactly over each
interval (so it does not depend on how often it is updated), with
    up   = 1/30 s while no living participant speaks (silence)
         + tension / 15 s (tension: the living participants' mean of max(0, -sentiment))
         + 1/20 s while a summoning is active
    down = 1/8 s while a living participant speaks (chatter)
         + 1/10 s while a banishing is active
and each manifestation lifts it a quarter of the way to 1. It is published when it has
moved by `ATMOSPHERE_STEP` since it was last published.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from phantom_seance.events import (
    ATMOSPHERE_TOPIC,
    AtmosphereChanged,
    Manifestation,
    ParticipantChanged,
    RitualChanged,
    Role,
    SpeechChanged,
    from_plain,
    haunt_topic,
    participant_topic,
    ritual_topic,
    speech_topic,
)
from phantom_seance.haunts import BANISHING, SUMMONING

Publish = Callable[[str, object], None]

MEDIUM = "medium"
"""The local microphone's participant id."""
HANGOVER_S = 0.4
SENTIMENT_TAU_S = 4.0
SENTIMENT_STEP = 0.05
ATMOSPHERE_STEP = 0.02
QUIET_RISE_PER_S = 1 / 30
TENSION_RISE_PER_S = 1 / 15
SUMMONING_RISE_PER_S = 1 / 20
CHATTER_FALL_PER_S = 1 / 8
BANISHING_FALL_PER_S = 1 / 10
HAUNT_LIFT = 0.25


@dataclass(frozen=True, slots=True)
class Participant:
    """What a view shows of one participant."""

    id: str
    role: Role
    sentiment_score: float
    speaking: bool


class _Voice:
    """One participant's running state: speech, and the averages its sentiment comes from."""

    __slots__ = (
        "last_observed",
        "last_voiced",
        "level",
        "pitch",
        "pitch_var",
        "published_sentiment",
        "rate",
        "role",
        "sentiment",
        "speaking",
    )

    def __init__(self, role: Role) -> None:
        self.role: Role = role
        self.speaking = False
        self.last_voiced: float | None = None
        self.last_observed: float | None = None
        self.level: float | None = None
        self.pitch: float | None = None
        self.pitch_var = 0.0
        self.rate: float | None = None
        self.sentiment = 0.0
        self.published_sentiment = 0.0

    def hear(self, dt: float, level_dbfs: float, pitch_hz: float | None, rate: float) -> None:
        """Fold one voiced observation, `dt` seconds after the previous, into the averages."""
        weight = -math.expm1(-dt / SENTIMENT_TAU_S) if dt > 0 else 0.0
        self.level = (
            level_dbfs if self.level is None else self.level + weight * (level_dbfs - self.level)
        )
        self.rate = rate if self.rate is None else self.rate + weight * (rate - self.rate)
        if pitch_hz is not None and pitch_hz > 0:
            semitones = 12 * math.log2(pitch_hz / 100.0)
            if self.pitch is None:
                self.pitch = semitones
            else:
                deviation = semitones - self.pitch
                self.pitch += weight * deviation
                self.pitch_var = (1 - weight) * (self.pitch_var + weight * deviation**2)
        energy = np.clip((self.level + 35) / 15, -1, 1)
        melody = np.clip((math.sqrt(self.pitch_var) - 2) / 2, -1, 1)
        pace = np.clip((self.rate - 4) / 2, -1, 1)
        self.sentiment = float(0.4 * energy + 0.35 * melody + 0.25 * pace)


class SeanceSession:
    """The séance's state, moved on by observations, rituals and manifestations."""

    def __init__(self, publish: Publish, *, medium: str = MEDIUM) -> None:
        self._publish = publish
        self.medium = medium
        self._voices: dict[str, _Voice] = {}
        self._rituals: set[str] = set()
        self._atmosphere = 0.0
        self._published_atmosphere = 0.0
        self._clock: float | None = None
        self._started: float | None = None
        self._last_manifestation: Manifestation | None = None

    @property
    def participants(self) -> Mapping[str, Participant]:
        """Everyone in the circle, by id, in the order they joined."""
        return {
            pid: Participant(pid, voice.role, voice.sentiment, voice.speaking)
            for pid, voice in self._voices.items()
        }

    @property
    def active_rituals(self) -> frozenset[str]:
        return frozenset(self._rituals)

    @property
    def atmosphere_level(self) -> float:
        return self._atmosphere

    @property
    def last_manifestation(self) -> Manifestation | None:
        return self._last_manifestation

    def join(self, participant_id: str, role: Role, now: float) -> None:
        """Add a participant (a haunt joins as a `spirit`); joining twice changes nothing."""
        self._advance(now)
        self._voice(participant_id, role)

    def observe(
        self,
        participant_id: str,
        now: float,
        level_dbfs: float,
        voiced: bool,
        pitch_hz: float | None,
        speaking_rate: float,
    ) -> None:
        """One analysis frame of a participant's audio (the medium's microphone or a remote
        participant's stream); an unknown participant joins on its first frame."""
        self._advance(now)
        voice = self._voice(
            participant_id, "medium" if participant_id == self.medium else "participant"
        )
        dt = 0.0 if voice.last_observed is None else max(0.0, now - voice.last_observed)
        voice.last_observed = now
        if not voiced:
            return
        voice.last_voiced = now
        if not voice.speaking:
            voice.speaking = True
            self._publish(speech_topic(participant_id), SpeechChanged(participant_id, "start", now))
        voice.hear(dt, level_dbfs, pitch_hz, speaking_rate)
        if abs(voice.sentiment - voice.published_sentiment) >= SENTIMENT_STEP:
            self._announce(participant_id, voice, now)

    def start_ritual(self, name: str) -> None:
        """Begin a ritual (`summoning`, `banishing` or another); a no-op if it is active."""
        _check_name("ritual", name)
        if name not in self._rituals:
            self._rituals.add(name)
            self._publish(ritual_topic(name), RitualChanged(name, True, self._now()))

    def end_ritual(self, name: str) -> None:
        """End a ritual; a no-op if it is not active."""
        if name in self._rituals:
            self._rituals.discard(name)
            self._publish(ritual_topic(name), RitualChanged(name, False, self._now()))

    def manifested(self, manifestation: Manifestation) -> None:
        """A haunt spoke: it joins as a spirit if new, and the atmosphere thickens."""
        self._advance(manifestation.at)
        self._voice(manifestation.haunt, "spirit")
        self._last_manifestation = manifestation
        self._publish(haunt_topic(manifestation.haunt), manifestation)
        self._atmosphere += HAUNT_LIFT * (1 - self._atmosphere)
        self._announce_atmosphere()

    def quiet_for(self, now: float) -> float:
        """Seconds since anyone last spoke (a haunt included), or since the séance began;
        zero while someone speaks."""
        if self._started is None or any(v.speaking for v in self._voices.values()):
            return 0.0
        heard = [v.last_voiced for v in self._voices.values() if v.last_voiced is not None]
        if self._last_manifestation is not None:
            heard.append(self._last_manifestation.at)
        return max(0.0, now - max([self._started, *heard]))

    def apply(self, topic: str, data: object) -> bool:
        """Take in a recorded `seance/...` event (a dataclass or the plain dict the audit log
        keeps) without publishing anything; False for a topic the model does not keep.
        Raises ValueError naming the topic when the data does not fit it."""
        try:
            return self._apply(topic, data)
        except ValueError as error:
            raise ValueError(f"{topic}: {error}") from None

    def _apply(self, topic: str, data: object) -> bool:
        kind, _, name = topic.removeprefix("seance/").partition("/")
        if topic == ATMOSPHERE_TOPIC:
            atmosphere = from_plain(AtmosphereChanged, data)
            self._replayed_at(atmosphere.at)
            self._atmosphere = self._published_atmosphere = atmosphere.level
        elif kind == "speech" and name:
            speech = from_plain(SpeechChanged, data)
            self._replayed_at(speech.at)
            voice = self._voice(
                name, "medium" if name == self.medium else "participant", quiet=True
            )
            voice.speaking = speech.state == "start"
            voice.last_voiced = speech.at
        elif kind == "participant" and name:
            change = from_plain(ParticipantChanged, data)
            self._replayed_at(change.at)
            voice = self._voice(name, change.role, quiet=True)
            voice.role = change.role
            voice.sentiment = voice.published_sentiment = change.sentiment_score
        elif kind == "ritual" and name:
            ritual = from_plain(RitualChanged, data)
            self._replayed_at(ritual.at)
            (self._rituals.add if ritual.active else self._rituals.discard)(name)
        elif kind == "haunt" and name:
            manifestation = from_plain(Manifestation, data)
            self._replayed_at(manifestation.at)
            self._voice(name, "spirit", quiet=True)
            self._last_manifestation = manifestation
        else:
            return False
        return True

    def _voice(self, participant_id: str, role: Role, *, quiet: bool = False) -> _Voice:
        voice = self._voices.get(participant_id)
        if voice is None:
            _check_name("participant", participant_id)
            voice = self._voices[participant_id] = _Voice(role)
            if not quiet:
                self._announce(participant_id, voice, self._now())
        return voice

    def _announce(self, participant_id: str, voice: _Voice, now: float) -> None:
        voice.published_sentiment = voice.sentiment
        self._publish(
            participant_topic(participant_id),
            ParticipantChanged(participant_id, voice.role, voice.sentiment, now),
        )

    def _now(self) -> float:
        return 0.0 if self._clock is None else self._clock

    def _replayed_at(self, at: float) -> None:
        if self._started is None:
            self._started = at
        self._clock = at if self._clock is None else max(self._clock, at)

    def _advance(self, now: float) -> None:
        """Move the clock on to `now`: end speech that has fallen silent, move the
        atmosphere over the interval, publish what changed noticeably."""
        if self._clock is None:
            self._clock = self._started = now
            return
        if now <= self._clock:
            return
        for pid, voice in self._voices.items():
            if (
                voice.speaking
                and voice.last_voiced is not None
                and now - voice.last_voiced >= HANGOVER_S
            ):
                voice.speaking = False
                self._publish(speech_topic(pid), SpeechChanged(pid, "stop", voice.last_voiced))
        living = [v for v in self._voices.values() if v.role != "spirit"]
        chatter = any(v.speaking for v in living)
        tension = float(np.mean([max(0.0, -v.sentiment) for v in living])) if living else 0.0
        up = (0.0 if chatter else QUIET_RISE_PER_S) + TENSION_RISE_PER_S * tension
        down = CHATTER_FALL_PER_S if chatter else 0.0
        if SUMMONING in self._rituals:
            up += SUMMONING_RISE_PER_S
        if BANISHING in self._rituals:
            down += BANISHING_FALL_PER_S
        if up + down > 0:
            settled = up / (up + down)
            decay = math.exp(-(up + down) * (now - self._clock))
            self._atmosphere = settled + (self._atmosphere - settled) * decay
        self._clock = now
        self._announce_atmosphere()

    def _announce_atmosphere(self) -> None:
        if abs(self._atmosphere - self._published_atmosphere) >= ATMOSPHERE_STEP:
            self._published_atmosphere = self._atmosphere
            self._publish(ATMOSPHERE_TOPIC, AtmosphereChanged(self._atmosphere, self._now()))


def _check_name(what: str, name: str) -> None:
    """A name that becomes a topic level: not empty, no `/`, `+` or `#`."""
    if not name or any(char in name for char in "/+#"):
        raise ValueError(f"{what} name {name!r} cannot be a topic level (empty, or with / + #)")
