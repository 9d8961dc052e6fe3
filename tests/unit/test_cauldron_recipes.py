"""Recipes: the shipped catalogue, clear errors for bad catalogue and recipe files, JSON
round trips, and an effect model whose pH and temperature the simulated cauldron shows."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from phantom_cauldron.recipes.catalogue import Catalogue, load_catalogue
from phantom_cauldron.recipes.effects import Conditions, predict
from phantom_cauldron.recipes.errors import RecipeFileError
from phantom_cauldron.recipes.files import recipe_from_json, recipe_to_json
from phantom_cauldron.recipes.model import BrewingStep, PotionRecipe
from phantom_cauldron.simulator.model import CauldronSimulator
from phantom_cauldron.simulator.physics import PhysicsSettings

START = 1_795_000_000.0
TEMPERATURE_TOLERANCE = 1.1
"""°C between the predicted and the true brew: the thermostat's hysteresis and a substep."""
PH_TOLERANCE = 0.005
READING_TEMPERATURE_TOLERANCE = 1.5
"""°C between the predicted brew and its sensor's reading, which lags and is noisy."""
READING_PH_TOLERANCE = 0.15
"""The pH sensor lags 3 s behind a strong ingredient dissolving."""
GOOD = """
[[ingredient]]
name = "Nettle leaf"
quantity = 5.0
unit = "g"
rarity = "common"
magical_properties = { healing = 0.1 }
"""


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def test_the_shipped_catalogue_has_thirty_ingredients_of_every_rarity(
    catalogue: Catalogue,
) -> None:
    assert len(catalogue) >= 30
    assert {ingredient.rarity for ingredient in catalogue.values()} == {
        "common",
        "rare",
        "legendary",
    }
    assert all(ingredient.magical_properties for ingredient in catalogue.values())


@pytest.mark.parametrize(
    ("text", "entry", "field"),
    [
        ("[[ingredient]\nname = 1", None, None),
        (GOOD.replace('unit = "g"\n', ""), "ingredient 1 ('Nettle leaf')", "unit"),
        (GOOD.replace("5.0", '"five"'), "ingredient 1 ('Nettle leaf')", "quantity"),
        (GOOD.replace('"common"', '"mythic"'), "ingredient 1 ('Nettle leaf')", "rarity"),
        (GOOD + GOOD, "ingredient 2 ('Nettle leaf')", "name"),
        (GOOD.replace("0.1", "-0.1"), "ingredient 1 ('Nettle leaf')", "magical_properties.healing"),
        ("title = 'no ingredients'", None, "ingredient"),
    ],
)
def test_a_malformed_catalogue_names_its_file_entry_and_field(
    tmp_path: Path, text: str, entry: str | None, field: str | None
) -> None:
    path = tmp_path / "ingredients.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecipeFileError) as raised:
        load_catalogue(path)
    error = raised.value
    assert (error.path, error.entry, error.field) == (str(path), entry, field)
    assert str(path) in str(error)
    if field is not None:
        assert repr(field) in str(error)


def brewed(catalogue: Catalogue, rng: random.Random) -> PotionRecipe:
    """A random recipe of four catalogue ingredients and eight steps."""
    names = rng.sample(list(catalogue), 4)
    steps = []
    for _ in range(8):
        action = rng.choice(["heat_to", "simmer", "add", "add", "stir", "rest"])
        duration = float(rng.randrange(0, 900, 30))
        if action in ("heat_to", "simmer"):
            temperature = float(rng.randrange(30, 100))
            steps.append(BrewingStep(action=action, duration_s=duration, temperature_c=temperature))
        elif action == "add":
            name = rng.choice(names)
            quantity = catalogue[name].quantity * rng.choice([1, 2, 3])
            steps.append(
                BrewingStep(action="add", duration_s=duration, ingredient=name, quantity=quantity)
            )
        else:
            steps.append(BrewingStep(action=action, duration_s=duration))
    return PotionRecipe(
        id=f"recipe-{rng.getrandbits(32):08x}",
        ingredients=tuple(catalogue[name] for name in names),
        brewing_steps=tuple(steps),
        genetic_fitness=rng.random(),
        lineage=("parent-a", "parent-b"),
    )


def test_a_recipe_survives_a_json_round_trip(catalogue: Catalogue, tmp_path: Path) -> None:
    recipe = brewed(catalogue, random.Random(1))
    recipe = recipe.model_copy(
        update={"predicted_effects": predict(recipe, Conditions(65.0, 50.0, 6.0, 50.0)).effects}
    )
    path = tmp_path / "recipe.json"
    recipe_to_json(recipe, path)
    assert recipe_from_json(path) == recipe


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda text: text[: len(text) // 2], None),
        (lambda text: text.replace('"heat_to"', '"boil"').replace('"simmer"', '"boil"'), None),
        (lambda text: text.replace('"rarity": "common"', '"rarity": "mythic"', 1), "rarity"),
        (lambda text: text.replace('"id"', '"name"'), "id"),
    ],
)
def test_a_bad_recipe_file_names_its_file_and_field(
    catalogue: Catalogue, tmp_path: Path, change: Callable[[str], str], field: str | None
) -> None:
    recipe = PotionRecipe(
        id="r",
        ingredients=(catalogue["Nettle leaf"],),
        brewing_steps=(
            BrewingStep(action="heat_to", duration_s=60.0, temperature_c=80.0),
            BrewingStep(action="add", duration_s=60.0, ingredient="Nettle leaf", quantity=5.0),
        ),
    )
    path = tmp_path / "recipe.json"
    path.write_text(change(recipe.model_dump_json(indent=2)), encoding="utf-8")
    with pytest.raises(RecipeFileError) as raised:
        recipe_from_json(path)
    assert raised.value.path == str(path)
    assert str(path) in str(raised.value)
    if field is not None:
        assert raised.value.field is not None
        assert raised.value.field.endswith(field)


def test_a_step_must_carry_the_fields_of_its_action_and_add_a_listed_ingredient(
    catalogue: Catalogue,
) -> None:
    with pytest.raises(ValueError, match="heat_to needs temperature_c"):
        BrewingStep(action="heat_to", duration_s=10.0)
    with pytest.raises(ValueError, match="stir takes no ingredient"):
        BrewingStep(action="stir", duration_s=10.0, ingredient="Nettle leaf", quantity=1.0)
    with pytest.raises(ValueError, match="not among the ingredients"):
        PotionRecipe(
            id="r",
            ingredients=(catalogue["Nettle leaf"],),
            brewing_steps=(
                BrewingStep(action="add", duration_s=0.0, ingredient="Stardust", quantity=1.0),
            ),
        )


def test_the_effect_model_is_deterministic_and_heat_and_energy_strengthen_effects(
    catalogue: Catalogue,
) -> None:
    recipe = brewed(catalogue, random.Random(3))
    conditions = Conditions(60.0, 40.0, 6.0, 50.0)
    assert predict(recipe, conditions) == predict(recipe, conditions)
    mandrake = PotionRecipe(
        id="m",
        ingredients=(catalogue["Mandrake root"],),
        brewing_steps=(
            BrewingStep(action="heat_to", duration_s=600.0, temperature_c=90.0),
            BrewingStep(action="add", duration_s=0.0, ingredient="Mandrake root", quantity=1.0),
            BrewingStep(action="simmer", duration_s=900.0, temperature_c=90.0),
        ),
    )

    def healing(recipe: PotionRecipe, conditions: Conditions) -> float:
        effects = {effect.name: effect.strength for effect in predict(recipe, conditions).effects}
        return effects["healing"]

    gentle = mandrake.model_copy(
        update={
            "brewing_steps": (
                BrewingStep(action="heat_to", duration_s=600.0, temperature_c=55.0),
                *mandrake.brewing_steps[1:2],
                BrewingStep(action="simmer", duration_s=900.0, temperature_c=55.0),
            )
        }
    )
    assert healing(mandrake, conditions) > healing(gentle, conditions) > 0.0
    charged = Conditions(60.0, 40.0, 6.0, 70.0)
    assert healing(mandrake, charged) > healing(mandrake, conditions)


def test_the_simulated_cauldron_brews_what_the_model_predicts(catalogue: Catalogue) -> None:
    """Each recipe's steps drive the simulator (random ingredients of its own switched off)
    in simulated time; after every step the brew's true and measured temperature and pH
    are within the stated tolerances of the prediction."""
    physics = PhysicsSettings(ingredients_per_hour=1e-9)
    for seed in range(12):
        rng = random.Random(seed)
        recipe = brewed(catalogue, rng)
        simulator = CauldronSimulator(seed, START + 3000 * seed, physics=physics)
        simulator.step(rng.randrange(0, 600))
        cauldron = simulator.cauldron
        sample = simulator.sample()
        humidity = sample["cauldron_rim_am2301_humidity"]
        assert humidity is not None
        conditions = Conditions(
            cauldron.temperature,
            humidity,
            cauldron.ph(),
            cauldron.mystical_energy(),
            cauldron.room_temperature(),
        )
        prediction = predict(recipe, conditions, physics)
        cauldron.heater_enabled = False
        for step, predicted in zip(recipe.brewing_steps, prediction.after_steps, strict=True):
            if step.temperature_c is not None:
                cauldron.setpoint, cauldron.heater_enabled = step.temperature_c, True
            elif step.action == "rest":
                cauldron.heater_enabled = False
            elif step.ingredient is not None and step.quantity is not None:
                ingredient = recipe.ingredient(step.ingredient)
                cauldron.add_ingredient(
                    ingredient.acidity * step.quantity, ingredient.magic * step.quantity
                )
            simulator.step(step.duration_s)
            sample = simulator.sample()
            temperature = sample["cauldron_core_ds18b20_1_temperature"]
            ph = sample["cauldron_core_ph_ph"]
            assert temperature is not None and ph is not None
            assert cauldron.temperature == pytest.approx(
                predicted.temperature, abs=TEMPERATURE_TOLERANCE
            )
            assert cauldron.ph() == pytest.approx(predicted.ph, abs=PH_TOLERANCE)
            assert temperature == pytest.approx(
                predicted.temperature, abs=READING_TEMPERATURE_TOLERANCE
            )
            assert ph == pytest.approx(predicted.ph, abs=READING_PH_TOLERANCE)
        assert prediction.duration_s == sum(step.duration_s for step in recipe.brewing_steps)
