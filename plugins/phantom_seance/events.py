"""The séance's hub events: frozen dataclasses carried as the data of `seance/...` topics.

The audit log stores them as JSON objects (`phantom_gui.core.plain`), so a replay hands
them back as plain dicts; `from_plain` turns such a dict into the dataclass again and says
which field is missing or of the wrong type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

Role = Literal["medium", "participant", "spirit"]
Personality = Literal["mischievous", "melancholy", "malevolent"]
ROLES: tuple[Role, ...] = get_args(Role)
PERSONALITIES: tuple[Personality, ...] = get_args(Personality)

PREFIX = "seance/"
ATMOSPHERE_TOPIC = "seance/atmosphere"


def speech_topic(participant: str) -> str:
    """Where a participant's speech starts and stops are published."""
    return f"seance/speech/{participant}"


def participant_topic(participant: str) -> str:
    """Where a participant's joining, role and sentiment are published."""
    return f"seance/participant/{participant}"


def ritual_topic(name: str) -> str:
    """Where a ritual's start and end are published."""
    return f"seance/ritual/{name}"


def haunt_topic(name: str) -> str:
    """Where a haunt's manifestations are published."""
    return f"seance/haunt/{name}"


@dataclass(frozen=True, slots=True)
class SpeechChanged:
    """A participant started or stopped speaking (`at` on the séance's clock, seconds)."""

    participant: str
    state: Literal["start", "stop"]
    at: float


@dataclass(frozen=True, slots=True)
class ParticipantChanged:
    """A participant joined, or its sentiment moved by a noticeable step."""

    participant: str
    role: Role
    sentiment_score: float
    """In [-1, 1]: -1 subdued (quiet, monotone, slow), +1 animated (loud, lilting, brisk)."""
    at: float


@dataclass(frozen=True, slots=True)
class RitualChanged:
    """The host started or ended a ritual (`summoning`, `banishing`, or one of their own)."""

    name: str
    active: bool
    at: float


@dataclass(frozen=True, slots=True)
class AtmosphereChanged:
    """The atmosphere moved by a noticeable step; `level` in [0, 1]."""

    level: float
    at: float


@dataclass(frozen=True, slots=True)
class Manifestation:
    """A haunt speaks. `voice_seed` seeds its utterance, so a replay says the same words."""

    haunt: str
    personality: Personality
    voice_model: str
    at: float
    reason: Literal["quiet", "whim"]
    """`quiet`: the room fell silent long enough; `whim`: it spoke out of turn."""
    voice_seed: int


Event = SpeechChanged | ParticipantChanged | RitualChanged | AtmosphereChanged | Manifestation
E = TypeVar("E", SpeechChanged, ParticipantChanged, RitualChanged, AtmosphereChanged, Manifestation)


def from_plain(kind: type[E], data: object) -> E:
    """`data` as a `kind`: itself if it already is one, or made from a plain dict with its
    fields (as the audit log stores it). Raises ValueError naming the field at fault."""
    if isinstance(data, kind):
        return data
    if not isinstance(data, Mapping):
        raise ValueError(f"{kind.__name__} expected, got {type(data).__name__}")
    values: dict[str, Any] = {}
    for name, hint in get_type_hints(kind).items():
        if name not in data:
            raise ValueError(f"{kind.__name__}: field {name!r} is missing")
        value = data[name]
        if not _fits(hint, value):
            raise ValueError(f"{kind.__name__}: field {name!r} cannot be {value!r}")
        values[name] = float(value) if hint is float else value
    return kind(**values)


def _fits(hint: object, value: object) -> bool:
    """Whether `value` is of the field type `hint` (a plain type or a `Literal`)."""
    if get_origin(hint) is Literal:
        return value in get_args(hint)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(hint, type) and isinstance(value, hint)
