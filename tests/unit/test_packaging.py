"""The distribution ships every package and the assets the app reads at run time."""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed_for_setuptools() -> None:
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "phantom_gui").rglob("__init__.py")
    }
    on_disk |= {
        ".".join(init.parent.relative_to(ROOT / "plugins").parts)
        for init in (ROOT / "plugins").rglob("__init__.py")
    }
    assert on_disk - listed == set(), "add these packages to [tool.setuptools] packages"


def test_every_built_in_plugin_is_mapped_shipped_with_its_manifest_and_registered() -> None:
    pyproject = _pyproject()
    setuptools = pyproject["tool"]["setuptools"]
    entry_points = pyproject["project"]["entry-points"]["phantom_gui.plugins"]
    built_ins = sorted(
        manifest.parent.name for manifest in (ROOT / "plugins").glob("*/phantom-plugin.toml")
    )
    assert "phantom_hub_monitor" in built_ins
    for package in built_ins:
        assert setuptools["package-dir"].get(package) == f"plugins/{package}"
        assert "phantom-plugin.toml" in setuptools["package-data"].get(package, [])
        assert entry_points.get(package) == package


def test_the_theme_and_icon_are_installed_assets() -> None:
    assets = files("phantom_gui.assets")
    assert "QMainWindow" in assets.joinpath("theme.qss").read_text()
    assert "<svg" in assets.joinpath("phantom.svg").read_text()


def test_pyside6_is_pinned_below_the_release_that_crashes_python_311() -> None:
    pins = [dep for dep in _pyproject()["project"]["dependencies"] if "PySide6" in dep]
    assert pins == ["PySide6-Essentials>=6.11,<6.12"]


def test_the_user_guide_and_the_guides_it_links_to_are_installed() -> None:
    docs = files("phantom_gui.docs")
    guide = docs.joinpath("user-guide.md").read_text(encoding="utf-8")
    assert guide.startswith("# Phantom user guide")
    for linked in re.findall(r"\]\(([^)#:]+\.md)\)", guide):
        assert docs.joinpath(linked).is_file(), f"the guide links to {linked}, not shipped"
    assert "*.md" in _pyproject()["tool"]["setuptools"]["package-data"]["phantom_gui.docs"]
