"""Discovery: built-in, installed and folder plugins, found without importing their code."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from phantom_gui.plugins.discovery import discover

ROOT = Path(__file__).resolve().parents[2]
NO_ENTRY_POINTS = "phantom_gui.tests.no_such_plugin_group"


def add_plugin(folder: Path, package: str, manifest: str | None = None, code: str = "") -> Path:
    """Write a plugin package with a manifest (a good one unless given) into `folder`."""
    package_dir = folder / package
    package_dir.mkdir(parents=True)
    (package_dir / "__init__.py").write_text(code, encoding="utf-8")
    if manifest is None:
        manifest = f"""
        schema_version = 1
        [plugin]
        id = "{package}"
        name = "{package}"
        version = "1.0.0"
        entry = "{package}:Plugin"
        """
    path = package_dir / "phantom-plugin.toml"
    path.write_text(textwrap.dedent(manifest), encoding="utf-8")
    return path


def test_folder_plugins_are_found_with_their_folder_as_import_root(tmp_path: Path) -> None:
    manifest = add_plugin(tmp_path, "phantom_one")
    add_plugin(tmp_path, "phantom_two")
    (tmp_path / "not_a_plugin").mkdir()
    found = discover([tmp_path], entry_points_group=NO_ENTRY_POINTS)
    assert sorted(found.plugins) == ["phantom_one", "phantom_two"]
    one = found.plugins["phantom_one"]
    assert (one.origin, one.manifest_path, one.import_root) == ("folder", manifest, tmp_path)
    assert found.problems == []


def test_a_malformed_manifest_is_skipped_with_a_clear_message(tmp_path: Path) -> None:
    add_plugin(tmp_path, "phantom_good")
    bad = add_plugin(tmp_path, "phantom_bad", 'schema_version = 1\n[plugin]\nid = "phantom_bad"\n')
    add_plugin(tmp_path, "phantom_zzz_good")
    found = discover([tmp_path], entry_points_group=NO_ENTRY_POINTS)
    assert sorted(found.plugins) == ["phantom_good", "phantom_zzz_good"]
    [problem] = found.problems
    assert problem.path == str(bad)
    assert f"{bad}: plugin.name: Field required" in problem.message
    assert f"{bad}: plugin.entry: Field required" in problem.message


def test_a_duplicate_id_in_a_later_folder_is_skipped_and_named(tmp_path: Path) -> None:
    first = add_plugin(tmp_path / "first", "phantom_twin")
    second = add_plugin(tmp_path / "second", "phantom_twin")
    found = discover([tmp_path / "first", tmp_path / "second"], entry_points_group=NO_ENTRY_POINTS)
    assert found.plugins["phantom_twin"].manifest_path == first
    [problem] = found.problems
    assert problem.path == str(second)
    assert problem.message == (
        f"{second}: plugin id 'phantom_twin' is already provided by {first}; this one is skipped"
    )


def test_a_missing_plugin_folder_is_reported_and_discovery_goes_on(tmp_path: Path) -> None:
    add_plugin(tmp_path / "real", "phantom_here")
    found = discover([tmp_path / "absent", tmp_path / "real"], entry_points_group=NO_ENTRY_POINTS)
    assert list(found.plugins) == ["phantom_here"]
    assert [p.message for p in found.problems] == [
        f"plugin folder {tmp_path / 'absent'} does not exist"
    ]


def test_discovery_imports_no_plugin_code(tmp_path: Path) -> None:
    package = f"phantom_cursed_{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "imported"
    code = f"open({str(marker)!r}, 'w').close()\nraise RuntimeError('imported during discovery')\n"
    add_plugin(tmp_path, package, code=code)
    sys.path.insert(0, str(tmp_path))
    try:
        found = discover([tmp_path], entry_points_group=NO_ENTRY_POINTS)
    finally:
        sys.path.remove(str(tmp_path))
    assert package in found.plugins and found.problems == []
    assert package not in sys.modules
    assert not marker.exists()


def test_the_built_in_hub_monitor_is_found_through_its_installed_entry_point() -> None:
    found = discover([])
    monitor = found.plugins["phantom_hub_monitor"]
    assert monitor.origin == "built-in"
    assert monitor.import_root is None
    assert monitor.manifest_path == ROOT / "plugins/phantom_hub_monitor/phantom-plugin.toml"
    assert monitor.manifest.entry == "phantom_hub_monitor.plugin:HubMonitor"


def test_finding_the_built_in_plugins_imports_none_of_them() -> None:
    script = textwrap.dedent(
        """
        import sys
        from phantom_gui.plugins.discovery import discover
        found = discover([])
        assert "phantom_hub_monitor" in found.plugins, found.problems
        print(sorted(name for name in sys.modules if name.startswith("phantom_hub_monitor")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd="/"
    )
    assert result.stdout.strip() == "[]"


def test_a_folder_plugin_with_an_id_taken_by_a_built_in_is_skipped(tmp_path: Path) -> None:
    impostor = add_plugin(tmp_path, "phantom_hub_monitor")
    found = discover([tmp_path])
    assert found.plugins["phantom_hub_monitor"].origin == "built-in"
    assert any(
        problem.path == str(impostor) and "already provided by" in problem.message
        for problem in found.problems
    )


def test_a_manifest_of_a_newer_schema_is_kept_with_a_warning_naming_its_fields(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = """
    schema_version = 2
    [plugin]
    id = "phantom_future"
    name = "From the future"
    version = "3.0.0"
    entry = "phantom_future:Plugin"
    moon_phase = "waxing"
    """
    path = add_plugin(tmp_path, "phantom_future", manifest)
    add_plugin(tmp_path, "phantom_present")

    with caplog.at_level(logging.WARNING, logger="phantom.plugins.discovery"):
        found = discover([tmp_path], entry_points_group=NO_ENTRY_POINTS)

    assert sorted(found.plugins) == ["phantom_future", "phantom_present"]
    assert found.problems == []
    [warning] = found.warnings
    assert warning.path == str(path)
    assert warning.message.startswith(f"{path}: written for manifest schema 2")
    assert warning.message.endswith("ignored the fields it does not know: plugin.moon_phase")
    assert warning.message in caplog.text
