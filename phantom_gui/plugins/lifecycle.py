"""The plugin lifecycle as an explicit state machine."""

from __future__ import annotations

from enum import Enum


class PluginState(Enum):
    """Where a plugin stands."""

    DISCOVERED = "discovered"
    RESOLVED = "resolved"
    LOADING = "loading"
    ACTIVE = "active"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    DISABLED = "disabled"


_S = PluginState
TRANSITIONS: dict[PluginState, frozenset[PluginState]] = {
    _S.DISCOVERED: frozenset({_S.RESOLVED, _S.FAILED, _S.DISABLED}),
    _S.RESOLVED: frozenset({_S.LOADING, _S.FAILED, _S.DISABLED}),
    _S.LOADING: frozenset({_S.ACTIVE, _S.FAILED}),
    _S.ACTIVE: frozenset({_S.STOPPING}),
    _S.STOPPING: frozenset({_S.STOPPED, _S.FAILED}),
    _S.STOPPED: frozenset({_S.LOADING, _S.FAILED, _S.DISABLED}),
    _S.FAILED: frozenset({_S.LOADING, _S.RESOLVED, _S.DISABLED}),
    _S.DISABLED: frozenset({_S.RESOLVED, _S.FAILED}),
}
"""Each state → the states it may move to."""

LOADABLE = frozenset({_S.RESOLVED, _S.STOPPED, _S.FAILED})
"""States from which a plugin may be (re)activated."""


class InvalidTransition(ValueError):
    """A lifecycle move the state machine does not allow."""

    def __init__(self, plugin_id: str, current: PluginState, wanted: PluginState) -> None:
        allowed = ", ".join(sorted(state.value for state in TRANSITIONS[current])) or "none"
        super().__init__(
            f"plugin {plugin_id}: cannot go from {current.value} to {wanted.value} "
            f"(allowed: {allowed})"
        )


def check_transition(plugin_id: str, current: PluginState, wanted: PluginState) -> None:
    """Raise `InvalidTransition` unless `current` → `wanted` is allowed."""
    if wanted not in TRANSITIONS[current]:
        raise InvalidTransition(plugin_id, current, wanted)
