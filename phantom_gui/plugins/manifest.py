"""Plugin manifests (`phantom-plugin.toml`), read and validated without importing plugin code.

A manifest file declares one plugin in a ``[plugin]`` table or several in
``[[plugins]]`` tables, next to ``schema_version``. Every problem is reported with
the file, the field and what is wrong. A manifest written for a newer schema than
`SCHEMA_VERSION` is read as far as its fields are understood: the others are ignored,
with a warning naming them; for a known schema an unknown field is an error.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.topics import validate_pattern
from phantom_gui.plugins.permissions import PermissionSet, validate_permission

SCHEMA_VERSION = 1
MANIFEST_FILE_NAME = "phantom-plugin.toml"
PLUGIN_ID_PATTERN = r"^[a-z][a-z0-9_.-]{0,63}$"
ENTRY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
_DEPENDENCY = re.compile(r"^\s*(?P<id>[a-z][a-z0-9_.-]{0,63})\s*(?P<spec>[<>=!~].*)?$")


def _check_version(value: str) -> str:
    try:
        Version(value)
    except InvalidVersion as exc:
        raise ValueError(f"{value!r} is not a version such as 1.2.0 ({exc})") from exc
    return value


def _check_entry(value: str) -> str:
    if not re.match(ENTRY_PATTERN, value):
        raise ValueError(f"{value!r} is not an entry point such as 'package.module:ClassName'")
    return value


def _check_dependency(value: str) -> str:
    parse_dependency(value)
    return value


def _check_permission(value: str) -> str:
    return validate_permission(value)


def parse_dependency(text: str) -> tuple[str, SpecifierSet]:
    """Split ``"other_plugin>=1.0,<2"`` into the plugin id and its version range."""
    match = _DEPENDENCY.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a dependency such as 'plugin_id' or 'plugin_id>=1.0,<2'")
    try:
        return match["id"], SpecifierSet(match["spec"] or "")
    except InvalidSpecifier as exc:
        raise ValueError(f"{text!r} has an invalid version range ({exc})") from exc


VersionText = Annotated[str, AfterValidator(_check_version)]
EntryText = Annotated[str, AfterValidator(_check_entry)]
DependencyText = Annotated[str, AfterValidator(_check_dependency)]
PermissionText = Annotated[str, AfterValidator(_check_permission)]
PatternText = Annotated[str, AfterValidator(validate_pattern)]


class PanelSpec(BaseModel):
    """The dock a plugin contributes to the main window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, description="The dock's title")
    area: Literal["left", "right", "top", "bottom"] = Field(
        "right", description="Where the dock opens first"
    )
    menu_path: str = Field(
        "", description="Submenu of Haunt Packs to list the plugin under, e.g. 'Sensors'"
    )


class PluginManifest(BaseModel):
    """What a plugin declares about itself (the seed's PluginManifest and PluginConfig)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=PLUGIN_ID_PATTERN, description="Unique id, e.g. 'phantom_lantern'")
    name: str = Field(min_length=1)
    version: VersionText
    author: str = ""
    description: str = ""
    entry: EntryText = Field(
        description="'package.module:Class', imported only when the plugin is activated",
    )
    dependencies: list[DependencyText] = Field(
        default_factory=list, description="Plugin ids, optionally with version ranges"
    )
    permissions: list[PermissionText] = Field(default_factory=list)
    consumes: list[PatternText] = Field(
        default_factory=list,
        description="Topic patterns whose events are passed to process(); "
        "each must be granted by a hub:subscribe permission",
    )
    records: list[PatternText] = Field(
        default_factory=list,
        description="Topic patterns of the plugin's own events to keep in the audit log; "
        "each must be granted by a hub:publish permission",
    )
    haunt_probability: float = Field(0.0, ge=0.0, le=1.0)
    spookiness_level: Literal["mild", "moderate", "terrifying"] = "mild"
    isolation: Literal["inline", "process"] = "inline"
    panel: PanelSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PluginManifest:
        granted = PermissionSet.parse(self.permissions)
        for pattern in self.consumes:
            if not granted.may_subscribe(pattern):
                raise ValueError(f"consumes {pattern!r} but no hub:subscribe permission covers it")
        for pattern in self.records:
            if not granted.may_publish_all(pattern):
                raise ValueError(f"records {pattern!r} but no hub:publish permission covers it")
        if self.isolation == "process" and self.panel is not None:
            raise ValueError(
                "a process-isolated plugin cannot contribute a panel: its code runs in "
                "another process"
            )
        return self

    @property
    def granted(self) -> PermissionSet:
        """The parsed permissions."""
        return PermissionSet.parse(self.permissions)

    def requirements(self) -> list[tuple[str, SpecifierSet]]:
        """The dependencies as (plugin id, version range) pairs."""
        return [parse_dependency(text) for text in self.dependencies]


class ManifestFile(BaseModel):
    """The whole `phantom-plugin.toml` (schema version 1)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(
        ge=1,
        strict=True,
        description=f"Version of this manifest format: {SCHEMA_VERSION} here; a newer one is "
        "read with a warning, its unknown fields ignored",
    )
    plugins: list[PluginManifest] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _single_plugin_table(cls, data: Any) -> Any:
        if isinstance(data, dict) and "plugin" in data:
            data = dict(data)
            if "plugins" in data:
                raise ValueError("use either [plugin] or [[plugins]], not both")
            data["plugins"] = [data.pop("plugin")]
        return data

    @model_validator(mode="after")
    def _unique_ids(self) -> ManifestFile:
        ids = [plugin.id for plugin in self.plugins]
        repeated = sorted({plugin_id for plugin_id in ids if ids.count(plugin_id) > 1})
        if repeated:
            raise ValueError(f"plugin ids declared more than once: {', '.join(repeated)}")
        return self


@dataclass(frozen=True)
class ManifestProblem:
    """One thing wrong in a manifest: where (a dotted field path) and what."""

    field: str
    message: str


class ManifestError(ManifestationError):
    """A manifest file could not be read or is invalid; `problems` lists each issue."""

    def __init__(self, path: Path, problems: list[ManifestProblem]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}: {problem.field}: {problem.message}" for problem in problems]
        super().__init__("\n".join(lines), source=str(path))


@dataclass(frozen=True)
class ManifestContents:
    """The plugins a manifest file declares, and a warning about it (a newer schema)."""

    plugins: list[PluginManifest]
    warning: str | None = None


def load_manifest_file(path: Path) -> ManifestContents:
    """Read and validate one manifest file; raise `ManifestError` naming every problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(path, [ManifestProblem("(file)", exc.strerror or str(exc))]) from exc
    except UnicodeDecodeError as exc:
        raise ManifestError(path, [ManifestProblem("(file)", f"not UTF-8 text: {exc}")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(path, [ManifestProblem("(file)", f"invalid TOML: {exc}")]) from exc
    warning = None
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        data, ignored = _understood_fields(data)
        warning = _newer_schema_warning(path, version, ignored)
    try:
        return ManifestContents(ManifestFile.model_validate(data).plugins, warning)
    except ValidationError as exc:
        raise ManifestError(path, [_problem(error, data) for error in exc.errors()]) from exc


def _newer_schema_warning(path: Path, version: int, ignored: list[str]) -> str:
    known = f"{path}: written for manifest schema {version}; this app knows {SCHEMA_VERSION}"
    if not ignored:
        return f"{known} (every field is understood)"
    return f"{known} and ignored the fields it does not know: {', '.join(ignored)}"


def _understood_fields(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`data` without the fields this schema does not know, and their dotted names."""
    ignored: list[str] = []
    kept = _known_keys(data, set(ManifestFile.model_fields) | {"plugin"}, "", ignored)
    tables = (
        [("plugin", kept["plugin"])]
        if "plugin" in kept
        else [(f"plugins[{n}]", table) for n, table in enumerate(kept.get("plugins") or [])]
    )
    plugins = []
    for name, table in tables:
        if not isinstance(table, dict):
            plugins.append(table)
            continue
        plugin = _known_keys(table, set(PluginManifest.model_fields), f"{name}.", ignored)
        if isinstance(plugin.get("panel"), dict):
            plugin["panel"] = _known_keys(
                plugin["panel"], set(PanelSpec.model_fields), f"{name}.panel.", ignored
            )
        plugins.append(plugin)
    if "plugin" in kept:
        kept["plugin"] = plugins[0]
    elif isinstance(kept.get("plugins"), list):
        kept["plugins"] = plugins
    return kept, ignored


def _known_keys(
    table: dict[str, Any], known: set[str], prefix: str, ignored: list[str]
) -> dict[str, Any]:
    ignored.extend(f"{prefix}{key}" for key in table if key not in known)
    return {key: value for key, value in table.items() if key in known}


def manifest_json_schema() -> dict[str, Any]:
    """The JSON schema of `phantom-plugin.toml`."""
    schema = ManifestFile.model_json_schema()
    schema["$id"] = f"https://phantom.invalid/schemas/phantom-plugin-{SCHEMA_VERSION}.json"
    schema["title"] = "Phantom plugin manifest"
    return schema


def _problem(error: Any, data: Any) -> ManifestProblem:
    location = list(error["loc"])
    if location[:1] == ["plugins"] and isinstance(data, dict) and "plugin" in data:
        location = ["plugin", *location[2:]]
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        else:
            parts.append(str(part))
    field = ".".join(parts) or "(top level)"
    message = str(error["msg"]).removeprefix("Value error, ")
    return ManifestProblem(field, message)
