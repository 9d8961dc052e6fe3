"""The session model: speech starts and stops, sentiment, rituals, atmosphere over time,
manifestations, all published under seance/..., and rebuilt from recorded events."""

from __future__ import annotations

import itertools

import pytest

from phantom_gui.core.plain import plain
from phantom_seance.events import (
    AtmosphereChanged,
    Manifestation,
    ParticipantChanged,
    RitualChanged,
    SpeechChanged,
)
from phantom_seance.model import SeanceSession

FRAME = 1 / 30


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def __call__(self, topic: str, data: object) -> None:
        self.events.append((topic, data))

    def of(self, kind: type) -> list[object]:
        return [data for _, data in self.events if isinstance(data, kind)]


def _talk(
    session: SeanceSession,
    start: float,
    seconds: float,
    *,
    level: float = -25.0,
    pitches: tuple[float, ...] = (120.0, 180.0),
    rate: float = 5.0,
    who: str = "medium",
) -> float:
    now = start
    for index in range(int(seconds / FRAME)):
        now = start + index * FRAME
        voiced = index % 9 != 8
        pitch = pitches[index // 6 % len(pitches)]
        session.observe(who, now, level, voiced, pitch if voiced else None, rate)
    return now


def _silence(session: SeanceSession, start: float, seconds: float, frame: float = FRAME) -> float:
    now = start
    for index in range(int(seconds / frame)):
        now = start + index * frame
        session.observe("medium", now, -70.0, False, None, 0.0)
    return now


def test_a_sentence_is_one_speech_start_and_one_stop_dated_at_the_last_voice() -> None:
    events = Recorder()
    session = SeanceSession(events)
    end = _talk(session, 0.0, 3.0)
    _silence(session, end + FRAME, 2.0)
    speech = events.of(SpeechChanged)
    assert [(s.participant, s.state) for s in speech] == [("medium", "start"), ("medium", "stop")]
    assert speech[1].at <= end and speech[1].at > end - 0.1
    assert ("seance/speech/medium", speech[0]) in events.events
    joined = events.of(ParticipantChanged)[0]
    assert (joined.participant, joined.role) == ("medium", "medium")


def test_lively_speech_scores_above_hushed_monotone_speech() -> None:
    lively, hushed = SeanceSession(Recorder()), SeanceSession(Recorder())
    _talk(lively, 0.0, 10.0, level=-20.0, pitches=(110.0, 160.0, 220.0), rate=6.5)
    _talk(hushed, 0.0, 10.0, level=-48.0, pitches=(100.0, 101.0), rate=2.0)
    assert lively.participants["medium"].sentiment_score > 0.6
    assert hushed.participants["medium"].sentiment_score < -0.6


def test_silence_thickens_the_atmosphere_and_chatter_thins_it_whatever_the_frame_rate() -> None:
    fast, slow = Recorder(), Recorder()
    at_60, at_5 = SeanceSession(fast), SeanceSession(slow)
    _silence(at_60, 0.0, 30.0, frame=1 / 60)
    _silence(at_5, 0.0, 30.0, frame=1 / 5)
    assert 0.55 < at_60.atmosphere_level < 0.7
    assert abs(at_60.atmosphere_level - at_5.atmosphere_level) < 0.01
    published = fast.of(AtmosphereChanged)
    assert 20 <= len(published) <= 40
    assert all(b.level - a.level >= 0.02 for a, b in itertools.pairwise(published))
    thick = at_60.atmosphere_level
    _talk(at_60, 30.0, 10.0)
    assert at_60.atmosphere_level < thick / 2


def test_rituals_are_published_once_and_move_the_atmosphere() -> None:
    events = Recorder()
    summoned, banished = SeanceSession(events), SeanceSession(Recorder())
    for session, ritual in ((summoned, "summoning"), (banished, "banishing")):
        session.observe("medium", 0.0, -70.0, False, None, 0.0)
        session.start_ritual(ritual)
        session.start_ritual(ritual)
    _silence(summoned, 0.0, 20.0)
    _silence(banished, 0.0, 20.0)
    plain_session = SeanceSession(Recorder())
    _silence(plain_session, 0.0, 20.0)
    assert summoned.atmosphere_level > plain_session.atmosphere_level > banished.atmosphere_level
    summoned.end_ritual("summoning")
    summoned.end_ritual("summoning")
    rituals = events.of(RitualChanged)
    assert [(r.name, r.active) for r in rituals] == [("summoning", True), ("summoning", False)]
    assert summoned.active_rituals == frozenset()


def test_a_manifestation_joins_the_spirit_lifts_the_atmosphere_and_breaks_the_quiet() -> None:
    events = Recorder()
    session = SeanceSession(events)
    _silence(session, 0.0, 10.0)
    assert session.quiet_for(10.0) > 9.9
    before = session.atmosphere_level
    haunt = Manifestation("pip", "mischievous", "imp", 10.0, "quiet", 1234)
    session.manifested(haunt)
    assert ("seance/haunt/pip", haunt) in events.events
    assert session.participants["pip"].role == "spirit"
    assert session.atmosphere_level > before + 0.1
    assert session.quiet_for(12.0) == 2.0
    assert session.last_manifestation == haunt


def test_replaying_the_recorded_events_as_plain_dicts_rebuilds_the_session() -> None:
    events = Recorder()
    live = SeanceSession(events)
    live.join("mordred", "spirit", 0.0)
    end = _talk(live, 0.0, 4.0, level=-45.0, pitches=(100.0,), rate=2.0)
    live.start_ritual("summoning")
    _silence(live, end + FRAME, 15.0)
    live.manifested(Manifestation("mordred", "malevolent", "wraith", 16.0, "quiet", 7))
    replayed = SeanceSession(Recorder())
    for topic, data in events.events:
        assert replayed.apply(topic, plain(data))
    assert replayed.participants == live.participants
    assert replayed.active_rituals == live.active_rituals
    assert abs(replayed.atmosphere_level - live.atmosphere_level) < 0.02
    assert replayed.last_manifestation == live.last_manifestation
    assert replayed.apply("seance/level", {"level_dbfs": -30.0}) is False


@pytest.mark.parametrize(
    ("topic", "data", "words"),
    [
        ("seance/atmosphere", {"level": "thick", "at": 1.0}, "field 'level'"),
        ("seance/speech/medium", {"participant": "medium", "at": 1.0}, "'state' is missing"),
        ("seance/ritual/summoning", ["summoning"], "RitualChanged expected"),
    ],
)
def test_a_bad_recorded_event_is_refused_saying_where(topic: str, data: object, words: str) -> None:
    with pytest.raises(ValueError, match=f"^{topic}: .*{words}"):
        SeanceSession(Recorder()).apply(topic, data)


@pytest.mark.parametrize("name", ["", "a/b", "#"])
def test_a_ritual_name_that_cannot_be_a_topic_level_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="topic level"):
        SeanceSession(Recorder()).start_ritual(name)
