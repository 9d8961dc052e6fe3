"""Settings: typed sections with versions, migrations, and a file that survives faults."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.core import atomic
from phantom_gui.core.settings import Settings, SettingsModel, same_fields


def _rename_volume(section: dict[str, Any]) -> dict[str, Any]:
    section = dict(section)
    if "volume" in section:
        section["loudness"] = section.pop("volume") / 100
    return section


class Room(SettingsModel):
    SECTION = "room"
    MIGRATIONS = (same_fields, _rename_volume)  # 1 → 2: volume (0..100) became loudness

    theme: str = "dark"
    loudness: float = 0.5
    doors: tuple[str, ...] = ()


def _document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_a_section_round_trips_across_instances_with_its_version(tmp_path: Path) -> None:
    path = tmp_path / "config" / "settings.json"
    settings = Settings(path)
    assert settings.load(Room) == Room()
    settings.save(Room(theme="midnight", doors=("attic", "cellar")))

    again = Settings(path)
    assert again.load(Room) == Room(theme="midnight", doors=("attic", "cellar"))
    assert again.problem is None
    stored = _document(path)
    assert stored["format"] == "phantom-settings/1"
    assert stored["sections"]["room"]["version"] == 2


def test_an_older_section_is_migrated_on_load_and_written_back(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "format": "phantom-settings/1",
                "sections": {"room": {"version": 1, "theme": "grey", "volume": 80}},
            }
        )
    )

    assert Settings(path).load(Room) == Room(theme="grey", loudness=0.8)
    assert _document(path)["sections"]["room"] == {
        "version": 2,
        "theme": "grey",
        "loudness": 0.8,
        "doors": [],
    }


def test_a_file_of_flat_keys_is_read_as_version_zero_sections(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "room/theme": "sepia",
                "room/volume": 30,
                "plugin/phantom_lantern/brightness": 35,
            }
        )
    )

    settings = Settings(path)

    assert settings.load(Room) == Room(theme="sepia", loudness=0.3)
    assert settings.section("plugin/phantom_lantern") == {"brightness": 35}
    stored = _document(path)
    assert stored["sections"]["room"]["version"] == 2
    assert stored["sections"]["plugin/phantom_lantern"] == {"brightness": 35}


def test_a_section_from_a_newer_phantom_is_read_and_its_new_fields_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    newer = {"version": 7, "theme": "ember", "loudness": 0.9, "haunted_corners": 4}
    path.write_text(json.dumps({"format": "phantom-settings/1", "sections": {"room": newer}}))

    settings = Settings(path)
    with caplog.at_level(logging.WARNING, "phantom.settings"):
        room = settings.load(Room)
    assert room == Room(theme="ember", loudness=0.9)
    assert "newer Phantom" in caplog.text

    settings.save(room.model_copy(update={"theme": "ash"}))
    assert _document(path)["sections"]["room"] == {**newer, "theme": "ash", "doors": []}


def test_an_invalid_section_is_reported_and_read_as_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    bad = {"version": 2, "theme": ["not", "a", "string"]}
    path.write_text(json.dumps({"format": "phantom-settings/1", "sections": {"room": bad}}))

    settings = Settings(path)

    assert settings.load(Room) == Room()
    assert settings.problem is not None
    assert "'room'" in settings.problem and str(path) in settings.problem
    assert _document(path)["sections"]["room"] == bad  # kept until the user saves anew


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = Settings(path)
    for index in range(5):
        settings.save(Room(loudness=index / 10))
    assert sorted(os.listdir(tmp_path)) == ["settings.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.json"
    Settings(path).save(Room(theme="dark"))
    before = path.read_bytes()

    def refuse(source: Any, target: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        Settings(path).save(Room(theme="light"))

    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["settings.json"]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2, 3]", b'"just a string"', b"\xff\xfe\x00garbage", b""],
    ids=["syntax", "list", "string", "not-utf8", "empty"],
)
def test_a_corrupt_settings_file_is_kept_aside(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)

    settings = Settings(path)

    aside = tmp_path / "settings.json.corrupt"
    assert settings.as_dict() == {}
    assert aside.read_bytes() == content
    assert not path.exists()
    assert settings.problem is not None
    assert str(path) in settings.problem
    assert str(aside) in settings.problem

    settings.save(Room(theme="fresh"))
    assert Settings(path).load(Room).theme == "fresh"
    assert Settings(path).problem is None
    assert aside.read_bytes() == content


@pytest.mark.parametrize("value", [object(), {1, 2}, {"nested": b"bytes"}, {(1, 2): "tuple"}])
def test_values_that_are_not_json_are_refused(tmp_path: Path, value: Any) -> None:
    path = tmp_path / "settings.json"
    settings = Settings(path)
    settings.write_section("plugin/lantern", {"good": "yes"})
    before = path.read_bytes()

    with pytest.raises(TypeError):
        settings.write_section("plugin/lantern", {"good": "yes", "bad": value})

    assert path.read_bytes() == before
    assert settings.section("plugin/lantern") == {"good": "yes"}
    assert Settings(path).section("plugin/lantern") == {"good": "yes"}
