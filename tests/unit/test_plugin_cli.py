"""`phantom plugin validate | schema | list`, run as the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PHANTOM = str(Path(sys.executable).with_name("phantom"))
EXAMPLES = ROOT / "examples" / "plugins"
HUB_MONITOR = ROOT / "plugins" / "phantom_hub_monitor"
SCHEMA_FILE = ROOT / "docs" / "phantom-plugin.schema.json"


def phantom(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PHANTOM, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def add_plugin(folder: Path, package: str, body: str = "", *, with_module: bool = True) -> Path:
    """Write a plugin folder: a manifest (`body` appended to its [plugin] table)."""
    package_dir = folder / package
    package_dir.mkdir(parents=True)
    if with_module:
        (package_dir / "__init__.py").write_text("", encoding="utf-8")
        (package_dir / "plugin.py").write_text("", encoding="utf-8")
    manifest = package_dir / "phantom-plugin.toml"
    manifest.write_text(
        textwrap.dedent(
            f"""
            schema_version = 1
            [plugin]
            id = "{package}"
            name = "{package}"
            entry = "{package}.plugin:Plugin"
            """
        )
        + body,
        encoding="utf-8",
    )
    return manifest


def test_the_example_plugins_validate() -> None:
    result = phantom("plugin", "validate", EXAMPLES)
    assert result.returncode == 0, result.stderr
    manifest = EXAMPLES / "phantom_lantern" / "phantom-plugin.toml"
    assert result.stdout == f"ok: phantom_lantern 1.0.0 ({manifest})\n"
    assert result.stderr == ""


@pytest.mark.parametrize(
    "path", [HUB_MONITOR, HUB_MONITOR / "phantom-plugin.toml"], ids=["folder", "file"]
)
def test_the_built_in_plugin_validates_as_a_folder_or_a_file(path: Path) -> None:
    result = phantom("plugin", "validate", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: phantom_hub_monitor 1.0.0 (")


def test_a_bad_manifest_fails_naming_the_file_and_each_field(tmp_path: Path) -> None:
    add_plugin(tmp_path, "phantom_good", 'version = "1.0"\n')
    bad = add_plugin(tmp_path, "phantom_bad", 'version = "soon"\nhaunt_probability = 3\n')
    result = phantom("plugin", "validate", tmp_path)
    assert result.returncode == 1
    assert "ok: phantom_good 1.0" in result.stdout
    assert "phantom_bad" not in result.stdout
    errors = result.stderr.splitlines()
    assert f"{bad}: plugin.version: 'soon' is not a version such as 1.2.0" in errors[0]
    assert errors[1] == (
        f"{bad}: plugin.haunt_probability: Input should be less than or equal to 1"
    )


def test_a_newer_schema_validates_with_a_warning_naming_the_ignored_fields(
    tmp_path: Path,
) -> None:
    manifest = add_plugin(tmp_path, "phantom_future", 'version = "2.0"\nmoon = "full"\n')
    manifest.write_text(manifest.read_text().replace("schema_version = 1", "schema_version = 2"))
    result = phantom("plugin", "validate", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ok: phantom_future 2.0 ({manifest})\n"
    assert result.stderr == (
        f"warning: {manifest}: written for manifest schema 2; this app knows 1 and ignored "
        "the fields it does not know: plugin.moon\n"
    )


def test_a_missing_entry_module_is_named(tmp_path: Path) -> None:
    manifest = add_plugin(tmp_path, "phantom_hollow", 'version = "1.0"\n', with_module=False)
    result = phantom("plugin", "validate", tmp_path / "phantom_hollow")
    assert result.returncode == 1
    module = tmp_path / "phantom_hollow" / "plugin"
    assert result.stderr == (
        f"{manifest}: entry: module phantom_hollow.plugin not found "
        f"(looked for {module}.py and {module}/__init__.py)\n"
    )


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    manifest = tmp_path / "phantom-plugin.toml"
    manifest.write_text("schema_version = = 1\n", encoding="utf-8")
    result = phantom("plugin", "validate", manifest)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{manifest}: (file): invalid TOML:")


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_a_path_without_manifests_fails(tmp_path: Path, make: str) -> None:
    path = tmp_path / "nothing" if make == "missing" else tmp_path
    result = phantom("plugin", "validate", path)
    assert result.returncode == 1
    expected = "no such file or folder" if make == "missing" else "no phantom-plugin.toml here"
    assert result.stderr.startswith(f"{path}: {expected}")


def test_schema_prints_the_manifest_json_schema() -> None:
    result = phantom("plugin", "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Phantom plugin manifest"
    assert "plugins" in schema["properties"] and "schema_version" in schema["required"]
    manifest = schema["$defs"]["PluginManifest"]
    assert {"id", "entry", "permissions", "consumes", "panel"} <= set(manifest["properties"])


def test_the_schema_in_the_docs_is_up_to_date() -> None:
    result = phantom("plugin", "schema")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == result.stdout, (
        "regenerate it: phantom plugin schema > docs/phantom-plugin.schema.json"
    )


def test_list_shows_built_in_and_folder_plugins(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "plugins").mkdir(parents=True)
    result = phantom("--data-dir", data, "--plugin-dir", EXAMPLES, "plugin", "list")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()}
    assert rows["phantom_hub_monitor"][1:4] == ["1.0.0", "enabled", "built-in"]
    assert rows["phantom_hub_monitor"][4] == str(HUB_MONITOR / "phantom-plugin.toml")
    assert rows["phantom_lantern"][1:4] == ["1.0.0", "enabled", "folder"]
    assert result.stderr == ""


def test_list_reports_a_bad_folder_plugin_and_still_lists_the_others(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "plugins").mkdir(parents=True)
    bad = add_plugin(tmp_path / "more", "phantom_broken", 'version = "1"\nisolation = "cloud"\n')
    result = phantom(
        "--data-dir", data, "--plugin-dir", EXAMPLES, "--plugin-dir", tmp_path / "more",
        "plugin", "list",
    )  # fmt: skip
    assert result.returncode == 0
    assert "phantom_lantern" in result.stdout and "phantom_broken" not in result.stdout
    assert f"problem: {bad}: plugin.isolation: Input should be 'inline' or 'process'" in (
        result.stderr
    )
