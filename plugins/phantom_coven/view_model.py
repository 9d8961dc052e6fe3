"""What the Coven panel shows, kept without Qt: the state line, the members, the traffic
with its rates, the refusals, this member's token and the last broadcasts.

The state arrives from the service's `states()`; the members, the counts, the token and
the broadcasts are polled on the view's frame clock (`poll`), which reads each source only
when its revision moved. `revision` moves only when something on show changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from phantom_coven.rates import FlowRates
from phantom_coven.service import CovenAccess, CovenState
from phantom_gui.coven.claims import Claims
from phantom_gui.coven.presence import Members, MemberStatus
from phantom_gui.coven.service import Broadcast
from phantom_gui.coven.traffic import Flow, Refusal, RefusalKind, Traffic

BROADCASTS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One member as the table shows it."""

    instance: str
    name: str
    role: str
    version: str
    host: str
    plugins: tuple[str, ...]
    online: bool
    since: float
    """Online since, or offline since (as far as this instance knows)."""
    is_self: bool


@dataclass(frozen=True, slots=True)
class FlowRow:
    """Events of one member on one hub topic: counts and rates per second."""

    member: str
    topic: str
    sent: int
    received: int
    sent_per_s: float
    received_per_s: float


@dataclass(frozen=True, slots=True)
class TokenRow:
    """This member's token as people may see it: never the token or its key."""

    name: str
    role: str
    expires_at: float
    key_id: str

    @classmethod
    def of(cls, claims: Claims) -> TokenRow:
        """The parts of `claims` on show."""
        return cls(claims.name, str(claims.role), claims.expires_at, claims.key_id)

    def line(self, now: float) -> str:
        """``Token: attic · user · expires 14:05 (in 2 h) · key k1``."""
        expiry = datetime.fromtimestamp(self.expires_at).strftime("%Y-%m-%d %H:%M")
        left = self.expires_at - now
        when = f"expired {_span(-left)} ago" if left <= 0 else f"in {_span(left)}"
        return f"Token: {self.name} · {self.role} · expires {expiry} ({when}) · key {self.key_id}"


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86_400:.0f} days"


def state_line(state: CovenState, coven: str | None, instance: str | None) -> str:
    """The header's sentence for `state`."""
    status = str(state.status)
    if status == "joined":
        return f"Joined to {coven} as {instance}"
    if status == "joining":
        return f"Joining {coven}…"
    if status == "failed":
        return f"Failed: {state.reason or 'no reason given'}"
    return "Not in a coven" + (f" ({state.reason})" if state.reason else "")


def broadcast_text(broadcast: Broadcast) -> str:
    """A broadcast as one line: ``sender: message``."""
    return f"{broadcast.sender or broadcast.instance}: {broadcast.message}"


class CovenViewModel:
    """The coven as the panel shows it, read from a `CovenAccess`."""

    def __init__(
        self,
        coven: CovenAccess,
        clock: Callable[[], float] = time.time,
        rates: FlowRates | None = None,
    ) -> None:
        self.service = coven
        self._clock = clock
        self._rates = rates if rates is not None else FlowRates()
        self.revision = 0
        self.status = "left"
        self.state_line = "Not in a coven"
        self.members: tuple[MemberRow, ...] = ()
        self.flows: tuple[FlowRow, ...] = ()
        self.refused_by_kind: dict[RefusalKind, int] = dict.fromkeys(RefusalKind, 0)
        self.refused_by_member: dict[str, int] = {}
        self.recent_refusals: tuple[Refusal, ...] = ()
        """Newest first."""
        self.token: TokenRow | None = None
        self.broadcasts: tuple[str, ...] = ()
        """The last broadcasts as text, newest first."""
        self.problem = ""
        """The last join or leave that failed, for people."""
        self._members_seen: tuple[Members | None, int] = (None, -1)
        self._traffic_seen: tuple[Traffic | None, int] = (None, -1)
        self._flow_counts: tuple[tuple[str, str, int, int], ...] = ()
        self._states: dict[str, tuple[bool, float]] = {}

    def now(self) -> float:
        """The model's clock."""
        return self._clock()

    # -- pushed by the service ------------------------------------------------------------

    def on_state(self, state: Any) -> None:
        """Take a state from the service's `states()`."""
        service = self.service
        line = state_line(state, service.coven, service.instance)
        status = str(state.status)
        if (status, line) != (self.status, self.state_line):
            self.status, self.state_line = status, line
            if status in ("joining", "joined"):
                self.problem = ""
            self.revision += 1

    def failed(self, what: str, error: BaseException) -> None:
        """Say that `what` (``join lab``) failed with `error`."""
        self.problem = f"Could not {what}: {error}"
        self.revision += 1

    # -- polled on the frame clock --------------------------------------------------------

    def poll(self) -> bool:
        """Read what moved since the last poll; whether anything on show changed."""
        before = self.revision
        now = self._clock()
        self._poll_members(now)
        self._poll_traffic(now)
        self._poll_token()
        self._poll_broadcasts()
        return self.revision != before

    def _poll_members(self, now: float) -> None:
        members = self.service.members
        seen = (members, -1 if members is None else members.revision)
        if seen == self._members_seen:
            return
        self._members_seen = seen
        statuses = {} if members is None else dict(members.statuses)
        rows = tuple(
            sorted(
                (self._row(status, now) for status in statuses.values()),
                key=lambda row: (not row.online, row.name, row.instance),
            )
        )
        self._states = {row.instance: (row.online, row.since) for row in rows}
        if rows != self.members:
            self.members = rows
            self.revision += 1

    def _row(self, status: MemberStatus, now: float) -> MemberRow:
        """The row of `status`: since when the status says for a member first seen, since
        `now` for one whose presence changed since the last poll."""
        known = self._states.get(status.instance)
        since = status.since
        if known is not None:
            since = known[1] if known[0] == status.online else now
        return MemberRow(
            instance=status.instance,
            name=status.name,
            role=status.role,
            version=status.version,
            host=status.host,
            plugins=status.plugins,
            online=status.online,
            since=since,
            is_self=status.instance == self.service.instance,
        )

    def _poll_traffic(self, now: float) -> None:
        traffic = self.service.traffic
        if traffic is not self._traffic_seen[0]:
            self._rates.clear()
        seen = (traffic, -1 if traffic is None else traffic.revision)
        counts_moved = seen != self._traffic_seen
        self._traffic_seen = seen
        if not counts_moved and not self._rates.due(now):
            return
        flows: tuple[Flow, ...] = ()
        if traffic is not None:
            snapshot = traffic.snapshot()
            flows = snapshot.flows
            if counts_moved:
                self.refused_by_kind = dict(snapshot.refused)
                self.refused_by_member = dict(snapshot.refused_by_member)
                self.recent_refusals = tuple(reversed(snapshot.recent))
                self.revision += 1
        self._rates.sample(now, flows)
        rows = tuple(
            FlowRow(f.member, f.topic, f.sent, f.received, *self._rates.of(f.member, f.topic))
            for f in reversed(flows)
        )
        if rows != self.flows:
            self.flows = rows
            self.revision += 1

    def _poll_token(self) -> None:
        claims = self.service.claims
        token = None if claims is None else TokenRow.of(claims)
        if token != self.token:
            self.token = token
            self.revision += 1

    def _poll_broadcasts(self) -> None:
        last = tuple(self.service.broadcasts)[-BROADCASTS_SHOWN:]
        shown = tuple(broadcast_text(broadcast) for broadcast in reversed(last))
        if shown != self.broadcasts:
            self.broadcasts = shown
            self.revision += 1

    # -- what the user asks ---------------------------------------------------------------

    async def join(self, coven: str) -> None:
        """Join `coven`; `ValueError` naming the problem if the name is blank."""
        name = coven.strip()
        if not name:
            raise ValueError("the coven name is empty: type the name of the coven to join")
        await self.service.join(name)

    async def leave(self) -> None:
        """Leave the coven."""
        await self.service.leave()
