"""What a cauldron reports on `<command topic>/status` while it brews, as JSON::

    {"brew": "brew-1", "recipe": "recipe-7", "state": "step", "step": 2, "steps": 4,
     "action": "add", "reason": null}

`state` is `step` when step `step` of `steps` (counted from 1) begins, `done` when the
brew has ended, `cancelled` when a cancel stopped it, and `refused` when a command could
not be followed: `reason` then says why, and `brew` is the command's brew id if it had one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

State = Literal["step", "done", "cancelled", "refused"]


def status_topic(command_topic: str) -> str:
    """Where a cauldron reports on the brews it is told on `command_topic`."""
    return f"{command_topic}/status"


class BrewStatus(BaseModel):
    """A cauldron's news of a brew."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    brew: str | None
    recipe: str | None = None
    state: State
    step: int = 0
    steps: int = 0
    action: str | None = None
    reason: str | None = None

    def payload(self) -> bytes:
        """The status as JSON."""
        return self.model_dump_json().encode()
