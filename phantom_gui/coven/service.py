"""The coven as the app runs it: join one by name, be present, share events, leave.

`CovenService` makes the member's token (given, or minted from the coven secret for the
member's name), opens the coven's connection as an internal session connection of the
`MqttService` (its messages never reach the consumers of every connection, such as the
Cauldron's parser), and runs `Presence`, `Members` and a `CovenBridge` on it. Its `state`
(left, joining, joined, failed with a reason) and `states()` let a panel follow it. Member
changes are logged and published on ``coven/member``; remote ``coven/broadcast`` messages
are logged and the latest kept; both are recorded in the audit log. Use it on the hub's
loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reactivex import Observable
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.subject import BehaviorSubject

from phantom_gui.audit.service import AuditService
from phantom_gui.core.errors import BanishmentError
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.bridge import CovenBridge, is_remote, with_bridge
from phantom_gui.coven.claims import Claims
from phantom_gui.coven.presence import (
    MemberChange,
    Members,
    Presence,
    own_status,
    with_presence,
)
from phantom_gui.coven.ratelimit import RateLimiter
from phantom_gui.coven.roles import Role
from phantom_gui.coven.secret_store import SECRET_VARIABLE, SecretStore
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.coven.topics import validate_level
from phantom_gui.coven.traffic import Traffic
from phantom_gui.mqtt.config import ConnectionConfig, parse_broker_url
from phantom_gui.mqtt.service import MqttService
from phantom_gui.mqtt.states import ConnectionState, Status, state_topic
from phantom_gui.mqtt.throttling import throttled_topic

log = logging.getLogger("phantom.coven")

CONNECTION_ID = "coven"
"""The id of the coven's MQTT connection."""
TOKEN_VARIABLE = "PHANTOM_COVEN_TOKEN"
BROADCAST_TOPIC = "coven/broadcast"
"""A message to every member: ``{"message": ..., "from": ...}``."""
MEMBER_TOPIC = "coven/member"
"""Each change of a member's presence, published on the local hub."""
RECENT_BROADCASTS = 20
SEND_TIMEOUT_S = 10.0

CovenStatus = Literal["left", "joining", "joined", "failed"]


class CovenError(RuntimeError):
    """This instance cannot join (or act in) a coven; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class CovenState:
    """Where this instance stands with its coven."""

    status: CovenStatus
    coven: str | None = None
    reason: str = ""
    """Why it failed, or why it is joining again; empty otherwise."""


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A message another member sent to the whole coven."""

    message: str
    sender: str
    """The member name it came from."""
    instance: str
    received_at: float


@dataclass(frozen=True, slots=True)
class _Membership:
    coven: str
    claims: Claims
    instance: str
    bridge: CovenBridge
    presence: Presence
    members: Members
    running: CompositeDisposable


def _data(event: SpectralEvent) -> Any:
    return event.data


class CovenService:
    """This instance's membership of at most one coven at a time."""

    def __init__(
        self,
        hub: EventHub,
        mqtt: MqttService,
        settings: Settings,
        audit: AuditService | None = None,
        *,
        clock: Callable[[], float] = time.time,
        default_broker: ConnectionConfig | None = None,
        limiter: RateLimiter | None = None,
        plugins: Callable[[], tuple[str, ...]] = tuple,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self._hub = hub
        self._mqtt = mqtt
        self._settings = settings
        self._audit = audit
        self._clock = clock
        self.default_broker = default_broker
        """The broker used when neither `join` nor the settings name one (``--broker``)."""
        self._limiter = limiter
        self._plugins = plugins
        self._environ = environ
        self._membership: _Membership | None = None
        self._states = BehaviorSubject(CovenState("left"))
        self._broadcasts: deque[Broadcast] = deque(maxlen=RECENT_BROADCASTS)

    # -- what there is --------------------------------------------------------------------

    @property
    def state(self) -> CovenState:
        """Where this instance stands now."""
        return self._states.value

    def states(self) -> Observable[CovenState]:
        """The state now, then each change."""
        return self._states

    @property
    def coven(self) -> str | None:
        """The coven joined (or being joined), None when none."""
        return self.state.coven

    @property
    def instance(self) -> str | None:
        """This instance's id in the coven: ``<member name>-<8 hex digits>``, new each join."""
        return None if self._membership is None else self._membership.instance

    @property
    def claims(self) -> Claims | None:
        """What this member's own token says (never the token or the secret)."""
        return None if self._membership is None else self._membership.claims

    @property
    def members(self) -> Members | None:
        """The coven's members, from their presence."""
        return None if self._membership is None else self._membership.members

    @property
    def bridge(self) -> CovenBridge | None:
        """The bridge sharing hub events with the coven."""
        return None if self._membership is None else self._membership.bridge

    @property
    def traffic(self) -> Traffic | None:
        """What crossed the bridge."""
        return None if self._membership is None else self._membership.bridge.traffic

    @property
    def broadcasts(self) -> tuple[Broadcast, ...]:
        """The latest broadcasts from other members, oldest first."""
        return tuple(self._broadcasts)

    # -- joining and leaving --------------------------------------------------------------

    async def join(
        self,
        coven: str,
        *,
        broker: ConnectionConfig | None = None,
        role: Role | str | None = None,
        token: str | None = None,
        member_name: str | None = None,
        persistent: bool = True,
    ) -> None:
        """Join `coven` through `broker` (default: the settings', then `default_broker`)
        with `token` (default: ``PHANTOM_COVEN_TOKEN``, else one minted with the coven
        secret or private key for `member_name`, default the settings', with `role`,
        default user). With key pairs, a member holding only public keys joins with a token.
        A `persistent` member keeps one MQTT session across runs (`CovenSettings.session`):
        the broker holds what is sent to it while it is away, a broker restart included.

        Returns once the connection is under way; `state` says when it is joined.
        `CovenError` (and the failed state) when it cannot: no secret or key, a refused
        token, no broker; or when a coven is joined already.
        """
        if self._membership is not None:
            raise CovenError(f"already in coven {self.coven!r}: leave it first")
        self._set(CovenState("joining", coven))
        try:
            validate_level(coven, "coven name")
            settings = self._settings.load(CovenSettings)
            name = member_name or settings.own_name
            auth, token, claims = self._credentials(settings, name, role, token)
            base = self._broker(settings, broker)
        except (CovenError, ValueError) as error:
            self._set(CovenState("failed", coven, str(error)))
            raise CovenError(str(error)) from None
        instance = f"{claims.name}-{secrets.token_hex(4)}"
        status = own_status(
            instance, claims.name, settings.role, self._plugins(), self._clock, settings.shares
        )
        client_id = f"phantom-{instance}"
        if persistent:
            client_id = f"phantom-{claims.name}-{self._session(settings)}"
        config = base.model_copy(
            update={
                "id": CONNECTION_ID,
                "name": f"Coven {coven}",
                "client_id": client_id,
                "clean_session": not persistent,
                "subscriptions": (),
            }
        )
        config = with_bridge(with_presence(config, coven, status), coven)
        limiter = self._limiter
        connection = self._mqtt.add_session(config, internal=True, limiter=limiter)
        messages = self._mqtt.messages(CONNECTION_ID)
        throttled = self._hub.on(throttled_topic(CONNECTION_ID)).pipe(ops.map(_data))
        members = Members(coven)
        bridge = CovenBridge(
            self._hub,
            connection,
            messages,
            coven=coven,
            instance=instance,
            auth=auth,
            token=token,
            shares=settings.shares,
            throttled=throttled,
            rate_per_s=None if limiter is None else limiter.rate_per_s,
            members=members,
            clock=self._clock,
        )
        presence = Presence(self._hub, connection, coven, status, self._clock)
        running = CompositeDisposable(
            self._hub.on(state_topic(CONNECTION_ID)).subscribe(self._connection_changed),
            members.follow(messages),
            members.changes.subscribe(self._member_changed),
            self._hub.on(BROADCAST_TOPIC).pipe(ops.filter(is_remote)).subscribe(self._heard),
        )
        recorder = None if self._audit is None else self._audit.recorder
        if recorder is not None:
            running.add(recorder.record(MEMBER_TOPIC))
            running.add(recorder.record(BROADCAST_TOPIC))
        self._membership = _Membership(coven, claims, instance, bridge, presence, members, running)
        bridge.start()
        presence.start()
        log.info("joining coven %s as %s (%s)", coven, instance, claims.role)

    async def leave(self) -> None:
        """Say goodbye (the offline status, which the broker keeps), stop the bridge and
        close the coven's connection; nothing if no coven is joined."""
        membership, self._membership = self._membership, None
        if membership is None:
            if self.state.status != "left":
                self._set(CovenState("left"))
            return
        membership.running.dispose()
        if self._mqtt.connection(CONNECTION_ID).state.status is Status.CONNECTED:
            try:
                await asyncio.to_thread(membership.presence.leave)
            except RuntimeError as error:
                log.warning("coven %s: no offline status sent: %s", membership.coven, error)
        membership.bridge.stop()
        await self._mqtt.remove(CONNECTION_ID)
        self._set(CovenState("left"))
        log.info("left coven %s", membership.coven)

    async def broadcast(self, message: str, timeout: float = SEND_TIMEOUT_S) -> None:
        """Send `message` to every member and wait until the broker has it; `CovenError`
        when not joined or not acknowledged within `timeout` s."""
        membership = self._membership
        if membership is None or self.state.status != "joined":
            raise CovenError("not joined to a coven")
        membership.bridge.publish(
            BROADCAST_TOPIC, {"message": message, "from": membership.claims.name}
        )
        if not await asyncio.to_thread(membership.bridge.wait_sent, timeout):
            raise CovenError(f"the broker did not acknowledge the broadcast within {timeout:g} s")

    # -- the parts ------------------------------------------------------------------------

    def _credentials(
        self, settings: CovenSettings, name: str, role: Role | str | None, token: str | None
    ) -> tuple[AuthService, str, Claims]:
        token = token or self._environ.get(TOKEN_VARIABLE) or None
        if settings.uses_key_pairs:
            auth = settings.auth_service()
        else:
            auth = settings.auth_service(self._secret(token))
        if token is None:
            if not auth.can_mint:
                raise CovenError(
                    f"this member only verifies {settings.algorithm} tokens (no "
                    "private_key_file): join with a token minted by the holder of the private "
                    f"key (--coven-token or {TOKEN_VARIABLE})"
                )
            token = auth.generate_token(
                {"name": validate_level(name, "member name"), "role": role or Role.USER}
            )
        try:
            claims = auth.verify(token)
        except BanishmentError as error:
            raise CovenError(f"this member's own token is refused: {error}") from None
        validate_level(claims.name, "token's member name")
        return auth, token, claims

    def _secret(self, token: str | None) -> str:
        secret = SecretStore(self._settings, environ=self._environ).find()
        if secret is None:
            if token is not None:
                raise CovenError(
                    "a token alone cannot join: the coven secret verifies the other members' "
                    f"tokens; set {SECRET_VARIABLE} or keep it with `phantom coven secret --set`"
                )
            raise CovenError(
                "there is no coven secret and no token: set the shared secret in "
                f"{SECRET_VARIABLE} (or `phantom coven secret --set`), or make one with "
                "`phantom coven secret --new`"
            )
        return secret.value.get_secret_value()

    def _session(self, settings: CovenSettings) -> str:
        """This instance's stable session suffix, made and kept on its first join."""
        if settings.session is not None:
            return settings.session
        session = secrets.token_hex(4)
        self._settings.save(settings.model_copy(update={"session": session}))
        return session

    def _broker(self, settings: CovenSettings, broker: ConnectionConfig | None) -> ConnectionConfig:
        if broker is not None:
            return broker
        if settings.broker:
            return parse_broker_url(settings.broker, connection_id=CONNECTION_ID)
        if self.default_broker is not None:
            return self.default_broker
        raise CovenError(
            "no broker for the coven: give --coven-broker mqtt://host[:port], set the "
            "coven's broker in the settings, or connect with --broker"
        )

    def _set(self, state: CovenState) -> None:
        if state != self.state:
            self._states.on_next(state)

    def _connection_changed(self, event: SpectralEvent) -> None:
        state = event.data
        membership = self._membership
        if not isinstance(state, ConnectionState) or membership is None:
            return
        coven = membership.coven
        if state.status is Status.CONNECTED:
            self._set(CovenState("joined", coven))
        elif state.status is Status.FAILED:
            self._set(CovenState("failed", coven, state.message))
        elif state.status is Status.RECONNECTING:
            self._set(CovenState("joining", coven, state.message))

    def _member_changed(self, change: MemberChange) -> None:
        status = change.after or change.before
        if status is None:
            return
        state = "gone" if change.after is None else change.after.state
        log.info(
            "coven %s: member %s (%s, %s on %s) is %s",
            self.coven,
            status.instance,
            status.name,
            status.role,
            status.host,
            state,
        )
        data: dict[str, Any] = {
            "instance": status.instance,
            "name": status.name,
            "role": status.role,
            "host": status.host,
            "state": state,
        }
        self._hub.publish(MEMBER_TOPIC, data, source="coven")

    def _heard(self, event: SpectralEvent) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        sender = str(data.get("from", ""))
        instance = event.metadata.get("origin_realm", "")
        heard = Broadcast(str(data.get("message", "")), sender, instance, self._clock())
        self._broadcasts.append(heard)
        log.info(
            "coven %s: broadcast from %s (%s): %s", self.coven, sender, instance, heard.message
        )
