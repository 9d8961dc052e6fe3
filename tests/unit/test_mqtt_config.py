"""MQTT connection settings: broker URLs, validation messages, and where passwords are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from keyring.errors import KeyringError

from phantom_gui.core.settings import Settings
from phantom_gui.mqtt.config import ConfigError, ConnectionConfig, Subscription, parse_broker_url
from phantom_gui.mqtt.profiles import (
    KEYRING_SERVICE,
    ConnectionStore,
    MqttSettings,
    PasswordStorage,
    keyring_usable,
)

# -- broker URLs --------------------------------------------------------------------------


def test_a_full_url_gives_every_part_decoded() -> None:
    config = parse_broker_url(
        "mqtts://al%40ice:p%3Ass%20w@broker.example.org:8884/?client_id=lab-1"
    )

    assert (config.host, config.port, config.client_id) == ("broker.example.org", 8884, "lab-1")
    assert config.tls.enabled
    assert config.username == "al@ice"
    assert config.password_text() == "p:ss w"
    assert config.id == "cli"
    assert config.subscriptions == (Subscription(pattern="#", qos=1),)


@pytest.mark.parametrize(
    ("url", "port", "tls"),
    [("mqtt://localhost", 1883, False), ("mqtts://localhost", 8883, True)],
)
def test_the_scheme_chooses_tls_and_the_default_port(url: str, port: int, tls: bool) -> None:
    config = parse_broker_url(url)
    assert (config.port, config.tls.enabled, config.username, config.password) == (
        port,
        tls,
        None,
        None,
    )


def test_url_options_set_protocol_and_keepalive_and_ipv6_hosts_work() -> None:
    config = parse_broker_url("mqtt://[::1]:1884?protocol=5&keepalive=30")
    assert (config.host, config.protocol, config.keepalive) == ("::1", "5", 30)
    assert config.broker == "[::1]:1884"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://broker", "starts with mqtt:// or mqtts://"),
        ("mqtt://broker:99999", "port must be a number from 1 to 65535"),
        ("mqtt://broker:0", "Port"),
        ("mqtt://user:secret@:1883", "names no host"),
        ("mqtt://broker/sensors", "no path"),
        ("mqtt://broker/?qos=2", "unknown option qos"),
        ("mqtt://user:secret@broker/?keepalive=1", "Keepalive"),
    ],
)
def test_a_bad_url_says_what_is_wrong_without_echoing_the_password(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        parse_broker_url(url)
    assert "secret" not in str(caught.value)


# -- validation ---------------------------------------------------------------------------


def test_each_invalid_field_is_named_as_the_dialog_names_it() -> None:
    with pytest.raises(ConfigError) as caught:
        ConnectionConfig.parse(
            {
                "name": "",
                "host": "mqtt://broker",
                "port": 70000,
                "keepalive": 1,
                "subscriptions": [{"pattern": "a/#/b"}, {"pattern": "ok", "qos": 3}],
                "tls": {"enabled": True, "key_file": "client.key"},
            }
        )
    lines = str(caught.value).splitlines()
    assert lines == [
        "Name: String should have at least 1 character",
        "Host: give the host name or address alone, without scheme, path or spaces",
        "Port: Input should be less than or equal to 65535",
        "TLS: a client key is only used with its client certificate",
        "Keepalive: Input should be greater than or equal to 5",
        "Subscription 1: pattern 'a/#/b': '#' must be the whole last level",
        "Subscription 2: Input should be less than or equal to 2",
    ]


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"clean_session": False}, "a persistent session needs a client id"),
        ({"password": "x"}, "MQTT 3.1.1 sends a password only with a user name"),
        ({"subscriptions": [{"pattern": "a/+"}, {"pattern": "a/+", "qos": 0}]}, "more than once"),
        ({"id": "a/b"}, "Id: use 1 to 64 letters"),
        ({"colour": "green"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_inconsistent_settings_are_refused_with_the_reason(
    values: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        ConnectionConfig.parse({"name": "Lab", "host": "broker", **values})


def test_mqtt5_takes_a_password_without_a_user_name_and_blank_fields_mean_none() -> None:
    config = ConnectionConfig.parse(
        {
            "name": "Lab",
            "host": "broker",
            "protocol": "5",
            "username": "",
            "password": "token",
            "tls": {"ca_file": ""},
        }
    )
    assert config.username is None and config.password_text() == "token"
    assert config.tls.ca_file is None


# -- where passwords are kept ------------------------------------------------------------


def _profile(**values: object) -> ConnectionConfig:
    return ConnectionConfig.parse(
        {"id": "lab", "name": "Lab", "host": "broker", "username": "alice", **values}
    )


def _file(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_without_a_keyring_the_password_lives_for_the_session_only(
    no_keyring: None, tmp_path: Path
) -> None:
    settings = Settings(tmp_path / "settings.json")
    store = ConnectionStore(settings)
    assert not store.keyring_available

    assert store.save(_profile(password="hunter2")) is PasswordStorage.SESSION

    assert "hunter2" not in _file(settings.path)
    [same_session], _ = store.load()
    assert same_session.password_text() == "hunter2"
    [next_run], problems = ConnectionStore(Settings(settings.path)).load()
    assert next_run.password is None and next_run.username == "alice" and not problems


def test_asked_for_the_password_is_stored_in_the_settings_file(
    no_keyring: None, tmp_path: Path
) -> None:
    settings = Settings(tmp_path / "settings.json")
    storage = ConnectionStore(settings).save(
        _profile(password="hunter2", store_password_in_settings=True)
    )

    assert storage is PasswordStorage.SETTINGS
    [entry] = json.loads(_file(settings.path))["sections"]["mqtt"]["connections"]
    assert entry["password"] == "hunter2"
    [next_run], _ = ConnectionStore(Settings(settings.path)).load()
    assert next_run.password_text() == "hunter2"


def test_with_a_keyring_the_password_goes_there_and_never_to_the_file(
    memory_keyring, tmp_path: Path
) -> None:
    settings = Settings(tmp_path / "settings.json")
    assert keyring_usable()

    assert ConnectionStore(settings).save(_profile(password="hunter2")) is PasswordStorage.KEYRING

    assert "hunter2" not in _file(settings.path)
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "lab"): "hunter2"}
    [next_run], _ = ConnectionStore(Settings(settings.path)).load()
    assert next_run.password_text() == "hunter2"


def test_moving_the_password_to_the_settings_or_removing_the_profile_clears_the_keyring(
    memory_keyring, tmp_path: Path
) -> None:
    store = ConnectionStore(Settings(tmp_path / "settings.json"))
    store.save(_profile(password="hunter2"))
    store.save(_profile(id="shed", password="spade"))

    store.save(_profile(password="hunter2", store_password_in_settings=True))
    store.remove("shed")

    assert memory_keyring.passwords == {}
    [kept], _ = store.load()
    assert (kept.id, kept.password_text()) == ("lab", "hunter2")


def test_a_keyring_that_refuses_leaves_the_password_in_the_session(
    memory_keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*_: object) -> None:
        raise KeyringError("the keyring is locked")

    monkeypatch.setattr(memory_keyring, "set_password", locked)  # a fault on demand
    store = ConnectionStore(Settings(tmp_path / "settings.json"))

    assert store.save(_profile(password="hunter2")) is PasswordStorage.SESSION
    [same_session], _ = store.load()
    assert same_session.password_text() == "hunter2"


def test_profiles_keep_their_order_and_an_edit_replaces_in_place(
    no_keyring: None, tmp_path: Path
) -> None:
    store = ConnectionStore(Settings(tmp_path / "settings.json"))
    for connection_id in ("one", "two", "three"):
        store.save(_profile(id=connection_id, name=connection_id.title()))

    store.save(_profile(id="two", name="Second", port=1884))

    configs, _ = store.load()
    assert [(c.id, c.name, c.port) for c in configs] == [
        ("one", "One", 1883),
        ("two", "Second", 1884),
        ("three", "Three", 1883),
    ]


def test_a_broken_profile_in_the_settings_is_skipped_and_reported(
    no_keyring: None, tmp_path: Path
) -> None:
    settings = Settings(tmp_path / "settings.json")
    settings.save(
        MqttSettings(
            connections=(
                {"id": "bad", "name": "Garage", "host": "broker", "port": "eighty"},
                {"id": "good", "name": "Lab", "host": "broker"},
            )
        )
    )

    configs, problems = ConnectionStore(settings).load()

    assert [config.id for config in configs] == ["good"]
    [problem] = problems
    assert "'Garage'" in problem and "Port" in problem
