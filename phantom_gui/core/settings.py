"""Settings: one JSON file of sections, one typed, versioned model per component.

Each component declares its settings once, as a `SettingsModel` (a frozen pydantic
model) with a section name and the migrations that bring an older section up to date;
`Settings.load` runs them before the component restores its state, and `Settings.save`
writes the section back, atomically. The file looks like::

    {"format": "phantom-settings/1",
     "sections": {"window": {"version": 1, "geometry": "..."}, "plugins": {...}, ...}}

Files written before sections existed (no ``format``) kept flat keys such as
``"window/geometry"``; they are read as version-0 sections, named by what comes before
the last ``/`` (``"window": {"geometry": ...}``). A file that is
not JSON is kept aside (``.corrupt``) and the app starts with defaults; a section that
does not validate is reported, kept in the file, and replaced by defaults in memory.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from phantom_gui.core.atomic import write_atomically

log = logging.getLogger("phantom.settings")

FORMAT = "phantom-settings/1"
VERSION_FIELD = "version"
LEGACY_SEPARATOR = "/"

Migration = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns a section of one version into the next (the `version` field is set for it)."""


def same_fields(section: dict[str, Any]) -> dict[str, Any]:
    """The migration of a section whose fields kept their names and meaning."""
    return section


class SettingsModel(BaseModel):
    """The settings of one component: its `SECTION` in the file, its fields and defaults.

    `MIGRATIONS[n]` brings a section of version n to version n + 1, so the current
    version is `len(MIGRATIONS)`. Unknown fields (from a newer Phantom) are ignored when
    read and kept in the file when written.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    SECTION: ClassVar[str]
    MIGRATIONS: ClassVar[tuple[Migration, ...]] = ()

    @classmethod
    def version(cls) -> int:
        """The version this code reads and writes."""
        return len(cls.MIGRATIONS)


M = TypeVar("M", bound=SettingsModel)


class Settings:
    """The settings file of one run: sections read, migrated and validated on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self._sections: dict[str, dict[str, Any]] = self._read()

    @property
    def problem(self) -> str | None:
        """Everything that went wrong reading the file, in one message (None if nothing)."""
        return "; ".join(self.problems) or None

    def load(self, model: type[M], *, section: str | None = None) -> M:
        """The component's settings: migrated to the current version and validated.

        `section` overrides the model's own `SECTION` (a plugin's corner of the file). A
        section that fails validation is reported in `problems` and read as defaults.
        """
        name = model.SECTION if section is None else section
        raw = dict(self._sections.get(name, {}))
        stored_version = int(raw.pop(VERSION_FIELD, 0))
        try:
            for migration in model.MIGRATIONS[stored_version:]:
                raw = migration(raw)
            value = model.model_validate(raw)
        except (ValidationError, ValueError, TypeError) as exc:
            self._report(
                f"settings section {name!r} in {self.path} is not valid ({exc}); using its defaults"
            )
            return model()
        if stored_version > model.version():
            log.warning(
                "settings section %r was written by a newer Phantom (version %d > %d); "
                "reading the fields this version knows",
                name,
                stored_version,
                model.version(),
            )
        elif stored_version < model.version() and name in self._sections:
            self.save(value, section=name)
        return value

    def save(self, value: SettingsModel, *, section: str | None = None) -> None:
        """Write `value` as its section; the fields of a section that a newer Phantom wrote
        are kept, with its version."""
        model = type(value)
        name = model.SECTION if section is None else section
        stored = self._sections.get(name, {})
        newer = int(stored.get(VERSION_FIELD, 0)) > model.version()
        written = {**(stored if newer else {}), **value.model_dump(mode="json")}
        written[VERSION_FIELD] = stored[VERSION_FIELD] if newer else model.version()
        self.write_section(name, written)

    def section(self, name: str) -> dict[str, Any]:
        """A copy of a free-form section (a plugin's own keys), empty when there is none."""
        return dict(self._sections.get(name, {}))

    def write_section(self, name: str, values: Mapping[str, Any]) -> None:
        """Replace a section with the JSON-serialisable `values` and write the file."""
        json.dumps(values)
        self._sections[name] = dict(values)
        self._write()

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """A copy of every section."""
        return {name: dict(values) for name, values in self._sections.items()}

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            values = json.loads(raw.decode("utf-8"))
            if not isinstance(values, dict):
                raise ValueError(f"expected a JSON object, found {type(values).__name__}")
        except ValueError as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            os.replace(self.path, aside)
            self._report(f"settings file {self.path} could not be read ({exc}); kept it as {aside}")
            return {}
        if "format" not in values:
            return _legacy_sections(values)
        if values["format"] != FORMAT or not isinstance(values.get("sections"), dict):
            self._report(
                f"settings file {self.path} has an unknown format {values['format']!r}; "
                "reading the sections it has"
            )
        sections = values.get("sections", {})
        return {
            name: dict(section) for name, section in sections.items() if isinstance(section, dict)
        }

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"format": FORMAT, "sections": self._sections}
        write_atomically(self.path, json.dumps(document, indent=2, sort_keys=True))

    def _report(self, problem: str) -> None:
        self.problems.append(problem)
        log.warning(problem)


def _legacy_sections(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The version-0 sections of a file of flat keys: ``"plugin/lantern/brightness"`` is
    field ``brightness`` of section ``plugin/lantern``."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        name, _, field = key.rpartition(LEGACY_SEPARATOR)
        sections.setdefault(name, {})[field] = value
    return sections
