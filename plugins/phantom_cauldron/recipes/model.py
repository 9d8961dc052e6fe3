"""The recipe's parts: ingredients, brewing steps, effects and the recipe itself.

Frozen pydantic models, so that a recipe read from a file or built by the evolution is
checked the same way and can be shared between threads and processes unchanged.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Rarity = Literal["common", "rare", "legendary"]
Action = Literal["heat_to", "simmer", "add", "stir", "rest"]
HEATED: frozenset[Action] = frozenset({"heat_to", "simmer"})
"""The actions that hold the brew at a temperature, and so need one."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ingredient(_Frozen):
    """An ingredient and how much of it: what it does to the brew's pH and magic per unit,
    and the magical properties it brings (property → strength per unit)."""

    name: str = Field(min_length=1)
    quantity: float = Field(gt=0.0)
    unit: str = Field(min_length=1)
    rarity: Rarity
    magical_properties: dict[str, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict)
    acidity: float = 0.0
    """pH units by which one unit lowers the brew's pH once dissolved (negative: raises)."""
    magic: float = Field(0.0, ge=0.0)
    """Thaum by which one unit lifts the mystical energy."""


class BrewingStep(_Frozen):
    """One step of a brew: `heat_to` or `simmer` hold the brew at `temperature_c`, `add`
    drops `quantity` of `ingredient`, `stir` stirs, `rest` turns the heater off; each then
    lasts `duration_s`."""

    action: Action
    duration_s: float = Field(ge=0.0)
    temperature_c: float | None = Field(None, ge=0.0, le=100.0)
    ingredient: str | None = None
    quantity: float | None = Field(None, gt=0.0)

    @model_validator(mode="after")
    def _fields_of_the_action(self) -> BrewingStep:
        if (self.action in HEATED) != (self.temperature_c is not None):
            need = "needs" if self.action in HEATED else "takes no"
            raise ValueError(f"{self.action} {need} temperature_c")
        adding = self.action == "add"
        if adding != (self.ingredient is not None) or adding != (self.quantity is not None):
            need = "needs" if adding else "takes no"
            raise ValueError(f"{self.action} {need} ingredient and quantity")
        return self


class Effect(_Frozen):
    """A magical property the potion shows, and how strongly."""

    name: str = Field(min_length=1)
    strength: float = Field(ge=0.0)


class PotionRecipe(_Frozen):
    """A recipe: its ingredients, the steps that brew them, the effects predicted for it,
    its fitness in the evolution that made it and the ids of its parents."""

    id: str = Field(min_length=1)
    ingredients: tuple[Ingredient, ...]
    brewing_steps: tuple[BrewingStep, ...]
    predicted_effects: tuple[Effect, ...] = ()
    genetic_fitness: float = 0.0
    lineage: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _steps_add_its_ingredients(self) -> PotionRecipe:
        names = [ingredient.name for ingredient in self.ingredients]
        if len(set(names)) != len(names):
            raise ValueError("an ingredient is listed twice")
        for index, step in enumerate(self.brewing_steps):
            if step.ingredient is not None and step.ingredient not in names:
                raise ValueError(
                    f"brewing_steps.{index} adds {step.ingredient!r}, not among the ingredients"
                )
        return self

    def ingredient(self, name: str) -> Ingredient:
        """The ingredient called `name`."""
        return next(ingredient for ingredient in self.ingredients if ingredient.name == name)
