"""Where a coven lives on the broker: every topic under ``phantom/coven/<coven>/``."""

from __future__ import annotations

from phantom_gui.core.topics import MULTI_LEVEL, SEPARATOR, SINGLE_LEVEL

COVEN_PREFIX = "phantom/coven"
MEMBERS = "members"
EVENTS = "events"


def validate_level(value: str, what: str) -> str:
    """Return `value` if it can be one level of a topic, else raise `ValueError` naming
    `what` it is ("coven name", "instance id")."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"the {what} must be a non-empty string, got {value!r}")
    for forbidden in (SEPARATOR, SINGLE_LEVEL, MULTI_LEVEL, "\x00"):
        if forbidden in value:
            raise ValueError(f"the {what} {value!r} may not contain {forbidden!r}")
    if value.startswith("$"):
        raise ValueError(f"the {what} {value!r} may not start with '$'")
    return value


def coven_topic(coven: str) -> str:
    """The root of coven `coven`'s topics: ``phantom/coven/<coven>``."""
    return f"{COVEN_PREFIX}/{validate_level(coven, 'coven name')}"


def _per_member(coven: str, kind: str, instance: str) -> str:
    return f"{coven_topic(coven)}/{kind}/{validate_level(instance, 'instance id')}"


def _every_member(coven: str, kind: str) -> str:
    return f"{coven_topic(coven)}/{kind}/{SINGLE_LEVEL}"


def _member_in(coven: str, kind: str, topic: str) -> str | None:
    head, _, instance = topic.rpartition(SEPARATOR)
    if head != f"{coven_topic(coven)}/{kind}" or not instance:
        return None
    return instance


def member_topic(coven: str, instance: str) -> str:
    """Where member `instance` keeps its retained status:
    ``phantom/coven/<coven>/members/<instance>``."""
    return _per_member(coven, MEMBERS, instance)


def members_pattern(coven: str) -> str:
    """The pattern of every member's status in `coven`."""
    return _every_member(coven, MEMBERS)


def member_of(coven: str, topic: str) -> str | None:
    """The instance whose status topic `topic` is in `coven`, None for any other topic."""
    return _member_in(coven, MEMBERS, topic)


def events_topic(coven: str, instance: str) -> str:
    """Where member `instance` sends its events (one topic per sender keeps their order):
    ``phantom/coven/<coven>/events/<instance>``."""
    return _per_member(coven, EVENTS, instance)


def events_pattern(coven: str) -> str:
    """The pattern of every member's events in `coven`."""
    return _every_member(coven, EVENTS)


def sender_of(coven: str, topic: str) -> str | None:
    """The instance whose events topic `topic` is in `coven`, None for any other topic."""
    return _member_in(coven, EVENTS, topic)


def patterns_overlap(first: str, second: str) -> bool:
    """Whether some topic matches both (valid) patterns: level by level, a ``#`` matches
    the rest (its parent level included), a ``+`` any one level, else the levels must be
    equal."""
    a, b = first.split(SEPARATOR), second.split(SEPARATOR)
    for index in range(max(len(a), len(b))):
        left = a[index] if index < len(a) else None
        right = b[index] if index < len(b) else None
        if MULTI_LEVEL in (left, right):
            return True
        if left is None or right is None:
            return False
        if SINGLE_LEVEL not in (left, right) and left != right:
            return False
    return True
