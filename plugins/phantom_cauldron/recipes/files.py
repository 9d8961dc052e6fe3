"""Recipes as JSON files: `recipe_to_json` writes one, `recipe_from_json` reads it back or
raises a `RecipeFileError` naming the file and the field."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from phantom_cauldron.recipes.errors import RecipeFileError, invalid
from phantom_cauldron.recipes.model import PotionRecipe


def recipe_to_json(recipe: PotionRecipe, path: Path) -> None:
    """Write `recipe` to `path` as indented JSON."""
    path.write_text(recipe.model_dump_json(indent=2) + "\n", encoding="utf-8")


def recipe_from_json(path: Path) -> PotionRecipe:
    """The recipe in `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeFileError(path, None, None, str(exc)) from exc
    try:
        return PotionRecipe.model_validate_json(text)
    except ValidationError as exc:
        raise invalid(path, "recipe", exc) from exc
