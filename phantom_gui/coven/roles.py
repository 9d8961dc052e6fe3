"""Coven roles and the hub topics each may publish to the other members.

Roles are ordered, ``user < moderator < admin``, and rights add up: a role may publish
where its own patterns allow and where every lower role's do. The patterns use the hub's
MQTT wildcards (``+`` one level, ``#`` the rest).
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from phantom_gui.core.topics import TopicRouter, validate_pattern


class Role(StrEnum):
    """What a coven member may do, from the least to the most trusted."""

    USER = "user"
    MODERATOR = "moderator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for user, 1 for moderator, 2 for admin."""
        return _RANKS[self]

    def __lt__(self, other: object) -> bool:
        return self.rank < other.rank if isinstance(other, Role) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= other.rank if isinstance(other, Role) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > other.rank if isinstance(other, Role) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= other.rank if isinstance(other, Role) else NotImplemented

    @classmethod
    def parse(cls, value: Any) -> Role:
        """The role named `value`; `ValueError` naming the known roles when there is none."""
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(role.value for role in cls)
            raise ValueError(f"unknown role {value!r} (known roles: {known})") from None


_RANKS = {role: rank for rank, role in enumerate(Role)}

USER_TOPICS = (
    "chat/#",
    "seance/speech/#",
    "seance/participant/#",
    "seance/level",
    "seance/atmosphere",
    "cauldron/reading/#",
    "cauldron/sensor/#",
    "cauldron/anomaly/#",
    "cauldron/evolution/#",
)
"""What any member may share: talk, séance speech and levels, sensor readings, and
evolutions (a request to a worker, its cancel, a run's generations and end; whose word is
taken about a run is the Cauldron's to decide)."""

MODERATOR_TOPICS = (
    "seance/ritual/#",
    "seance/haunt/#",
    "seance/engine",
    "cauldron/brew/#",
    "cauldron/simulator/#",
    "coven/broadcast",
)
"""Added for moderators: rituals and haunts, brews, simulator faults, and messages to the
whole coven."""

ADMIN_TOPICS = ("#",)
"""Admins may publish anywhere."""


class RoleRights(BaseModel):
    """The hub topic patterns each role may publish remotely (lower roles' rights included)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: tuple[str, ...] = USER_TOPICS
    moderator: tuple[str, ...] = MODERATOR_TOPICS
    admin: tuple[str, ...] = ADMIN_TOPICS

    @field_validator("user", "moderator", "admin")
    @classmethod
    def _valid_patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            validate_pattern(pattern)
        return patterns

    def patterns(self, role: Role) -> tuple[str, ...]:
        """Every pattern `role` may publish on: its own and its lower roles'."""
        return self._patterns[role]

    def allows(self, role: Role, topic: str) -> bool:
        """Whether `role` may publish an event on `topic`."""
        return any(granted <= role for granted in self._router.match(topic))

    @cached_property
    def _own(self) -> dict[Role, tuple[str, ...]]:
        return {Role.USER: self.user, Role.MODERATOR: self.moderator, Role.ADMIN: self.admin}

    @cached_property
    def _patterns(self) -> dict[Role, tuple[str, ...]]:
        return {
            role: tuple(p for lower in Role if lower <= role for p in self._own[lower])
            for role in Role
        }

    @cached_property
    def _router(self) -> TopicRouter[Role]:
        """Each pattern's role, found per topic from the router's cache of matches."""
        router: TopicRouter[Role] = TopicRouter()
        for role, patterns in self._own.items():
            for pattern in patterns:
                router.add(pattern, role)
        return router
