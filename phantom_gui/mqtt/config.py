"""MQTT connection settings: a validated model, and `mqtt[s]://` broker URLs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from phantom_gui.core.topics import validate_pattern, validate_topic

MQTT_PORT = 1883
MQTTS_PORT = 8883
URL_OPTIONS = ("client_id", "protocol", "keepalive")
"""The query parameters a broker URL may carry (`mqtt://host/?client_id=kitchen`)."""

FIELD_LABELS: dict[str, str] = {
    "id": "Id",
    "name": "Name",
    "host": "Host",
    "port": "Port",
    "tls": "TLS",
    "tls.enabled": "Use TLS",
    "tls.ca_file": "CA file",
    "tls.cert_file": "Client certificate",
    "tls.key_file": "Client key",
    "tls.insecure": "Don't verify the broker's certificate",
    "username": "User name",
    "password": "Password",
    "store_password_in_settings": "Store the password in the settings file",
    "client_id": "Client id",
    "protocol": "Protocol",
    "keepalive": "Keepalive",
    "clean_session": "Clean session",
    "subscriptions": "Subscriptions",
    "will": "Last will",
    "will.topic": "Last will topic",
    "will.payload": "Last will payload",
    "will.qos": "Last will QoS",
    "will.retain": "Retain the last will",
}
"""How the user interface names each field, also used in validation messages."""

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FROZEN = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class ConfigError(ValueError):
    """Invalid connection settings; the message names each field and its problem."""


def new_connection_id() -> str:
    """A fresh id for a connection profile."""
    return uuid.uuid4().hex[:8]


class Subscription(BaseModel):
    """A topic pattern to subscribe to, and the QoS to ask for (1: nothing lost)."""

    model_config = _FROZEN

    pattern: str
    qos: int = Field(default=1, ge=0, le=2)

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, pattern: str) -> str:
        return validate_pattern(pattern)


class LastWill(BaseModel):
    """The message the broker publishes for a client whose connection ends without a word
    (a crash, a kill, a lost network); a clean disconnect discards it."""

    model_config = _FROZEN

    topic: str
    payload: bytes = b""
    """Text is sent as UTF-8."""
    qos: int = Field(default=1, ge=0, le=2)
    retain: bool = False

    @field_validator("topic")
    @classmethod
    def _valid_topic(cls, topic: str) -> str:
        return validate_topic(topic)


class TlsSettings(BaseModel):
    """TLS: the CA that signs the broker's certificate, and an optional client certificate."""

    model_config = _FROZEN

    enabled: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    """Skip verifying the broker's certificate (self-signed brokers; no protection)."""

    @field_validator("ca_file", "cert_file", "key_file", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _key_needs_certificate(self) -> TlsSettings:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("a client key is only used with its client certificate")
        return self


class ConnectionConfig(BaseModel):
    """One broker connection: where, how securely, as whom, and what to subscribe to."""

    model_config = _FROZEN

    id: str = Field(default_factory=new_connection_id)
    name: str = Field(min_length=1, max_length=100)
    host: str = Field(min_length=1)
    port: int = Field(default=MQTT_PORT, ge=1, le=65535)
    tls: TlsSettings = TlsSettings()
    username: str | None = None
    password: SecretStr | None = None
    store_password_in_settings: bool = False
    """Write the password in plain text to the settings file (only when the user asks)."""
    client_id: str = Field(default="", max_length=65535)
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive: int = Field(default=60, ge=5, le=65535)
    clean_session: bool = True
    """False keeps a persistent session: the broker queues QoS≥1 messages while away."""
    subscriptions: tuple[Subscription, ...] = (Subscription(pattern="#"),)
    will: LastWill | None = None
    """Set for a session by whoever needs it (the coven's presence); never saved in a profile."""

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError("use 1 to 64 letters, digits, '-' or '_' (it names hub topics)")
        return value

    @field_validator("host")
    @classmethod
    def _bare_host(cls, host: str) -> str:
        if "://" in host or "/" in host or any(char.isspace() for char in host):
            raise ValueError("give the host name or address alone, without scheme, path or spaces")
        return host

    @field_validator("username", "password", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _consistent(self) -> ConnectionConfig:
        if not self.clean_session and not self.client_id:
            raise ValueError(
                "a persistent session needs a client id: the broker finds the session by it"
            )
        if self.protocol == "3.1.1" and self.password is not None and self.username is None:
            raise ValueError("MQTT 3.1.1 sends a password only with a user name")
        patterns = [subscription.pattern for subscription in self.subscriptions]
        repeated = sorted({pattern for pattern in patterns if patterns.count(pattern) > 1})
        if repeated:
            raise ValueError(f"subscribed more than once to {', '.join(repeated)}")
        return self

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> ConnectionConfig:
        """Validate `values`, raising `ConfigError` with one line per problem."""
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ConfigError(describe_validation_error(error)) from None

    @property
    def broker(self) -> str:
        """``host:port`` (``[v6 address]:port``), as messages name the broker."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def password_text(self) -> str | None:
        """The password in clear, for the client that sends it."""
        return None if self.password is None else self.password.get_secret_value()


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem: the field as the user interface names it, then what is wrong."""
    return "\n".join(
        f"{_field_label(problem['loc'])}: {str(problem['msg']).removeprefix('Value error, ')}"
        for problem in error.errors()
    )


def _field_label(location: tuple[int | str, ...]) -> str:
    if not location:
        return "Connection"
    if location[0] == "subscriptions" and len(location) > 1 and isinstance(location[1], int):
        return f"Subscription {location[1] + 1}"
    path = ".".join(str(part) for part in location)
    return FIELD_LABELS.get(path, path)


def parse_broker_url(url: str, *, connection_id: str = "cli") -> ConnectionConfig:
    """The connection that `mqtt[s]://user:pass@host:port[/?client_id=...]` describes.

    ``mqtts`` turns TLS on (port 8883 unless given); the user name and password may be
    percent-encoded; `URL_OPTIONS` may follow as query parameters.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("mqtt", "mqtts"):
        raise ConfigError("a broker URL starts with mqtt:// or mqtts://")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("the port must be a number from 1 to 65535") from None
    if not parts.hostname:
        raise ConfigError("the URL names no host")
    if parts.path not in ("", "/"):
        raise ConfigError("only options (?client_id=...) may follow the host, no path")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(URL_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown option {', '.join(unknown)}; known: {', '.join(URL_OPTIONS)}")
    tls = scheme == "mqtts"
    if port is None:
        port = MQTTS_PORT if tls else MQTT_PORT
    return ConnectionConfig.parse(
        {
            "id": connection_id,
            "name": f"{scheme}://{parts.netloc.rpartition('@')[2]}",
            "host": parts.hostname,
            "port": port,
            "tls": {"enabled": tls},
            "username": None if parts.username is None else unquote(parts.username),
            "password": None if parts.password is None else unquote(parts.password),
            **options,
        }
    )
