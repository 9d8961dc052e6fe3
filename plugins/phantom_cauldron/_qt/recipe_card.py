"""A recipe's card: its ingredients with their rarity, its steps, its predicted effects and
its fitness, as rich text."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QTextBrowser, QWidget

from phantom_cauldron.recipes.model import BrewingStep, PotionRecipe
from phantom_gui.qt.theme import ASH, ECTOPLASM, PUMPKIN

RARITY_COLOURS = {"common": ASH, "rare": ECTOPLASM, "legendary": PUMPKIN}
EMPTY = "Select a recipe to see its card."


def step_text(step: BrewingStep) -> str:
    """``heat to 80 °C for 120 s``, ``add 5 g … for 10 s`` and the like."""
    action = step.action.replace("_", " ")
    if step.temperature_c is not None:
        action += f" {step.temperature_c:g} °C"
    elif step.ingredient is not None:
        action += f" {step.quantity:g} × {step.ingredient}"
    return f"{action} for {step.duration_s:g} s"


def recipe_html(recipe: PotionRecipe) -> str:
    """The card's rich text."""
    ingredients = "".join(
        f"<li>{ingredient.quantity:g} {escape(ingredient.unit)} {escape(ingredient.name)}"
        f' <span style="color:{RARITY_COLOURS[ingredient.rarity]}">({ingredient.rarity})</span>'
        "</li>"
        for ingredient in recipe.ingredients
    )
    steps = "".join(f"<li>{escape(step_text(step))}</li>" for step in recipe.brewing_steps)
    effects = "".join(
        f"<li>{escape(effect.name)}: {effect.strength:.3g}</li>"
        for effect in recipe.predicted_effects
    )
    parents = escape(", ".join(recipe.lineage)) or "none"
    return (
        f"<h3>{escape(recipe.id)}</h3>"
        f"<p>Fitness <b>{recipe.genetic_fitness:.4g}</b> · parents {parents}</p>"
        f"<h4>Ingredients</h4><ul>{ingredients or '<li>none</li>'}</ul>"
        f"<h4>Steps</h4><ol>{steps or '<li>none</li>'}</ol>"
        f"<h4>Predicted effects</h4><ul>{effects or '<li>none</li>'}</ul>"
    )


class RecipeCard(QTextBrowser):
    """Shows one recipe, or says how to pick one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("brewingRecipeCard")
        self.recipe: PotionRecipe | None = None
        self.show_recipe(None)

    def show_recipe(self, recipe: PotionRecipe | None) -> None:
        """Show `recipe` (None: the hint)."""
        self.recipe = recipe
        self.setHtml(EMPTY if recipe is None else recipe_html(recipe))
