"""JSON-lines logging (standard level names for tools, spooky ones for people), Qt's own
messages in the log, and app paths."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.core.logs import (
    BANSHEE,
    LOG_FILE_NAME,
    MURMUR,
    SCREAM,
    WAIL,
    WHISPER,
    configure_logging,
)
from phantom_gui.core.paths import AppPaths, UnusableFolder


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger, level names and warnings capture back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = {value: logging.getLevelName(value) for value in (10, 20, 30, 40, 50)}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for value, name in names.items():
        logging.addLevelName(value, name)
    logging.captureWarnings(False)


def read_log(path: Path) -> list[dict[str, Any]]:
    """Flush the root handlers and parse the JSON-lines log at `path`."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.usefixtures("restore_logging")
def test_the_log_file_keeps_the_standard_level_names_beside_the_spooky_ones(
    tmp_path: Path,
) -> None:
    path = configure_logging(tmp_path / "logs", level=WHISPER)
    assert path == tmp_path / "logs" / LOG_FILE_NAME
    log = logging.getLogger("phantom.test")

    log.debug("a whisper %d", 1, extra={"ghost": "casper", "thing": object()})
    log.info("a murmur")
    log.warning("a wail")
    try:
        raise ValueError("the mirror cracked")
    except ValueError:
        log.exception("a scream", extra={"room": "attic"})
    log.critical("a banshee")

    entries = read_log(path)
    assert [entry["level"] for entry in entries] == [
        "DEBUG",
        "INFO",
        "WARNING",
        "ERROR",
        "CRITICAL",
    ]
    assert [entry["spooky_level"] for entry in entries] == [
        "WHISPER",
        "MURMUR",
        "WAIL",
        "SCREAM",
        "BANSHEE",
    ]
    assert logging.getLevelName(WAIL) == "WARNING", "the level names changed for everyone"
    whisper, _murmur, _wail, scream, _banshee = entries
    assert whisper["message"] == "a whisper 1"
    assert whisper["logger"] == "phantom.test"
    assert whisper["ghost"] == "casper"
    assert whisper["thing"].startswith("<object object")
    assert "traceback" not in whisper
    assert datetime.fromisoformat(whisper["time"]).utcoffset() is not None
    assert Path(whisper["where"].rsplit(":", 1)[0]) == Path(__file__)
    assert whisper["thread"] == "MainThread"
    assert scream["room"] == "attic"
    assert "Traceback" in scream["traceback"]
    assert "ValueError: the mirror cracked" in scream["traceback"]


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_respects_the_level(tmp_path: Path) -> None:
    path = configure_logging(tmp_path, level=MURMUR)
    log = logging.getLogger("phantom.level")
    log.debug("not written")
    log.info("written")
    assert [entry["message"] for entry in read_log(path)] == ["written"]


@pytest.mark.usefixtures("restore_logging")
def test_only_screams_reach_the_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(tmp_path, level=WHISPER)
    log = logging.getLogger("phantom.console")
    log.log(WAIL, "quiet enough")
    log.log(SCREAM, "loud")
    log.log(BANSHEE, "louder")
    err = capsys.readouterr().err
    assert "quiet enough" not in err
    assert "phantom: SCREAM phantom.console: loud" in err
    assert "phantom: BANSHEE phantom.console: louder" in err


@pytest.mark.usefixtures("restore_logging")
def test_a_level_between_the_standard_ones_takes_the_lower_ones_spooky_name(
    tmp_path: Path,
) -> None:
    path = configure_logging(tmp_path, level=WHISPER)
    logging.getLogger("phantom.between").log(WAIL + 5, "louder than a wail")
    [entry] = read_log(path)
    assert (entry["level"], entry["spooky_level"]) == ("Level 35", "WAIL")


@pytest.mark.screen
@pytest.mark.usefixtures("restore_logging")
def test_a_qt_warning_reaches_the_json_log_with_its_category(qapp, tmp_path: Path) -> None:
    from PySide6.QtGui import QFont

    from phantom_gui.qt.qt_log import install_qt_log_handler

    path = configure_logging(tmp_path, level=WHISPER)
    restore = install_qt_log_handler()
    try:
        QFont().setPointSize(-1)  # Qt warns: a point size must be positive
    finally:
        restore()
    [entry] = [entry for entry in read_log(path) if entry["logger"] == "phantom.qt"]
    assert entry["message"] == "QFont::setPointSize: Point size <= 0 (-1), must be greater than 0"
    assert (entry["level"], entry["spooky_level"]) == ("WARNING", "WAIL")
    assert entry["qt_category"] == "default"


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_replaces_earlier_handlers(tmp_path: Path) -> None:
    first = configure_logging(tmp_path / "one")
    second = configure_logging(tmp_path / "two")
    logging.getLogger("phantom.twice").warning("where am I")
    assert read_log(second)[-1]["message"] == "where am I"
    assert first.read_text(encoding="utf-8") == ""


def test_app_paths_under_a_data_dir(tmp_path: Path) -> None:
    paths = AppPaths.resolve(data_dir=tmp_path / "phantom-data")
    assert paths.data_dir == (tmp_path / "phantom-data").resolve()
    assert paths.config_file == paths.data_dir / "settings.json"
    assert paths.log_dir == paths.data_dir / "logs"
    paths.ensure()
    assert paths.data_dir.is_dir()
    assert paths.log_dir.is_dir()
    paths.ensure()


def test_app_paths_resolve_relative_and_home_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    relative = AppPaths.resolve(data_dir=Path("here"))
    assert relative.data_dir == tmp_path.resolve() / "here"
    custom = AppPaths.resolve(data_dir=Path("~/data"), config_file=Path("~/my.json"))
    assert custom.data_dir == (tmp_path / "home" / "data").resolve()
    assert custom.config_file == (tmp_path / "home" / "my.json").resolve()


def test_app_paths_default_to_the_platform_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    paths = AppPaths.resolve()
    if paths.data_dir != (tmp_path / "xdg-data" / "phantom").resolve():
        pytest.skip("platformdirs does not follow XDG variables on this platform")
    assert paths.config_file == (tmp_path / "xdg-config" / "phantom" / "settings.json").resolve()


def test_ensure_says_which_file_is_in_the_way_and_leaves_it_alone(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    paths = AppPaths.resolve(data_dir=blocker / "data")
    with pytest.raises(UnusableFolder) as failure:
        paths.ensure()
    assert str(failure.value) == (
        f"cannot use the data folder {blocker / 'data'}: {blocker} is a file, not a folder.\n"
        f"To fix it, move {blocker} out of the way, or choose a folder you can write to "
        "with --data-dir DIR."
    )
    assert blocker.read_text() == "not a folder"


def test_ensure_names_the_settings_folder_when_that_is_the_one_blocked(tmp_path: Path) -> None:
    blocker = tmp_path / "config-file-not-folder"
    blocker.write_text("")
    paths = AppPaths.resolve(tmp_path / "data", blocker / "settings.json")
    with pytest.raises(UnusableFolder) as failure:
        paths.ensure()
    assert failure.value.role == "settings folder" and failure.value.folder == blocker
    assert failure.value.why == f"{blocker} is a file, not a folder"


def test_ensure_names_the_missing_folder_that_cannot_be_created() -> None:
    paths = AppPaths.resolve(data_dir=Path("/proc/phantom-nowhere/deeper/data"))
    with pytest.raises(UnusableFolder) as failure:
        paths.ensure()
    assert failure.value.why == (
        "/proc/phantom-nowhere does not exist and cannot be created in /proc "
        "(No such file or directory)"
    )
    assert failure.value.remedy.startswith("create /proc/phantom-nowhere/deeper/data yourself")
