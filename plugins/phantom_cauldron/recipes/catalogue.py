"""The ingredient catalogue: a TOML file of `[[ingredient]]` tables, checked on load.

The shipped catalogue is `ingredients.toml` in the app's assets; each entry is an
`Ingredient` whose `quantity` and `unit` are its usual portion.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from importlib.resources import files
from pathlib import Path

from pydantic import ValidationError

from phantom_cauldron.recipes.errors import RecipeFileError, invalid
from phantom_cauldron.recipes.model import Ingredient

SHIPPED = "ingredients.toml"


class Catalogue(Mapping[str, Ingredient]):
    """Ingredients by name, in the file's order."""

    def __init__(self, ingredients: tuple[Ingredient, ...]) -> None:
        self._by_name = {ingredient.name: ingredient for ingredient in ingredients}

    def __getitem__(self, name: str) -> Ingredient:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


def shipped_path() -> Path:
    """Where the app's own catalogue lies."""
    return Path(str(files("phantom_gui.assets").joinpath(SHIPPED)))


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue in `path` (the shipped one by default); a `RecipeFileError` names the
    file, the entry and the field of the first problem."""
    path = path or shipped_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RecipeFileError(path, None, None, str(exc)) from exc
    entries = data.get("ingredient")
    if not isinstance(entries, list) or not entries:
        raise RecipeFileError(path, None, "ingredient", "expected [[ingredient]] tables")
    ingredients: list[Ingredient] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        label = f"ingredient {index + 1}"
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            label += f" ({entry['name']!r})"
        try:
            ingredient = Ingredient.model_validate(entry)
        except ValidationError as exc:
            raise invalid(path, label, exc) from exc
        if ingredient.name in seen:
            raise RecipeFileError(path, label, "name", "the name is already in the catalogue")
        seen.add(ingredient.name)
        ingredients.append(ingredient)
    return Catalogue(tuple(ingredients))
