"""What crosses a coven bridge, counted in bounded memory for the coven panel (no Qt).

`Traffic` is written on the hub's thread as events come and go; `snapshot()` gives a
frozen copy a view can read, and `revision` tells a view polling on a frame clock whether
anything changed.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from enum import StrEnum

MAX_FLOWS = 1_000
"""Member and topic pairs counted (and members with refusals); past it, the one idle
longest is forgotten."""
RECENT_REFUSALS = 100
"""The latest refusals kept for the panel."""


class RefusalKind(StrEnum):
    """Why an event was refused."""

    MALFORMED = "malformed"
    """Not an envelope of a known version, or sent on another member's topic."""
    TOKEN = "token"
    """No token, or one that is forged, expired, unsigned or of an unknown key."""
    FORBIDDEN = "forbidden"
    """A valid token whose role has no right on the event's topic."""
    THROTTLED = "throttled"
    """The member sent more than its rate limit allows."""
    UNSEALABLE = "unsealable"
    """A local event that cannot travel as JSON (never sent)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused event, as ``coven/refused`` carries it (never the token)."""

    member: str
    """The instance that sent it (this instance for an unsealable event)."""
    topic: str
    """Its hub topic, or the broker topic it came on when the envelope was unreadable or
    never read (throttled)."""
    reason: str
    kind: RefusalKind
    unreported: int = 0
    """The same refusals since the previous report, counted but not reported (see
    `phantom_gui.coven.reporting`)."""


@dataclass(frozen=True, slots=True)
class Flow:
    """Events of one member on one hub topic: `sent` by this instance, `received` from it."""

    member: str
    topic: str
    sent: int = 0
    received: int = 0


@dataclass(frozen=True, slots=True)
class TrafficSnapshot:
    """A frozen copy of the counts."""

    flows: tuple[Flow, ...]
    """By member and topic, the most recently active last."""
    refused: dict[RefusalKind, int]
    refused_by_member: dict[str, int]
    duplicates: int
    """Copies dropped because their event id was seen already (at-least-once delivery)."""
    late: int
    """Events handed on out of their sender's order: they came after their sender's
    later events had stopped waiting for them."""
    gaps: int
    """Sequence numbers of senders given up after waiting (lost, throttled, or never sent)."""
    recent: tuple[Refusal, ...]
    """The latest refusals, oldest first."""
    revision: int


class Traffic:
    """Counts what a bridge sends, receives, refuses and drops."""

    def __init__(self, max_flows: int = MAX_FLOWS, recent: int = RECENT_REFUSALS) -> None:
        if max_flows < 1:
            raise ValueError(f"Traffic max_flows must be at least 1, got {max_flows!r}")
        self.max_flows = max_flows
        self._flows: OrderedDict[tuple[str, str], list[int]] = OrderedDict()
        self._refused: dict[RefusalKind, int] = dict.fromkeys(RefusalKind, 0)
        self._refused_by_member: OrderedDict[str, int] = OrderedDict()
        self._recent: deque[Refusal] = deque(maxlen=recent)
        self.duplicates = 0
        self.late = 0
        self.gaps = 0
        self.revision = 0

    def sent(self, member: str, topic: str) -> None:
        """Count an event this instance sent."""
        self._flow(member, topic)[0] += 1

    def received(self, member: str, topic: str) -> None:
        """Count an event from `member` handed to the local hub."""
        self._flow(member, topic)[1] += 1

    def refused(self, refusal: Refusal, count: int = 1) -> None:
        """Count `count` events refused alike and keep `refusal` among the recent ones."""
        self._refused[refusal.kind] += count
        by_member = self._refused_by_member
        by_member[refusal.member] = by_member.pop(refusal.member, 0) + count
        if len(by_member) > self.max_flows:
            by_member.popitem(last=False)
        self._recent.append(refusal)
        self.revision += 1

    def duplicate(self) -> None:
        """Count a copy dropped by event id."""
        self.duplicates += 1
        self.revision += 1

    def late_event(self) -> None:
        """Count an event handed on out of its sender's order."""
        self.late += 1
        self.revision += 1

    def gap(self, missed: int) -> None:
        """Count `missed` sequence numbers of a sender given up."""
        self.gaps += missed
        self.revision += 1

    def snapshot(self) -> TrafficSnapshot:
        """The counts now."""
        return TrafficSnapshot(
            flows=tuple(Flow(m, t, s, r) for (m, t), (s, r) in self._flows.items()),
            refused=dict(self._refused),
            refused_by_member=dict(self._refused_by_member),
            duplicates=self.duplicates,
            late=self.late,
            gaps=self.gaps,
            recent=tuple(self._recent),
            revision=self.revision,
        )

    def _flow(self, member: str, topic: str) -> list[int]:
        key = (member, topic)
        counts = self._flows.get(key)
        if counts is None:
            if len(self._flows) == self.max_flows:
                self._flows.popitem(last=False)
            counts = self._flows[key] = [0, 0]
        else:
            self._flows.move_to_end(key)
        self.revision += 1
        return counts
