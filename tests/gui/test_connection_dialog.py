"""File › MQTT Connections… as a user meets it: the form, Test, Save, the list of connections
with their state, and the MQTT label in the status bar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox, QWidget

from phantom_gui.core.settings import Settings
from phantom_gui.mqtt.embedded import free_port
from phantom_gui.mqtt.profiles import KEYRING_SERVICE, MqttSettings
from phantom_gui.qt.connection_dialog import MqttConnectionsDialog

from support.mosquitto import MosquittoBroker
from support.waiting import until

pytestmark = pytest.mark.screen


def _open_dialog(window) -> MqttConnectionsDialog:
    [action] = [a for a in window.file_menu.actions() if a.text() == "&MQTT Connections…"]
    action.trigger()
    dialog = window.mqtt_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def _fill(dialog: MqttConnectionsDialog, broker: MosquittoBroker) -> None:
    form = dialog.form
    form.name.setText("Garden sensors")
    form.host.setText(broker.host)
    form.port.setValue(broker.port)


def _saved_entries(window) -> list[dict]:
    """The connections in the settings file on disk."""
    return list(Settings(window._services.settings.path).load(MqttSettings).connections)


def test_the_menu_opens_one_window_that_starts_a_new_connection(make_main_window) -> None:
    window = make_main_window()
    dialog = _open_dialog(window)
    assert _open_dialog(window) is dialog
    assert dialog.connection_list.count() == 0
    assert dialog.form.name.text() == "New broker" and dialog.form.host.text() == "localhost"
    assert dialog.form.subscriptions.values() == [{"pattern": "#", "qos": 1}]
    assert not dialog.remove_button.isEnabled() and not dialog.disconnect_button.isEnabled()
    assert window.hub_status.mqtt_button.text() == "MQTT: no connection"


def test_every_field_round_trips_through_the_settings_file(
    no_keyring, make_main_window, run_on_loop, tmp_path: Path
) -> None:
    window = make_main_window(data_dir=tmp_path / "data")
    dialog = _open_dialog(window)
    form = dialog.form
    form.name.setText("Vault")
    form.host.setText("vault.example.org")
    form.port.setValue(8884)
    form.protocol.setCurrentIndex(form.protocol.findData("5"))
    form.client_id.setText("phantom-vault")
    form.keepalive.setValue(30)
    form.clean_session.setChecked(False)
    form.username.setText("alice")
    form.password.setText("correct horse")
    form.store_password.setChecked(True)
    assert "plain text" in form.password_note.text()
    assert str(window._services.settings.path) in form.password_note.text()
    form.tls.setChecked(True)
    form.ca_file.path.setText("/etc/phantom/ca.pem")
    form.cert_file.path.setText("/etc/phantom/client.pem")
    form.key_file.path.setText("/etc/phantom/client.key")
    form.insecure.setChecked(True)
    form.subscriptions.add_row_button.click()
    form.subscriptions.table.item(1, 0).setText("tele/+/SENSOR")
    qos = form.subscriptions.table.cellWidget(1, 1)
    assert isinstance(qos, QComboBox)
    qos.setCurrentIndex(0)
    expected = form.values()

    async def save() -> None:
        dialog.save_button.click()
        await until(lambda: _saved_entries(window))

    run_on_loop(save())
    [entry] = _saved_entries(window)
    assert entry["password"] == "correct horse"
    assert entry["tls"] == {
        "enabled": True,
        "ca_file": "/etc/phantom/ca.pem",
        "cert_file": "/etc/phantom/client.pem",
        "key_file": "/etc/phantom/client.key",
        "insecure": True,
    }
    assert entry["subscriptions"] == [
        {"pattern": "#", "qos": 1},
        {"pattern": "tele/+/SENSOR", "qos": 0},
    ]
    assert dialog.result.text().startswith("Saved. The password will be written in plain text")

    window.close()
    run_on_loop(window._services.stop())
    again = make_main_window(data_dir=tmp_path / "data")
    reopened = _open_dialog(again)
    assert reopened.connection_list.count() == 1
    assert reopened.form.values() == expected


def test_with_a_keyring_the_password_goes_there_and_the_dialog_says_so(
    memory_keyring, make_main_window, run_on_loop, mosquitto: MosquittoBroker
) -> None:
    window = make_main_window()
    dialog = _open_dialog(window)
    _fill(dialog, mosquitto)
    dialog.form.username.setText("alice")
    dialog.form.password.setText("s3cret")
    assert "system keyring" in dialog.form.password_note.text()

    async def save() -> None:
        dialog.save_button.click()
        await until(lambda: _saved_entries(window))

    run_on_loop(save())
    [entry] = _saved_entries(window)
    assert "password" not in entry
    # The audit log's verification key is in the keyring too, under its own service.
    mqtt_entries = {k: v for k, v in memory_keyring.passwords.items() if k[0] == KEYRING_SERVICE}
    assert mqtt_entries == {(KEYRING_SERVICE, entry["id"]): "s3cret"}


def test_without_a_keyring_the_dialog_says_the_password_lasts_one_session(
    no_keyring, make_main_window
) -> None:
    dialog = _open_dialog(make_main_window())
    assert "for this session only" in dialog.form.password_note.text()


def test_the_test_button_reports_success_and_a_closed_port_clearly(
    make_main_window, run_on_loop, mosquitto: MosquittoBroker
) -> None:
    window = make_main_window()
    dialog = _open_dialog(window)
    _fill(dialog, mosquitto)

    async def test_twice() -> None:
        dialog.test_button.click()
        assert not dialog.test_button.isEnabled()
        await until(lambda: dialog.test_button.isEnabled())
        assert dialog.result.text() == f"Connected to 127.0.0.1:{mosquitto.port}"
        assert dialog.result.property("outcome") == "ok"

        dialog.form.port.setValue(free_port())
        dialog.test_button.click()
        await until(lambda: dialog.test_button.isEnabled())

    run_on_loop(test_twice())
    assert "refused the connection (is a broker running there?)" in dialog.result.text()
    assert dialog.result.property("outcome") == "failed"
    assert dialog.connection_list.count() == 0  # testing saves nothing
    assert not _saved_entries(window)


def test_invalid_settings_are_explained_and_not_saved(make_main_window) -> None:
    window = make_main_window()
    dialog = _open_dialog(window)
    dialog.form.host.setText("")
    dialog.form.clean_session.setChecked(False)

    dialog.save_button.click()

    assert dialog.result.text() == "Host: String should have at least 1 character"
    assert dialog.result.property("outcome") == "failed"
    assert not _saved_entries(window)


def test_the_list_and_the_status_bar_follow_the_connection_state(
    make_main_window, run_on_loop, make_mosquitto: Callable[..., MosquittoBroker]
) -> None:
    broker = make_mosquitto()
    window = make_main_window()
    label = window.hub_status.mqtt_button
    dialog = _open_dialog(window)
    _fill(dialog, broker)

    def listed() -> str:
        return dialog.connection_list.item(0).text()

    async def scenario() -> None:
        dialog.save_button.click()
        await until(lambda: label.text() == "MQTT: 1 connected")
        assert label.property("alarming") == "false"
        assert "Garden sensors" in label.toolTip() and "Connected to" in label.toolTip()
        assert listed() == f"Garden sensors\nconnected · 127.0.0.1:{broker.port}"
        assert dialog.state.text() == f"Connected to 127.0.0.1:{broker.port}"
        assert dialog.disconnect_button.isEnabled() and not dialog.connect_button.isEnabled()

        broker.kill()
        await until(lambda: label.text() == "MQTT: Garden sensors reconnecting…")
        assert label.property("alarming") == "true"
        assert listed().startswith("Garden sensors\nreconnecting in ")
        assert dialog.state.property("outcome") == "failed"

        broker.start()
        await until(lambda: label.text() == "MQTT: 1 connected", timeout=30)
        assert label.property("alarming") == "false"

        dialog.disconnect_button.click()
        await until(lambda: label.text() == "MQTT: 1 disconnected")
        assert dialog.connect_button.isEnabled() and not dialog.disconnect_button.isEnabled()
        dialog.connect_button.click()
        await until(lambda: label.text() == "MQTT: 1 connected")

        dialog.remove_button.click()
        await until(lambda: label.text() == "MQTT: no connection")
        assert dialog.connection_list.count() == 0, "the list follows the final state at once"
        await until(lambda: dialog._tasks.pending == 0)

    run_on_loop(scenario(), timeout=60)
    assert dialog.connection_list.count() == 0
    assert _saved_entries(window) == []


def test_a_stopped_broker_is_named_in_the_status_bar_and_the_cauldron_and_a_click_opens_it(
    make_main_window,
    run_on_loop,
    qtbot,
    make_mosquitto: Callable[..., MosquittoBroker],
    tmp_path: Path,
) -> None:
    garden, shed = make_mosquitto(), make_mosquitto()
    window = make_main_window()
    mqtt = window._services.mqtt
    mqtt.add_session(garden.config(id="garden", name="Garden sensors"))
    mqtt.add_session(shed.config(id="shed", name="Shed sensors"))
    button = window.hub_status.mqtt_button
    window.plugin_docks.toggle("phantom_cauldron")
    qtbot.waitUntil(lambda: "phantom_cauldron" in window.plugin_docks.docks, timeout=10_000)
    panel = window.plugin_docks.docks["phantom_cauldron"].findChild(QWidget, "cauldronPanel")
    trouble = panel.trouble_label

    async def scenario() -> None:
        await until(lambda: button.text() == "MQTT: 2 connected")
        assert trouble.isHidden()
        assert panel.source_label.text() == "Live sensors from every MQTT connection"

        shed.stop()
        await until(lambda: button.text() == "MQTT: Shed sensors reconnecting… · 1 connected")
        await until(lambda: "refused the connection" in button.toolTip())
        assert button.property("alarming") == "true"
        assert not trouble.isHidden()
        assert trouble.text() == (
            f"⚠ Shed sensors (127.0.0.1:{shed.port}) is not connected: reconnecting…"
        )
        assert f"127.0.0.1:{shed.port} refused the connection" in trouble.toolTip()
        assert "Garden" not in trouble.toolTip()

    run_on_loop(scenario(), timeout=30)
    window.resize(1400, 800)
    qtbot.wait(200)
    panel.grab().save(str(tmp_path / "cauldron-unreachable-broker.png"))
    window.hub_status.grab().save(str(tmp_path / "status-bar-unreachable-broker.png"))

    button.click()
    dialog = window.mqtt_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.selected_id() == "shed", "the connection in trouble, not the first one"
    assert dialog.state.property("outcome") == "failed"
    assert "refused the connection" in dialog.state.text()
    assert dialog.retained.text().startswith("Retained messages kept for new subscribers: 0 topics")
    dialog.grab().save(str(tmp_path / "connections-unreachable-broker.png"))

    async def back() -> None:
        shed.start()
        await until(lambda: button.text() == "MQTT: 2 connected", timeout=30)
        assert trouble.isHidden()
        assert button.property("alarming") == "false"

    run_on_loop(back(), timeout=40)
    dialog.close()
