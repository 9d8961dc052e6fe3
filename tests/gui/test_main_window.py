"""The main window as a user sees it: menus, status bar, notifications, layout."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QTableView

from phantom_gui import __version__
from phantom_gui.mqtt.messages import MqttMessage, message_topic
from phantom_gui.qt.default_sizes import first_run_geometry

pytestmark = pytest.mark.screen


def _menu_titles(window) -> list[str]:
    return [action.text().replace("&", "") for action in window.menuBar().actions()]


def _trigger(menu, text: str) -> None:
    [action] = [a for a in menu.actions() if a.text().replace("&", "") == text]
    action.trigger()


def _visible_rows(table: QTableView) -> int:
    return table.viewport().height() // table.verticalHeader().defaultSectionSize()


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


def _error_toasts(window) -> list:  # type: ignore[no-untyped-def, type-arg]
    """The toasts but the first run's "Warning" that says where the audit key went."""
    return [toast for toast in window.notifications.toasts() if toast.title != "Warning"]


@pytest.mark.qt_no_exception_capture
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
    assert "the candle went out" in log_text
    assert '"level": "ERROR", "spooky_level": "SCREAM"' in log_text
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


@pytest.mark.parametrize(
    ("screen", "window"),
    [
        (QRect(0, 0, 1600, 1000), QRect(160, 100, 1280, 800)),
        (QRect(0, 0, 1920, 1080), QRect(192, 108, 1536, 864)),
        (QRect(1366, 24, 1366, 744), QRect(1366 + 136, 24 + 74, 1093, 595)),
    ],
)
def test_the_first_window_takes_most_of_its_screen_centred(screen: QRect, window: QRect) -> None:
    assert first_run_geometry(screen) == window


def test_on_first_run_the_window_follows_the_screen_and_two_docks_share_the_bottom(
    make_main_window, qtbot
) -> None:
    window = make_main_window()
    screen = window.screen().availableGeometry()
    assert abs(window.width() - screen.width() * 0.8) <= 1
    assert abs(window.height() - screen.height() * 0.8) <= 1
    assert window.geometry().center() == screen.center()

    for plugin_id in ("phantom_audit_viewer", "phantom_hub_monitor"):
        window.plugin_docks.toggle(plugin_id)
        qtbot.waitUntil(lambda pid=plugin_id: pid in window.plugin_docks.docks, timeout=10_000)
    audit_log = window.plugin_docks.docks["phantom_audit_viewer"]
    monitor = window.plugin_docks.docks["phantom_hub_monitor"]
    qtbot.waitUntil(lambda: min(audit_log.width(), monitor.width()) > window.width() * 0.45)
    for dock in (audit_log, monitor):
        table = dock.widget().findChild(QTableView)
        assert _visible_rows(table) >= 15, f"{dock.windowTitle()} shows too few rows"
        header = table.horizontalHeader()
        shown = sum(header.sectionSize(column) for column in range(3))
        assert shown <= table.viewport().width(), f"{dock.windowTitle()} cuts its columns"


def test_the_user_guide_opens_from_the_help_menu(make_main_window, qtbot) -> None:
    window = make_main_window()
    _trigger(window.help_menu, "User Guide")
    guide = window.user_guide
    qtbot.waitUntil(lambda: guide is not None and guide.isVisible())
    text = guide.browser.toPlainText()
    assert text.startswith("Phantom user guide")
    for section in ("Starting Phantom", "Haunt packs", "Connecting an MQTT broker", "Cauldron"):
        assert section in text
    assert "## " not in text, "the Markdown is shown as source, not rendered"
    guide.browser.setSource(guide.browser.source().resolved("plugins.md"))
    assert guide.browser.toPlainText().startswith("Writing a Phantom plugin")
    _trigger(window.help_menu, "User Guide")
    assert window.user_guide is guide


# Qt says why the folder could not be opened before the window shows it instead.
@pytest.mark.qt_log_ignore("Unable to detect a launcher for 'file://")
def test_without_a_file_manager_the_log_folder_path_is_shown_to_copy(
    make_main_window, qtbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    window = make_main_window()
    monkeypatch.setenv("PATH", str(tmp_path))  # no xdg-open, nor any other launcher
    _trigger(window.help_menu, "Open Log Folder")
    dialog = window.log_folder_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    log_dir = str(window._services.paths.log_dir)
    assert dialog.text.toPlainText() == log_dir
    assert "No file manager" in dialog.message.text()
    QGuiApplication.clipboard().clear()
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == log_dir
    dialog.close()
    _trigger(window.help_menu, "Open Log Folder")
    assert window.log_folder_dialog is dialog and dialog.isVisible()


@pytest.mark.qt_no_exception_capture
def test_an_error_stays_until_dismissed_and_shows_its_details(make_main_window, qtbot) -> None:
    window = make_main_window()
    notice = window.notifications.notify("Warning", "just so you know", severity="info")

    def broken_slot() -> None:
        raise RuntimeError("the cauldron boiled over")

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: len(_error_toasts(window)) == 1, timeout=5000)
    [error] = _error_toasts(window)
    assert error.lasting and not notice.lasting
    fading = window.notifications.notify("Warning", "soon gone", severity="info", lifetime_ms=1)
    qtbot.waitUntil(lambda: fading not in window.notifications.toasts())
    assert error in window.notifications.toasts() and error.isVisible()

    error.details_button.click()
    details = error.details_dialog
    qtbot.waitUntil(lambda: details is not None and details.isVisible())
    text = details.text.toPlainText()
    assert "Traceback" in text and "RuntimeError: the cauldron boiled over" in text
    assert str(window._services.log_file) in text
    details.copy_button.click()
    assert "the cauldron boiled over" in QGuiApplication.clipboard().text()
    details.close()

    error.dismiss_button.click()
    qtbot.waitUntil(lambda: error not in window.notifications.toasts())


def test_an_mqtt_message_a_subscriber_failed_on_shows_the_brokers_topic(
    make_main_window, qtbot
) -> None:
    window = make_main_window()

    def broken(_: MqttMessage) -> None:
        raise ValueError("unreadable")

    window._services.mqtt.messages().subscribe(broken)
    message = MqttMessage("lab", "tele/cauldron/SENSOR", b"{}", 1, False, time.time())
    window._services.hub.publish(message_topic("lab"), message, source="mqtt:lab")
    window.show_dead_letters()
    table = window.dead_letter_dialog.table
    topics = [table.item(row, 1).text() for row in range(table.rowCount())]
    assert "mqtt/lab/message · MQTT tele/cauldron/SENSOR" in topics
    window.dead_letter_dialog.close()


def test_a_toast_stays_above_a_panel_opened_or_raised_after_it(make_main_window, qtbot) -> None:
    window = make_main_window()
    window.resize(1200, 800)
    toast = window.notifications.notify("Warning", "move the key somewhere safe")
    window.plugin_docks.toggle("phantom_hub_monitor")
    qtbot.waitUntil(lambda: "phantom_hub_monitor" in window.plugin_docks.docks)
    dock = window.plugin_docks.docks["phantom_hub_monitor"]
    dock.setFloating(False)

    def on_top() -> bool:
        under = window.childAt(toast.mapTo(window, toast.rect().center()))
        return under is toast or toast.isAncestorOf(under)

    qtbot.waitUntil(on_top, timeout=2_000)
    dock.raise_()  # as the Haunt Packs menu does for a panel already open
    assert on_top(), "a raised panel covers the toast"
