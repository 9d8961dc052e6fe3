"""The audit log in the main window's status bar (this session's records and the whole log's,
from the hub's blackboard), the first run's notice of the verification key, and the fallback
to memory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phantom_gui.audit.keys import VerificationKey

pytestmark = pytest.mark.screen


def _records(text: str, which: str = "this session") -> int:
    found = re.search(rf"([\d,]+) {which}", text)
    assert found, f"no count of {which!r} in {text!r}"
    return int(found.group(1).replace(",", ""))


def test_the_audit_label_counts_the_records_as_they_are_written(
    make_main_window, qtbot, tmp_path: Path
) -> None:
    window = make_main_window(data_dir=tmp_path / "data")
    label = window.hub_status.audit_label
    hub = window._services.hub
    qtbot.waitUntil(lambda: label.text().startswith("audit: ") and "this session" in label.text())
    before = _records(label.text())

    for number in range(25):
        hub.publish("app/test/ping", {"n": number}, source="test")  # app/# is recorded

    qtbot.waitUntil(lambda: _records(label.text()) >= before + 25, timeout=5000)
    text = label.text()
    assert "MB" in text and "in memory" not in text
    # The whole log holds this session's records and the session's own run record.
    assert _records(text, "in all") > _records(text)
    assert "every session" in label.toolTip()
    assert label.property("alarming") != "true"
    audit = window._services.audit
    assert audit.in_memory_reason is None
    assert audit.storage.root == (tmp_path / "data" / "audit").resolve()


def test_the_first_run_tells_where_the_verification_key_is_kept(
    make_main_window, qtbot, tmp_path: Path, no_keyring: None
) -> None:
    data = tmp_path / "data"
    window = make_main_window(data_dir=data)
    [key] = tmp_path.glob("phantom-audit-verification-*.key")  # beside the data folder, not in it
    qtbot.waitUntil(
        lambda: any(str(key) in toast.detail for toast in window.notifications.toasts()),
        timeout=3000,
    )
    [toast] = [t for t in window.notifications.toasts() if str(key) in t.detail]
    assert "verification key" in toast.detail and "--key" in toast.detail
    assert toast.lasting, "a notice the user must act on stays until dismissed"
    assert key.read_text() not in toast.detail
    chain_id = window._services.audit.storage.chain_id
    assert VerificationKey.read(key).chain_id == chain_id
    assert not any(
        path.name.endswith(".key") and path.name != "audit.sealing-key" for path in data.rglob("*")
    )


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
