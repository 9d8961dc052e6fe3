"""What the Coven panel needs of the app's ``coven`` service (no Qt)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from reactivex import Observable

from phantom_gui.coven.bridge import CovenBridge
from phantom_gui.coven.claims import Claims
from phantom_gui.coven.presence import Members
from phantom_gui.coven.service import Broadcast
from phantom_gui.coven.traffic import Traffic


class CovenState(Protocol):
    """Where this instance stands: `status` is ``left``, ``joining``, ``joined`` or
    ``failed``, and `reason` says why it failed (or left)."""

    @property
    def status(self) -> str:
        """left | joining | joined | failed."""
        ...

    @property
    def reason(self) -> str:
        """Why, for people; may be empty."""
        ...


class CovenAccess(Protocol):
    """The ``coven`` service as the panel uses it; the parts are None out of a coven."""

    @property
    def coven(self) -> str | None:
        """The coven joined (or being joined)."""
        ...

    @property
    def instance(self) -> str | None:
        """This instance's id in the coven."""
        ...

    @property
    def claims(self) -> Claims | None:
        """What this member's token says (never the token)."""
        ...

    @property
    def members(self) -> Members | None:
        """Everyone's status."""
        ...

    @property
    def bridge(self) -> CovenBridge | None:
        """The bridge sharing hub events with the coven."""
        ...

    @property
    def traffic(self) -> Traffic | None:
        """The bridge's counts."""
        ...

    @property
    def state(self) -> CovenState:
        """Where this instance stands now."""
        ...

    @property
    def broadcasts(self) -> Sequence[Broadcast]:
        """The last broadcasts from other members, oldest first."""
        ...

    def states(self) -> Observable[Any]:
        """The state now, then each change."""
        ...

    async def join(self, coven: str) -> None:
        """Join `coven` with the broker, name and token of the settings."""
        ...

    async def leave(self) -> None:
        """Leave the coven: offline status, then disconnect."""
        ...
