"""Brewing commands: a recipe's brew survives the round trip through JSON, a bad command
names its field, and the follower acts on each step at its time as the effect model says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from phantom_cauldron.brewing.commands import (
    BrewCommandError,
    CancelCommand,
    cancel_for,
    commands_for,
    parse_brew,
    parse_command,
)
from phantom_cauldron.brewing.follower import BrewFollower
from phantom_cauldron.recipes.catalogue import Catalogue, load_catalogue
from phantom_cauldron.recipes.effects import Conditions, predict
from phantom_cauldron.recipes.model import BrewingStep, PotionRecipe
from phantom_cauldron.simulator.model import CauldronSimulator
from phantom_cauldron.simulator.physics import PhysicsSettings

START = 1_795_000_000.0
TEMPERATURE_TOLERANCE = 1.1
"""°C, as the recipes' test states: the thermostat's hysteresis and a substep."""
PH_TOLERANCE = 0.005


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def recipe(catalogue: Catalogue) -> PotionRecipe:
    return PotionRecipe(
        id="recipe-1",
        ingredients=(catalogue["Basilisk fang"], catalogue["Nettle leaf"]),
        brewing_steps=(
            BrewingStep(action="heat_to", duration_s=400.0, temperature_c=45.0),
            BrewingStep(action="add", duration_s=300.0, ingredient="Basilisk fang", quantity=2.0),
            BrewingStep(action="stir", duration_s=0.0),
            BrewingStep(action="simmer", duration_s=200.0, temperature_c=50.0),
            BrewingStep(action="add", duration_s=60.0, ingredient="Nettle leaf", quantity=10.0),
            BrewingStep(action="rest", duration_s=200.0),
        ),
    )


def test_a_recipe_becomes_a_brew_that_survives_the_round_trip(catalogue: Catalogue) -> None:
    message = commands_for(recipe(catalogue), "brew-1", START)
    brew = parse_brew(json.dumps(message).encode())
    assert (brew.brew, brew.recipe, brew.start, brew.duration_s) == (
        "brew-1",
        "recipe-1",
        START,
        1160.0,
    )
    assert [(step.at_s, step.action) for step in brew.steps] == [
        (0.0, "heat_to"),
        (400.0, "add"),
        (700.0, "stir"),
        (700.0, "simmer"),
        (900.0, "add"),
        (960.0, "rest"),
    ]
    fang = message["steps"][1]  # type: ignore[index]
    assert fang == {
        "at_s": 400.0,
        "action": "add",
        "ingredient": "Basilisk fang",
        "quantity": 2.0,
        "unit": catalogue["Basilisk fang"].unit,
        "acidity": catalogue["Basilisk fang"].acidity,
        "magic": catalogue["Basilisk fang"].magic,
    }
    assert parse_brew(brew.payload()) == brew
    assert parse_command(json.dumps(cancel_for("brew-1")).encode()) == CancelCommand(brew="brew-1")


def _brew(**change: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "command": "brew",
        "brew": "brew-1",
        "recipe": "recipe-1",
        "start": START,
        "duration_s": 600.0,
        "steps": [
            {"at_s": 0.0, "action": "heat_to", "temperature_c": 70.0},
            {
                "at_s": 300.0,
                "action": "add",
                "ingredient": "Nettle leaf",
                "quantity": 5.0,
                "unit": "g",
                "acidity": 0.02,
                "magic": 0.5,
            },
        ],
    }
    message.update(change)
    return message


def _step(index: int, **change: Any) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _brew()["steps"]
    steps[index] = {key: value for key, value in {**steps[index], **change}.items() if value != ...}
    return steps


@pytest.mark.parametrize(
    ("payload", "field", "brew"),
    [
        (b"{not json", None, None),
        (b"[1, 2]", None, None),
        (json.dumps(_brew(command="boil")).encode(), "command", "brew-1"),
        (json.dumps({"brew": "brew-1"}).encode(), "command", "brew-1"),
        (json.dumps(_brew(recipe=...) | {"recipe": None}).encode(), "recipe", "brew-1"),
        (json.dumps(_brew(start="soon")).encode(), "start", "brew-1"),
        (
            json.dumps(_brew(steps=_step(0, temperature_c=...))).encode(),
            "steps.0.temperature_c",
            "brew-1",
        ),
        (
            json.dumps(_brew(steps=_step(0, temperature_c=120))).encode(),
            "steps.0.temperature_c",
            "brew-1",
        ),
        (json.dumps(_brew(steps=_step(1, magic=...))).encode(), "steps.1.magic", "brew-1"),
        (json.dumps(_brew(steps=_step(1, at_s=-1))).encode(), "steps.1.at_s", "brew-1"),
        (json.dumps(_brew(steps=_step(1, action="boil"))).encode(), "steps.1.action", "brew-1"),
        (json.dumps(_brew(steps=_step(0, colour="red"))).encode(), "steps.0.colour", "brew-1"),
        (json.dumps(_brew(steps=_step(1, at_s=700))).encode(), "duration_s", "brew-1"),
        (json.dumps(_brew(steps=_step(0, at_s=400))).encode(), "steps", "brew-1"),
        (json.dumps({"command": "cancel"}).encode(), "brew", None),
    ],
)
def test_a_bad_command_names_its_field(payload: bytes, field: str | None, brew: str | None) -> None:
    with pytest.raises(BrewCommandError) as raised:
        parse_command(payload)
    assert (raised.value.field, raised.value.brew) == (field, brew)
    if field is not None:
        assert repr(field) in str(raised.value)


def test_a_cancel_is_no_brew() -> None:
    with pytest.raises(BrewCommandError, match="expected a brew"):
        parse_brew(json.dumps(cancel_for("brew-1")).encode())


def test_the_follower_brews_what_the_model_predicts_and_a_cancel_stops_it(
    catalogue: Catalogue,
) -> None:
    """Advanced in strides that never meet a step's time, the follower acts on each step at
    its time: after every stride the simulated brew is where the effect model says."""
    physics = PhysicsSettings(ingredients_per_hour=1e-9)
    simulator = CauldronSimulator(5, START, physics=physics)
    cauldron = simulator.cauldron
    conditions = Conditions(
        cauldron.temperature, 50.0, cauldron.ph(), 50.0, cauldron.room_temperature()
    )
    potion = recipe(catalogue)
    brew = parse_brew(json.dumps(commands_for(potion, "brew-1", START)).encode())
    follower = BrewFollower()
    assert follower.begin(brew, simulator.time) is None
    refused = follower.begin(brew, simulator.time)
    assert refused is not None and refused.state == "refused"
    news = []
    while follower.brew is not None:
        news += follower.advance(simulator, 37.0)
        elapsed = simulator.time - START
        if elapsed <= brew.duration_s:
            expected = predict(_until(potion, elapsed), conditions, physics).end
            assert cauldron.temperature == pytest.approx(
                expected.temperature, abs=TEMPERATURE_TOLERANCE
            )
            assert cauldron.ph() == pytest.approx(expected.ph, abs=PH_TOLERANCE)
    assert cauldron.ph() < conditions.ph - 0.5
    assert [(status.state, status.step) for status in news] == [
        *[("step", index) for index in range(1, 7)],
        ("done", 6),
    ]
    assert [status.action for status in news[:-1]] == [step.action for step in brew.steps]

    again = brew.model_copy(update={"brew": "brew-2"})
    assert follower.begin(again, simulator.time) is None
    assert [status.step for status in follower.advance(simulator, 500.0)] == [1, 2]
    assert follower.cancel("brew-1", simulator).state == "refused"
    cancelled = follower.cancel("brew-2", simulator)
    assert (cancelled.state, cancelled.step, cancelled.steps) == ("cancelled", 2, 6)
    ph = cauldron.ph()
    assert follower.advance(simulator, 2000.0) == []
    assert not cauldron.heater_on
    assert cauldron.ph() > ph


def _until(recipe: PotionRecipe, seconds: float) -> PotionRecipe:
    """`recipe`'s first `seconds`: its steps, the last one cut short."""
    steps: list[BrewingStep] = []
    for step in recipe.brewing_steps:
        duration = min(step.duration_s, seconds)
        steps.append(step.model_copy(update={"duration_s": duration}))
        seconds -= duration
        if seconds <= 0.0:
            break
    return recipe.model_copy(update={"brewing_steps": tuple(steps)})
