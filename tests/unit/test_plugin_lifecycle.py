"""The plugin lifecycle state machine: the transition table and the errors it raises."""

from __future__ import annotations

import itertools

import pytest

from phantom_gui.plugins.lifecycle import (
    LOADABLE,
    TRANSITIONS,
    InvalidTransition,
    PluginState,
    check_transition,
)

S = PluginState

EXPECTED = {
    S.DISCOVERED: {S.RESOLVED, S.FAILED, S.DISABLED},
    S.RESOLVED: {S.LOADING, S.FAILED, S.DISABLED},
    S.LOADING: {S.ACTIVE, S.FAILED},
    S.ACTIVE: {S.STOPPING},
    S.STOPPING: {S.STOPPED, S.FAILED},
    S.STOPPED: {S.LOADING, S.FAILED, S.DISABLED},
    S.FAILED: {S.LOADING, S.RESOLVED, S.DISABLED},
    S.DISABLED: {S.RESOLVED, S.FAILED},
}

ALL_PAIRS = list(itertools.product(PluginState, PluginState))


def test_the_states_are_the_spec_states() -> None:
    assert [state.value for state in PluginState] == [
        "discovered",
        "resolved",
        "loading",
        "active",
        "stopping",
        "stopped",
        "failed",
        "disabled",
    ]


def test_transition_table_is_exactly_the_lifecycle() -> None:
    assert set(TRANSITIONS) == set(PluginState)
    assert {state: set(targets) for state, targets in TRANSITIONS.items()} == EXPECTED


def test_no_state_moves_to_itself() -> None:
    for state, targets in TRANSITIONS.items():
        assert state not in targets


def test_loadable_states_are_the_ones_that_may_move_to_loading() -> None:
    assert {S.RESOLVED, S.STOPPED, S.FAILED} == LOADABLE
    assert {state for state, targets in TRANSITIONS.items() if S.LOADING in targets} == LOADABLE


def test_the_happy_path_and_a_reload_are_allowed() -> None:
    path = [
        S.DISCOVERED,
        S.RESOLVED,
        S.LOADING,
        S.ACTIVE,
        S.STOPPING,
        S.STOPPED,
        S.LOADING,
        S.ACTIVE,
    ]
    for current, wanted in itertools.pairwise(path):
        check_transition("lantern", current, wanted)


def test_a_failed_load_can_be_retried_and_a_disabled_plugin_re_resolved() -> None:
    for current, wanted in [
        (S.LOADING, S.FAILED),
        (S.FAILED, S.LOADING),
        (S.STOPPED, S.DISABLED),
        (S.DISABLED, S.RESOLVED),
    ]:
        check_transition("lantern", current, wanted)


@pytest.mark.parametrize(("current", "wanted"), ALL_PAIRS, ids=lambda s: s.value)
def test_check_transition_follows_the_table(current: PluginState, wanted: PluginState) -> None:
    if wanted in EXPECTED[current]:
        check_transition("lantern", current, wanted)
    else:
        with pytest.raises(InvalidTransition):
            check_transition("lantern", current, wanted)


def test_invalid_transition_message_names_plugin_states_and_allowed_moves() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_transition("lantern", S.ACTIVE, S.LOADING)
    assert str(caught.value) == (
        "plugin lantern: cannot go from active to loading (allowed: stopping)"
    )


def test_allowed_moves_are_listed_in_alphabetical_order() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_transition("ouija", S.DISCOVERED, S.ACTIVE)
    assert str(caught.value).endswith("(allowed: disabled, failed, resolved)")
    assert "plugin ouija: cannot go from discovered to active" in str(caught.value)


def test_invalid_transition_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="cannot go from disabled to loading"):
        check_transition("lantern", S.DISABLED, S.LOADING)


def test_an_active_plugin_must_stop_before_it_fails_or_stops() -> None:
    for wanted in (S.STOPPED, S.FAILED, S.DISABLED, S.RESOLVED):
        with pytest.raises(InvalidTransition, match="from active to"):
            check_transition("lantern", S.ACTIVE, wanted)
