"""The audit log in the main window's status bar: records counted, and the fallback to memory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.screen


def _records(text: str) -> int:
    found = re.search(r"([\d,]+) records", text)
    assert found, f"no record count in {text!r}"
    return int(found.group(1).replace(",", ""))


def test_the_audit_label_counts_the_records_as_they_are_written(
    make_main_window, qtbot, tmp_path: Path
) -> None:
    window = make_main_window(data_dir=tmp_path / "data")
    label = window.hub_status.audit_label
    hub = window._services.hub
    qtbot.waitUntil(lambda: label.text().startswith("audit: ") and "records" in label.text())
    before = _records(label.text())

    for number in range(25):
        hub.publish("app/test/ping", {"n": number}, source="test")  # app/# is recorded

    qtbot.waitUntil(lambda: _records(label.text()) >= before + 25, timeout=5000)
    text = label.text()
    assert "pending" in text and "MB" in text
    assert "in memory" not in text
    assert label.property("alarming") != "true"
    audit = window._services.audit
    assert audit.in_memory_reason is None
    assert audit.storage.root == (tmp_path / "data" / "audit").resolve()


def _block_the_audit_folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "audit").write_text("a file where the audit folder should be")
    return data


def test_an_unusable_audit_folder_shows_in_memory_and_still_counts(
    make_main_window, qtbot, tmp_path: Path
) -> None:
    data = _block_the_audit_folder(tmp_path)
    window = make_main_window(data_dir=data)
    label = window.hub_status.audit_label

    qtbot.waitUntil(lambda: "in memory" in label.text(), timeout=5000)
    assert label.property("alarming") == "true"
    assert str(data / "audit") in label.toolTip()

    hub = window._services.hub
    before = _records(label.text())
    hub.publish("app/test/ping", {}, source="test")
    qtbot.waitUntil(lambda: _records(label.text()) > before, timeout=5000)
    assert (data / "audit").is_file()  # left as it was


def test_an_unusable_audit_folder_raises_a_warning_notification(
    make_main_window, qtbot, tmp_path: Path
) -> None:
    window = make_main_window(data_dir=_block_the_audit_folder(tmp_path))
    qtbot.waitUntil(
        lambda: any("in memory" in toast.detail for toast in window.notifications.toasts()),
        timeout=3000,
    )
    [toast] = [t for t in window.notifications.toasts() if "in memory" in t.detail]
    assert toast.title == "Warning"
    assert "audit" in toast.detail
