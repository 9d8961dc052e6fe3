"""Plugin permissions: which hub topics a plugin may publish and observe, and which services.

Grammar: ``hub:publish:<pattern>``, ``hub:subscribe:<pattern>`` (MQTT-style patterns)
and the service names in `SERVICES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from phantom_gui.core.topics import (
    MULTI_LEVEL,
    SEPARATOR,
    SINGLE_LEVEL,
    topic_matches,
    validate_pattern,
)

SERVICES = frozenset({"audio", "mqtt", "storage", "network", "audit", "coven"})
PUBLISH_PREFIX = "hub:publish:"
SUBSCRIBE_PREFIX = "hub:subscribe:"


def validate_permission(permission: str) -> str:
    """Return `permission` if it is well formed, else raise `ValueError` saying why."""
    for prefix in (PUBLISH_PREFIX, SUBSCRIBE_PREFIX):
        if permission.startswith(prefix):
            validate_pattern(permission[len(prefix) :])
            return permission
    if permission not in SERVICES:
        raise ValueError(
            f"unknown permission {permission!r}: expected hub:publish:<pattern>, "
            f"hub:subscribe:<pattern> or one of {', '.join(sorted(SERVICES))}"
        )
    return permission


def pattern_covers(granted: str, requested: str) -> bool:
    """True when every topic matching `requested` also matches `granted`."""
    if requested.startswith("$") and granted[:1] in (SINGLE_LEVEL, MULTI_LEVEL):
        return False  # as in topic_matches: a leading wildcard never matches "$..." topics
    granted_levels = granted.split(SEPARATOR)
    requested_levels = requested.split(SEPARATOR)
    for index, level in enumerate(granted_levels):
        if level == MULTI_LEVEL:
            return True
        if index >= len(requested_levels):
            return False
        wanted = requested_levels[index]
        if wanted == MULTI_LEVEL:
            return False
        if level != SINGLE_LEVEL and level != wanted:
            return False
    return len(granted_levels) == len(requested_levels)


@dataclass(frozen=True)
class PermissionSet:
    """The permissions one plugin was granted by its manifest."""

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    services: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, permissions: list[str] | tuple[str, ...]) -> PermissionSet:
        """Sort validated permission strings into topics and services."""
        publish, subscribe, services = [], [], set()
        for permission in permissions:
            validate_permission(permission)
            if permission.startswith(PUBLISH_PREFIX):
                publish.append(permission[len(PUBLISH_PREFIX) :])
            elif permission.startswith(SUBSCRIBE_PREFIX):
                subscribe.append(permission[len(SUBSCRIBE_PREFIX) :])
            else:
                services.add(permission)
        return cls(tuple(publish), tuple(subscribe), frozenset(services))

    def may_publish(self, topic: str) -> bool:
        """May the plugin publish on `topic`?"""
        return any(topic_matches(pattern, topic) for pattern in self.publish)

    def may_subscribe(self, pattern: str) -> bool:
        """May the plugin observe every topic `pattern` matches?"""
        return any(pattern_covers(granted, pattern) for granted in self.subscribe)

    def may_publish_all(self, pattern: str) -> bool:
        """May the plugin publish on every topic `pattern` matches?"""
        return any(pattern_covers(granted, pattern) for granted in self.publish)

    def may_use(self, service: str) -> bool:
        """May the plugin use the named service (audio, mqtt, storage, network, audit)?"""
        return service in self.services
