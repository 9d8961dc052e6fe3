"""Who is in a coven: each member keeps a retained status on the broker, and a last will
that the broker publishes in its place when the member vanishes without a word.

A member's status lives at ``phantom/coven/<coven>/members/<instance>`` (see
`phantom_gui.coven.topics`) as `MemberStatus` JSON, retained: a member that subscribes
later is handed every status at once. `Presence` publishes the member's own status, online
on each (re)connection and offline on a clean leave; its `presence_will` is the offline
status the broker publishes after a crash, a kill or a lost network. `Members` follows the
statuses of everyone.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from reactivex import Observable, abc
from reactivex.subject import Subject

from phantom_gui import __version__
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.coven.topics import member_of, member_topic, members_pattern, validate_level
from phantom_gui.mqtt.config import ConnectionConfig, LastWill, Subscription
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.mqtt.states import ConnectionState, Status, state_topic

log = logging.getLogger("phantom.coven")

LEAVE_TIMEOUT_S = 5.0
"""How long `Presence.leave` waits for the broker to take the offline status."""

State = Literal["online", "offline"]


class MemberStatus(BaseModel):
    """What a member says of itself, as JSON on its status topic.

    Fields a newer Phantom adds are ignored, so members of different versions understand
    each other.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    instance: str
    """Unique in the coven; the last level of the status topic."""
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=64)
    """What the member is for: ``desktop``, ``worker``..."""
    version: str
    plugins: tuple[str, ...] = ()
    """The ids of the plugins it runs."""
    shares: tuple[str, ...] = ()
    """The hub topic patterns it shares with the coven (see `phantom_gui.coven.bridge`)."""
    host: str
    pid: int = Field(ge=1)
    state: State
    since: float
    """Seconds since the epoch when it took this state; in a last will, when it joined
    (the broker publishes the will later, unchanged)."""

    @field_validator("instance")
    @classmethod
    def _valid_instance(cls, instance: str) -> str:
        return validate_level(instance, "instance id")

    @property
    def online(self) -> bool:
        """Whether the member is there."""
        return self.state == "online"

    def to_json(self) -> bytes:
        """The status as it travels."""
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, payload: bytes | str) -> MemberStatus:
        """The status in `payload`; `ValidationError` (a `ValueError`) if it is not one."""
        return cls.model_validate_json(payload)

    def now(self, state: State, clock: Callable[[], float] = time.time) -> MemberStatus:
        """This status in `state` since now."""
        return self.model_copy(update={"state": state, "since": clock()})


def own_status(
    instance: str,
    name: str,
    role: str,
    plugins: tuple[str, ...] = (),
    clock: Callable[[], float] = time.time,
    shares: tuple[str, ...] = (),
) -> MemberStatus:
    """This process's online status: its version, host and pid filled in."""
    return MemberStatus(
        instance=instance,
        name=name,
        role=role,
        version=__version__,
        plugins=plugins,
        shares=shares,
        host=socket.gethostname(),
        pid=os.getpid(),
        state="online",
        since=clock(),
    )


def presence_will(coven: str, status: MemberStatus) -> LastWill:
    """The last will that says `status`'s member went offline, retained in its place."""
    offline = status.model_copy(update={"state": "offline"})
    return LastWill(
        topic=member_topic(coven, status.instance), payload=offline.to_json(), qos=1, retain=True
    )


def with_presence(config: ConnectionConfig, coven: str, status: MemberStatus) -> ConnectionConfig:
    """`config` with the member's last will, subscribed to the coven's member statuses."""
    pattern = members_pattern(coven)
    subscriptions = config.subscriptions
    if all(subscription.pattern != pattern for subscription in subscriptions):
        subscriptions = (*subscriptions, Subscription(pattern=pattern, qos=1))
    return config.model_copy(
        update={"will": presence_will(coven, status), "subscriptions": subscriptions}
    )


class Receipt(Protocol):
    """What a publish returns: it tells when the broker has the message."""

    def wait_for_publish(self, timeout: float | None = None) -> None:
        """Wait until the broker has the message, at most `timeout` seconds."""
        ...

    def is_published(self) -> bool:
        """Whether the broker has the message."""
        ...


class MqttLink(Protocol):
    """The part of a connection (`Connection`, `ProcessConnection`) that presence uses."""

    config: ConnectionConfig
    state: ConnectionState

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> Receipt:
        """Send a message."""
        ...


class Presence:
    """One member's own status on the broker.

    `start` publishes the retained online status now if the connection is up, and again on
    each reconnection (after a lost connection the broker has published the last will);
    `leave` publishes the retained offline status before a clean disconnect, which
    discards the will. The connection's config should come from `with_presence`.
    """

    def __init__(
        self,
        hub: EventHub,
        connection: MqttLink,
        coven: str,
        status: MemberStatus,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._hub = hub
        self._connection = connection
        self._topic = member_topic(coven, status.instance)
        self._clock = clock
        self.status = status
        """The status last published."""
        self._following: abc.DisposableBase | None = None

    def start(self) -> None:
        """Publish the online status now (if connected) and on every reconnection."""
        if self._following is not None:
            return
        self._following = self._hub.on(state_topic(self._connection.config.id)).subscribe(
            self._state_changed
        )
        if self._connection.state.status is Status.CONNECTED:
            self._publish("online")

    def leave(self, timeout: float = LEAVE_TIMEOUT_S) -> None:
        """Publish the offline status and wait (up to `timeout` s) until the broker has it;
        then the connection may close."""
        if self._following is None:
            return
        self._following.dispose()
        self._following = None
        self._publish("offline").wait_for_publish(timeout)

    def _state_changed(self, event: SpectralEvent) -> None:
        state = event.data
        if isinstance(state, ConnectionState) and state.status is Status.CONNECTED:
            self._publish("online")

    def _publish(self, state: State) -> Receipt:
        self.status = self.status.now(state, self._clock)
        return self._connection.publish(self._topic, self.status.to_json(), 1, True)


@dataclass(frozen=True, slots=True)
class MemberChange:
    """One member's status changed: `before` None when it is new, `after` None when its
    status was removed from the broker."""

    instance: str
    before: MemberStatus | None
    after: MemberStatus | None


class Members:
    """The members of one coven, from their statuses on the broker (use on the hub's
    thread).

    `receive` takes each message of ``phantom/coven/<coven>/members/+``; `follow` takes
    them from a stream of a connection's messages. A status that is not valid JSON of a
    `MemberStatus`, or names another instance than its topic, is refused: logged with
    its topic and counted in `refused`. An empty payload (a cleared retained status)
    removes the member. Each change goes to `changes` and bumps `revision`.
    """

    def __init__(self, coven: str) -> None:
        self.coven = coven
        members_pattern(coven)  # a bad coven name fails here, by its name
        self._statuses: dict[str, MemberStatus] = {}
        self._changes: Subject[MemberChange] = Subject()
        self.refused = 0
        """Statuses refused as malformed."""
        self.revision = 0
        """Counts the changes, for views that poll on a frame clock."""

    @property
    def statuses(self) -> Mapping[str, MemberStatus]:
        """The latest status of each member known, online or offline, by instance id."""
        return MappingProxyType(self._statuses)

    @property
    def changes(self) -> Observable[MemberChange]:
        """Each change, as it happens."""
        return self._changes

    def online(self) -> tuple[MemberStatus, ...]:
        """The members online, by name."""
        present = (status for status in self._statuses.values() if status.online)
        return tuple(sorted(present, key=lambda status: (status.name, status.instance)))

    def follow(self, messages: Observable[MqttMessage]) -> abc.DisposableBase:
        """Receive the statuses among `messages` (for example
        `RetainedMessages.messages(connection)`); dispose of the result to stop."""

        def received(message: MqttMessage) -> None:
            self.receive(message.topic, message.payload)

        return messages.subscribe(received)

    def receive(self, topic: str, payload: bytes) -> MemberChange | None:
        """Take the message on `topic`; the change it made, None if none (another topic,
        the same status again, or a refused one)."""
        instance = member_of(self.coven, topic)
        if instance is None:
            return None
        status = None
        if payload:
            status = self._parse(topic, instance, payload)
            if status is None:
                return None
        before = self._statuses.get(instance)
        if status == before:
            return None
        if status is None:
            del self._statuses[instance]
        else:
            self._statuses[instance] = status
        change = MemberChange(instance, before, status)
        self.revision += 1
        self._changes.on_next(change)
        return change

    def _parse(self, topic: str, instance: str, payload: bytes) -> MemberStatus | None:
        try:
            status = MemberStatus.from_json(payload)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc']) or 'payload'}: {problem['msg']}"
                for problem in error.errors()
            )
            self._refuse(topic, f"not a member status ({problems})")
            return None
        if status.instance != instance:
            self._refuse(topic, f"it names instance {status.instance!r}, not {instance!r}")
            return None
        return status

    def _refuse(self, topic: str, why: str) -> None:
        self.refused += 1
        log.warning("refused the member status on %s: %s", topic, why)
