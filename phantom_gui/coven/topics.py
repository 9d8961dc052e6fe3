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


def member_topic(coven: str, instance: str) -> str:
    """Where member `instance` keeps its retained status:
    ``phantom/coven/<coven>/members/<instance>``."""
    return f"{coven_topic(coven)}/{MEMBERS}/{validate_level(instance, 'instance id')}"


def members_pattern(coven: str) -> str:
    """The pattern of every member's status in `coven`."""
    return f"{coven_topic(coven)}/{MEMBERS}/{SINGLE_LEVEL}"


def member_of(coven: str, topic: str) -> str | None:
    """The instance whose status topic `topic` is in `coven`, None for any other topic."""
    head, _, instance = topic.rpartition(SEPARATOR)
    if head != f"{coven_topic(coven)}/{MEMBERS}" or not instance:
        return None
    return instance


def events_topic(coven: str, instance: str) -> str:
    """Where member `instance` sends its events (one topic per sender keeps their order):
    ``phantom/coven/<coven>/events/<instance>``."""
    return f"{coven_topic(coven)}/{EVENTS}/{validate_level(instance, 'instance id')}"


def events_pattern(coven: str) -> str:
    """The pattern of every member's events in `coven`."""
    return f"{coven_topic(coven)}/{EVENTS}/{SINGLE_LEVEL}"


def sender_of(coven: str, topic: str) -> str | None:
    """The instance whose events topic `topic` is in `coven`, None for any other topic."""
    head, _, instance = topic.rpartition(SEPARATOR)
    if head != f"{coven_topic(coven)}/{EVENTS}" or not instance:
        return None
    return instance


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
