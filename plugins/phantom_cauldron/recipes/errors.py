"""Errors for bad catalogue and recipe files, naming the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


class RecipeFileError(ValueError):
    """A catalogue or recipe file that cannot be read: where, and what is wrong."""

    def __init__(self, path: Path | str, entry: str | None, field: str | None, problem: str):
        self.path = str(path)
        self.entry = entry
        self.field = field
        self.problem = problem
        where = [self.path]
        if entry is not None:
            where.append(entry)
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{': '.join(where)}: {problem}")


def invalid(path: Path | str, entry: str | None, error: ValidationError) -> RecipeFileError:
    """The error for `path`'s `entry` that pydantic rejected, at its first bad field."""
    detail = error.errors()[0]
    field = ".".join(str(part) for part in detail["loc"]) or None
    return RecipeFileError(path, entry, field, detail["msg"])
