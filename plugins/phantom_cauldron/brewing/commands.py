"""The brewing commands: JSON messages on the command topic (`BREW_TOPIC` by default).

A brew is one message that carries everything a cauldron needs, without the catalogue::

    {"command": "brew", "brew": "brew-1", "recipe": "recipe-7", "start": 1795000000.0,
     "duration_s": 900.0,
     "steps": [{"at_s": 0.0, "action": "heat_to", "temperature_c": 70.0},
               {"at_s": 300.0, "action": "add", "ingredient": "Nettle leaf",
                "quantity": 10.0, "unit": "g", "acidity": 0.02, "magic": 0.5},
               {"at_s": 420.0, "action": "stir"},
               {"at_s": 600.0, "action": "rest"}]}

`start` is when the first step is due (UTC seconds since the epoch; a cauldron that hears
the brew later starts at once) and each step acts `at_s` seconds after it, in order;
the brew ends `duration_s` seconds after its start. A brew starts with the heater off;
`heat_to` and `simmer` set the thermostat to `temperature_c` and turn the heater on,
`rest` turns it off, `add` drops `quantity` (in `unit`) of `ingredient`, which lowers the
pH by `acidity` and lifts the mystical energy by `magic` per unit, and `stir` stirs.

A cancel stops a brew under way and turns the heater off::

    {"command": "cancel", "brew": "brew-1"}
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from phantom_cauldron.recipes.model import HEATED, PotionRecipe

BREW_TOPIC = "phantom/cauldron/brew"


class BrewCommandError(ValueError):
    """A brewing command that cannot be followed: the field at fault, and why."""

    def __init__(self, field: str | None, problem: str, brew: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.brew = brew
        where = "brewing command" if field is None else f"brewing command: field {field!r}"
        super().__init__(f"{where}: {problem}")


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HeatStep(_Message):
    """Set the thermostat to `temperature_c` and turn the heater on."""

    at_s: float = Field(ge=0.0)
    action: Literal["heat_to", "simmer"]
    temperature_c: float = Field(ge=0.0, le=100.0)


class AddStep(_Message):
    """Drop `quantity` of `ingredient`: pH down by `acidity`, energy up by `magic`, per unit."""

    at_s: float = Field(ge=0.0)
    action: Literal["add"]
    ingredient: str = Field(min_length=1)
    quantity: float = Field(gt=0.0)
    unit: str = Field(min_length=1)
    acidity: float
    magic: float = Field(ge=0.0)


class PlainStep(_Message):
    """Stir, or rest with the heater off."""

    at_s: float = Field(ge=0.0)
    action: Literal["stir", "rest"]


Step = Annotated[HeatStep | AddStep | PlainStep, Field(discriminator="action")]


class BrewCommand(_Message):
    """Brew recipe `recipe` as brew `brew`: its steps, each at its offset from `start`."""

    command: Literal["brew"] = "brew"
    brew: str = Field(min_length=1)
    recipe: str = Field(min_length=1)
    start: float
    duration_s: float = Field(ge=0.0)
    steps: tuple[Step, ...]

    @model_validator(mode="after")
    def _steps_in_order_within_the_brew(self) -> BrewCommand:
        offsets = [step.at_s for step in self.steps]
        if offsets != sorted(offsets):
            raise BrewCommandError("steps", "the steps' at_s must not decrease", self.brew)
        if offsets and offsets[-1] > self.duration_s:
            raise BrewCommandError("duration_s", "a step starts after the brew ends", self.brew)
        return self

    def payload(self) -> bytes:
        """The command as JSON."""
        return self.model_dump_json().encode()


class CancelCommand(_Message):
    """Stop brew `brew` and turn the heater off."""

    command: Literal["cancel"] = "cancel"
    brew: str = Field(min_length=1)

    def payload(self) -> bytes:
        """The command as JSON."""
        return self.model_dump_json().encode()


class _Any(BaseModel):
    command: Annotated[BrewCommand | CancelCommand, Field(discriminator="command")]


def commands_for(
    recipe: PotionRecipe, brew_id: str, start: float | None = None
) -> dict[str, object]:
    """The brew message for `recipe` as brew `brew_id`, its first step due at `start` (now
    by default): JSON-ready, with each added ingredient's unit, acidity and magic taken
    from the recipe's own ingredients."""
    steps: list[HeatStep | AddStep | PlainStep] = []
    at = 0.0
    for step in recipe.brewing_steps:
        if step.action in HEATED and step.temperature_c is not None:
            steps.append(HeatStep(at_s=at, action=step.action, temperature_c=step.temperature_c))
        elif step.ingredient is not None and step.quantity is not None:
            ingredient = recipe.ingredient(step.ingredient)
            steps.append(
                AddStep(
                    at_s=at,
                    action="add",
                    ingredient=ingredient.name,
                    quantity=step.quantity,
                    unit=ingredient.unit,
                    acidity=ingredient.acidity,
                    magic=ingredient.magic,
                )
            )
        elif step.action in ("stir", "rest"):
            steps.append(PlainStep(at_s=at, action=step.action))
        at += step.duration_s
    command = BrewCommand(
        brew=brew_id,
        recipe=recipe.id,
        start=time.time() if start is None else start,
        duration_s=at,
        steps=tuple(steps),
    )
    return command.model_dump(mode="json")


def cancel_for(brew_id: str) -> dict[str, object]:
    """The message that cancels brew `brew_id`."""
    return CancelCommand(brew=brew_id).model_dump(mode="json")


def parse_command(payload: bytes) -> BrewCommand | CancelCommand:
    """The brew or cancel in `payload`; a `BrewCommandError` names the first bad field."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BrewCommandError(None, f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BrewCommandError(None, "expected a JSON object")
    brew = data.get("brew")
    try:
        return _Any.model_validate({"command": data}).command
    except ValidationError as exc:
        raise _error(exc, brew if isinstance(brew, str) else None) from exc


def parse_brew(payload: bytes) -> BrewCommand:
    """The brew in `payload`; a `BrewCommandError` names the first bad field."""
    command = parse_command(payload)
    if not isinstance(command, BrewCommand):
        raise BrewCommandError("command", "expected a brew", command.brew)
    return command


def _error(exc: ValidationError, brew: str | None) -> BrewCommandError:
    """The first problem pydantic found, at its field (without the tags of the unions)."""
    detail = exc.errors()[0]
    cause = detail.get("ctx", {}).get("error")
    if isinstance(cause, BrewCommandError):
        return cause
    loc = [str(part) for part in detail["loc"]]
    parts = loc[2:] if len(loc) > 1 else loc
    if len(parts) >= 3 and parts[0] == "steps":
        del parts[2]
    elif len(parts) == 2 and detail["type"].startswith("union_tag"):
        parts.append("action")
    return BrewCommandError(".".join(parts), detail["msg"], brew)
