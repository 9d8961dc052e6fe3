"""The distribution ships every package and the assets the app reads at run time."""

from __future__ import annotations

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
    assert on_disk - listed == set(), "add these packages to [tool.setuptools] packages"


def test_the_theme_and_icon_are_installed_assets() -> None:
    assets = files("phantom_gui.assets")
    assert "QMainWindow" in assets.joinpath("theme.qss").read_text()
    assert "<svg" in assets.joinpath("phantom.svg").read_text()


def test_pyside6_is_pinned_below_the_release_that_crashes_python_311() -> None:
    pins = [dep for dep in _pyproject()["project"]["dependencies"] if "PySide6" in dep]
    assert pins == ["PySide6-Essentials>=6.11,<6.12"]
