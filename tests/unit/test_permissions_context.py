"""Permissions (which topics a grant covers) and `PluginContext`, the plugin's only door."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reactivex.disposable import Disposable
from reactivex.subject import Subject

from phantom_gui.core.errors import BanishmentError
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.core.topics import topic_matches
from phantom_gui.plugins.context import SECURITY_TOPIC, PluginContext
from phantom_gui.plugins.permissions import PermissionSet, pattern_covers, validate_permission

# -- pattern_covers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "requested", "covered"),
    [
        ("a/b", "a/b", True),
        ("a/b", "a/c", False),
        ("a/b", "a/b/c", False),
        ("a/b/c", "a/b", False),
        ("a/+", "a/b", True),
        ("a/+", "a/+", True),
        ("a/+", "a", False),
        ("a/+", "a/b/c", False),
        ("a/+", "a/#", False),
        ("a/b", "a/+", False),
        ("+/b", "a/b", True),
        ("+/b", "+/b", True),
        ("+/+", "a/+", True),
        ("a/+/c", "a/#", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("a/#", "a/+", True),
        ("a/#", "a/#", True),
        ("a/#", "a/+/#", True),
        ("a/#", "b/#", False),
        ("a/#", "#", False),
        ("a/b/#", "a/#", False),
        ("+", "#", False),
        ("+/#", "a", True),
        ("#", "a/b/c", True),
        ("#", "+", True),
        ("#", "#", True),
        ("#", "$SYS/broker", False),
        ("#", "$SYS/#", False),
        ("+/broker", "$SYS/broker", False),
        ("$SYS/#", "$SYS/broker", True),
        ("$SYS/+", "$SYS/+", True),
    ],
)
def test_pattern_covers(granted: str, requested: str, covered: bool) -> None:
    assert pattern_covers(granted, requested) is covered


LEVELS = st.sampled_from(["a", "b", "$s", ""])
PATTERN_LEVELS = st.sampled_from(["a", "b", "$s", "", "+"])


@st.composite
def patterns(draw: st.DrawFn) -> str:
    """A valid MQTT pattern over a tiny alphabet, so that patterns often overlap."""
    levels = draw(st.lists(PATTERN_LEVELS, min_size=1, max_size=4))
    if draw(st.booleans()):
        levels = [*levels[:-1], "#"] if len(levels) > 1 or draw(st.booleans()) else ["#"]
    return "/".join(levels) or "a"  # the empty string is no pattern


@st.composite
def narrowed(draw: st.DrawFn, pattern: str) -> str:
    """A pattern that `pattern` should cover: some of its wildcards made narrower."""
    levels: list[str] = []
    for level in pattern.split("/"):
        if level == "+":
            levels.append(draw(st.sampled_from(["+", "a", "$s", ""])))
        elif level == "#":
            levels.extend(draw(st.lists(PATTERN_LEVELS, max_size=2)))
            if draw(st.booleans()) or not levels:
                levels.append("#")
        else:
            levels.append(level)
    return "/".join(levels) or "a"


@st.composite
def topics_matching(draw: st.DrawFn, pattern: str) -> str:
    """A topic that `pattern` matches: each wildcard replaced by drawn levels."""
    levels: list[str] = []
    for level in pattern.split("/"):
        if level == "+":
            levels.append(draw(LEVELS))
        elif level == "#":
            levels.extend(draw(st.lists(LEVELS, min_size=0 if levels else 1, max_size=3)))
        else:
            levels.append(level)
    return "/".join(levels)


@given(granted=patterns(), data=st.data())
def test_a_covering_grant_matches_every_topic_the_request_matches(
    granted: str, data: st.DataObject
) -> None:
    requested = data.draw(st.one_of(narrowed(granted), patterns()), label="requested")
    assume(pattern_covers(granted, requested))
    topic = data.draw(topics_matching(requested))
    assume(topic and topic_matches(requested, topic))
    assert topic_matches(granted, topic), f"{granted!r} covers {requested!r} but not {topic!r}"


@given(pattern=patterns())
def test_every_pattern_covers_itself(pattern: str) -> None:
    assert pattern_covers(pattern, pattern)


@pytest.mark.parametrize(
    "permission",
    ["hub:publish:a/b", "hub:subscribe:a/+/#", "storage", "audio", "mqtt", "network"],
)
def test_well_formed_permissions_are_accepted(permission: str) -> None:
    assert validate_permission(permission) == permission


@pytest.mark.parametrize(
    ("permission", "words"),
    [
        ("hub:publish:", "non-empty"),
        ("hub:subscribe:a/#/b", "'#' must be the whole last level"),
        ("hub:publish:a+", "'+' must be a whole level"),
        ("hub:listen:a", "unknown permission"),
        ("Storage", "unknown permission"),
    ],
)
def test_malformed_permissions_say_why(permission: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        validate_permission(permission)


def test_a_permission_set_sorts_topics_and_services() -> None:
    granted = PermissionSet.parse(["hub:publish:lantern/#", "hub:subscribe:app/+", "storage"])
    assert granted.may_publish("lantern/flicker") and not granted.may_publish("app/started")
    assert granted.may_subscribe("app/started") and granted.may_subscribe("app/+")
    assert not granted.may_subscribe("app/#") and not granted.may_subscribe("lantern/#")
    assert granted.may_use("storage") and not granted.may_use("network")


# -- PluginContext ----------------------------------------------------------------------


@pytest.fixture
def hub() -> EventHub:
    return EventHub()


def make_context(hub: EventHub, tmp_path: Path, *permissions: str) -> PluginContext:
    return PluginContext(
        "phantom_test",
        hub,
        PermissionSet.parse(list(permissions)),
        Settings(tmp_path / "settings.json"),
        tmp_path / "plugin-data",
    )


def security_events(hub: EventHub) -> list[SpectralEvent]:
    seen: list[SpectralEvent] = []
    hub.on(SECURITY_TOPIC).subscribe(seen.append)
    return seen


def test_publishing_inside_the_permissions_is_published_as_the_plugin(
    hub: EventHub, tmp_path: Path
) -> None:
    context = make_context(hub, tmp_path, "hub:publish:lantern/#")
    seen: list[SpectralEvent] = []
    hub.on("lantern/#").subscribe(seen.append)
    context.hub.publish("lantern/flicker", {"glow": 1})
    assert [(e.topic, e.source, e.data) for e in seen] == [
        ("lantern/flicker", "phantom_test", {"glow": 1})
    ]


def test_publishing_outside_the_permissions_is_banished_and_audited(
    hub: EventHub, tmp_path: Path
) -> None:
    context = make_context(hub, tmp_path, "hub:publish:lantern/#")
    refusals = security_events(hub)
    leaked: list[SpectralEvent] = []
    hub.on("cauldron/#").subscribe(leaked.append)
    with pytest.raises(BanishmentError, match="may not publish on 'cauldron/brew'") as caught:
        context.hub.publish("cauldron/brew", 1)
    assert caught.value.source == "phantom_test"
    assert leaked == []
    assert [event.data for event in refusals] == [
        {
            "plugin": "phantom_test",
            "action": "publish on",
            "target": "cauldron/brew",
            "needed": "hub:publish:cauldron/brew",
        }
    ]
    assert context.banisher.refusals == 1


def test_subscribing_outside_the_permissions_is_banished_and_audited(
    hub: EventHub, tmp_path: Path
) -> None:
    context = make_context(hub, tmp_path, "hub:subscribe:app/+")
    refusals = security_events(hub)
    with pytest.raises(BanishmentError, match="may not subscribe to 'app/#'"):
        context.hub.on("app/#")
    assert [event.data["needed"] for event in refusals] == ["hub:subscribe:app/#"]
    assert hub.subscription_count == 1  # only the test's own security subscription


def test_the_data_folder_needs_the_storage_permission(hub: EventHub, tmp_path: Path) -> None:
    refusals = security_events(hub)
    without = make_context(hub, tmp_path, "hub:publish:a")
    with pytest.raises(BanishmentError, match="needs permission storage"):
        _ = without.data_dir
    assert not (tmp_path / "plugin-data").exists()
    assert [event.data["target"] for event in refusals] == ["storage"]
    with_storage = make_context(hub, tmp_path, "storage")
    assert with_storage.data_dir == tmp_path / "plugin-data" / "phantom_test"
    assert with_storage.data_dir.is_dir()


def test_registered_disposables_are_disposed_with_the_context(
    hub: EventHub, tmp_path: Path
) -> None:
    context = make_context(hub, tmp_path)
    released: list[str] = []
    context.register_disposable(Disposable(lambda: released.append("disposable")))
    context.register_disposable(lambda: released.append("callable"))
    assert released == []
    context.dispose()
    assert released == ["disposable", "callable"]


def test_subscriptions_through_the_context_end_when_it_is_disposed(
    hub: EventHub, tmp_path: Path
) -> None:
    context = make_context(hub, tmp_path, "hub:subscribe:app/#")
    seen: list[str] = []
    context.hub.on("app/#").subscribe(lambda event: seen.append(event.topic))
    hub.publish("app/started", None, source="app")
    context.dispose()
    hub.publish("app/stopping", None, source="app")
    assert seen == ["app/started"]
    assert hub.subscription_count == 0


def test_a_services_stream_owned_by_the_context_ends_when_it_is_disposed(
    hub: EventHub, tmp_path: Path
) -> None:
    context = make_context(hub, tmp_path, "mqtt")
    messages: Subject[str] = Subject()
    seen: list[str] = []
    context.owned(messages).subscribe(seen.append)
    messages.on_next("before teardown")
    context.dispose()
    messages.on_next("after teardown")
    assert seen == ["before teardown"]
    assert not messages.observers


def test_a_subscription_disposed_early_is_released_from_the_hub(
    hub: EventHub, tmp_path: Path
) -> None:
    context = make_context(hub, tmp_path, "hub:subscribe:app/#")
    subscription = context.hub.on("app/#").subscribe(lambda event: None)
    assert hub.subscription_count == 1
    subscription.dispose()
    assert hub.subscription_count == 0
    context.dispose()


def test_settings_are_kept_in_the_plugins_own_corner(hub: EventHub, tmp_path: Path) -> None:
    context = make_context(hub, tmp_path)
    context.settings.set("brightness", 40)
    assert context.settings.get("brightness") == 40
    assert context.settings.get("missing", "default") == "default"
    stored = Settings(tmp_path / "settings.json")
    assert stored.section("plugin/phantom_test") == {"brightness": 40}
