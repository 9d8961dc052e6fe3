"""The main window as a user sees it: menus, status bar, notifications, layout."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QTimer

from phantom_gui import __version__

pytestmark = pytest.mark.screen


def _menu_titles(window) -> list[str]:
    return [action.text().replace("&", "") for action in window.menuBar().actions()]


def test_the_window_opens_with_its_menus(make_main_window) -> None:
    window = make_main_window()
    assert window.isVisible()
    assert window.windowTitle() == "Phantom"
    assert _menu_titles(window) == ["File", "Haunt Packs", "View", "Help"]
    haunt_items = [action.text() for action in window.haunt_menu.actions() if action.text()]
    assert haunt_items[-1] == "&Manage Haunt Packs…"


def test_about_shows_the_version_without_blocking(make_main_window, qtbot) -> None:
    window = make_main_window()
    window.show_about()
    qtbot.waitUntil(lambda: window.about_box is not None and window.about_box.isVisible())
    assert __version__ in window.about_box.text()
    window.about_box.close()


def test_the_status_bar_counts_events_published_on_the_hub(make_main_window, qtbot) -> None:
    window = make_main_window()
    hub = window._services.hub
    publisher = QTimer(interval=5)
    publisher.timeout.connect(
        lambda: [hub.publish("test/tick", n, source="test") for n in range(50)]
    )
    publisher.start()
    try:
        qtbot.waitUntil(
            lambda: (
                window.hub_status.rate_label.text() not in ("hub: — events/s", "hub: 0 events/s")
            ),
            timeout=5000,
        )
    finally:
        publisher.stop()
    shown = int(window.hub_status.rate_label.text().split()[1].replace(",", ""))
    assert shown > 0


def test_dead_letters_are_listed(make_main_window, qtbot) -> None:
    window = make_main_window()
    hub = window._services.hub
    hub.on("broken/topic").subscribe(lambda event: 1 / 0)
    hub.publish("broken/topic", 1, source="test")
    window.show_dead_letters()
    dialog = window.dead_letter_dialog
    qtbot.waitUntil(dialog.isVisible)
    rows = [
        [dialog.table.item(row, column).text() for column in range(dialog.table.columnCount())]
        for row in range(dialog.table.rowCount())
    ]
    failed = [row for row in rows if row[3] == "subscriber failed"]
    assert failed and failed[0][1] == "broken/topic"
    assert "ZeroDivisionError" in failed[0][4]
    dialog.close()


@pytest.mark.qt_no_exception_capture
def _error_toasts(window) -> list:  # type: ignore[no-untyped-def, type-arg]
    """The toasts but the first run's "Warning" that says where the audit key went."""
    return [toast for toast in window.notifications.toasts() if toast.title != "Warning"]


def test_an_exception_in_a_slot_shows_a_notification_and_the_app_lives_on(
    make_main_window, qtbot
) -> None:
    window = make_main_window()

    def broken_slot() -> None:
        raise RuntimeError("the candle went out")

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: len(_error_toasts(window)) == 1, timeout=5000)
    [toast] = _error_toasts(window)
    assert "RuntimeError: the candle went out" in toast.title
    assert str(window._services.log_file) in toast.detail
    assert toast.isVisible()
    log_text = window._services.log_file.read_text()
    assert "the candle went out" in log_text and "SCREAM" in log_text
    assert window.isVisible()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_worker_thread_is_reported_on_the_window(make_main_window, qtbot) -> None:
    window = make_main_window()

    def worker() -> None:
        raise ValueError("a spirit in the wires")

    thread = threading.Thread(target=worker, name="haunted-worker")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(_error_toasts(window)) == 1, timeout=5000)
    assert "ValueError: a spirit in the wires" in _error_toasts(window)[0].title


def test_geometry_persists_between_runs(make_main_window, qtbot, tmp_path) -> None:
    first = make_main_window(data_dir=tmp_path / "shared")
    first.resize(910, 610)
    qtbot.waitUntil(lambda: first.width() == 910)
    first.close()
    second = make_main_window(data_dir=tmp_path / "shared")
    assert (second.width(), second.height()) == (910, 610)


def test_closing_the_window_tells_the_app(make_main_window, qtbot) -> None:
    window = make_main_window()
    with qtbot.waitSignal(window.closed, timeout=2000):
        window.close()
    assert not window.isVisible()
