"""Coven presence without a broker: the last will in connection settings, the topics, the
status JSON, and the members model fed message by message."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from phantom_gui.core.settings import Settings
from phantom_gui.coven.presence import (
    MemberChange,
    Members,
    MemberStatus,
    own_status,
    presence_will,
    with_presence,
)
from phantom_gui.coven.topics import member_of, member_topic, members_pattern
from phantom_gui.mqtt.config import ConfigError, ConnectionConfig, LastWill
from phantom_gui.mqtt.profiles import ConnectionStore

COVEN = "lab"


def _config(**values: object) -> ConnectionConfig:
    return ConnectionConfig.parse({"id": "lab", "name": "Lab", "host": "broker", **values})


def _status(instance: str = "a1", **values: object) -> MemberStatus:
    return own_status(instance, f"Bench {instance}", "desktop", ("phantom_cauldron",)).model_copy(
        update=values
    )


# -- the last will in connection settings ------------------------------------------------


def test_a_last_will_takes_text_as_utf8_and_refuses_a_wildcard_topic_by_its_label() -> None:
    config = _config(will={"topic": "lab/gone", "payload": "parti ☾", "retain": True})

    assert config.will == LastWill(topic="lab/gone", payload="parti ☾".encode(), retain=True)
    with pytest.raises(ConfigError, match=r"^Last will topic: .*wildcards"):
        _config(will={"topic": "lab/#"})
    with pytest.raises(ConfigError, match=r"^Last will QoS: "):
        _config(will={"topic": "lab/gone", "qos": 3})


def test_a_last_will_lives_for_the_session_and_is_never_saved_in_the_profile(
    no_keyring: None, tmp_path: Path
) -> None:
    settings = Settings(tmp_path / "settings.json")
    store = ConnectionStore(settings)

    store.save(_config(will={"topic": "lab/gone", "payload": b"\xff"}))

    [entry] = json.loads(settings.path.read_text())["sections"]["mqtt"]["connections"]
    assert "will" not in entry
    [loaded], problems = ConnectionStore(Settings(settings.path)).load()
    assert loaded.will is None and not problems


# -- topics and statuses -------------------------------------------------------------------


def test_member_topics_live_under_the_coven_prefix_and_refuse_levels_that_are_not_one() -> None:
    assert member_topic("lab", "a1") == "phantom/coven/lab/members/a1"
    assert members_pattern("lab") == "phantom/coven/lab/members/+"
    assert member_of("lab", "phantom/coven/lab/members/a1") == "a1"
    assert member_of("lab", "phantom/coven/lab/members/a1/extra") is None
    assert member_of("lab", "phantom/coven/shed/members/a1") is None
    with pytest.raises(ValueError, match="the coven name 'a/b' may not contain '/'"):
        member_topic("a/b", "a1")
    with pytest.raises(ValueError, match="the instance id '\\+' may not contain '\\+'"):
        member_topic("lab", "+")


def test_the_will_is_the_members_own_status_offline_and_retained() -> None:
    status = _status()

    will = presence_will(COVEN, status)

    assert (will.topic, will.qos, will.retain) == ("phantom/coven/lab/members/a1", 1, True)
    assert MemberStatus.from_json(will.payload) == status.model_copy(update={"state": "offline"})


def test_with_presence_adds_the_will_and_the_members_subscription_once() -> None:
    status = _status()
    config = with_presence(_config(subscriptions=[{"pattern": "vat/#"}]), COVEN, status)

    assert config.will == presence_will(COVEN, status)
    assert [s.pattern for s in config.subscriptions] == ["vat/#", "phantom/coven/lab/members/+"]
    assert with_presence(config, COVEN, status).subscriptions == config.subscriptions


def test_a_status_travels_as_json_and_ignores_fields_it_does_not_know() -> None:
    status = _status()
    fields = json.loads(status.to_json())

    assert set(fields) == {
        "instance",
        "name",
        "role",
        "version",
        "plugins",
        "shares",
        "host",
        "pid",
        "state",
        "since",
    }
    assert MemberStatus.from_json(json.dumps({**fields, "gpu": "none"})) == status
    older = {name: value for name, value in fields.items() if name != "shares"}
    assert MemberStatus.from_json(json.dumps(older)).shares == ()


# -- the members model ---------------------------------------------------------------------


def test_members_follow_joins_leaves_and_removals_with_one_change_each() -> None:
    members = Members(COVEN)
    changes: list[MemberChange] = []
    members.changes.subscribe(changes.append)
    a1, b2 = _status("a1"), _status("b2", name="Attic")
    offline = a1.now("offline")

    for status in (a1, b2, a1, offline):
        members.receive(member_topic(COVEN, status.instance), status.to_json())
    assert members.online() == (b2,)
    assert members.statuses == {"a1": offline, "b2": b2}
    members.receive(member_topic(COVEN, "a1"), b"")

    assert list(members.statuses) == ["b2"]
    assert changes == [
        MemberChange("a1", None, a1),
        MemberChange("b2", None, b2),
        MemberChange("a1", a1, offline),
        MemberChange("a1", offline, None),
    ]
    assert members.revision == 4 and members.refused == 0


def test_members_ignore_other_topics_and_covens() -> None:
    members = Members(COVEN)

    assert members.receive("phantom/coven/shed/members/a1", _status().to_json()) is None
    assert members.receive("phantom/coven/lab/events/a1", b"{}") is None
    assert members.statuses == {} and members.refused == 0


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"\xff\xfe not json", "not a member status (payload: Invalid JSON"),
        (b'{"instance": "a1"}', "not a member status (name: Field required"),
        (b"[1, 2]", "not a member status (payload: Input should be an object"),
        (
            _status(state="asleep").model_dump_json().encode(),
            "not a member status (state: Input should be 'online' or 'offline')",
        ),
        (_status("b2").to_json(), "it names instance 'b2', not 'a1'"),
    ],
    ids=["bytes", "missing fields", "not an object", "unknown state", "another instance"],
)
def test_a_malformed_status_is_refused_logged_by_its_topic_and_counted(
    payload: bytes, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    members = Members(COVEN)
    there = _status()
    members.receive(member_topic(COVEN, "a1"), there.to_json())

    with caplog.at_level(logging.WARNING, "phantom.coven"):
        assert members.receive(member_topic(COVEN, "a1"), payload) is None

    assert members.refused == 1
    assert members.statuses == {"a1": there}
    [record] = caplog.records
    assert record.getMessage().startswith(
        f"refused the member status on phantom/coven/lab/members/a1: {why}"
    )
