"""The form of one MQTT connection: a view of every `ConnectionConfig` field, and a plain
statement of where its password will be kept."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phantom_gui.mqtt.config import FIELD_LABELS, ConnectionConfig, Subscription
from phantom_gui.mqtt.profiles import ConnectionStore, PasswordStorage

PROTOCOLS = (("MQTT 3.1.1", "3.1.1"), ("MQTT 5", "5"))
QOS_CHOICES = (("0 · at most once", 0), ("1 · at least once", 1), ("2 · exactly once", 2))


def storage_sentence(storage: PasswordStorage, store: ConnectionStore) -> str:
    """Where the password goes, said plainly."""
    if storage is PasswordStorage.SETTINGS:
        return f"The password will be written in plain text to {store.settings_file}."
    if storage is PasswordStorage.KEYRING:
        return "The password will be kept in the system keyring, not in the settings file."
    return (
        "No system keyring is available: the password is kept for this session only and "
        "asked for again after a restart, unless you store it in the settings file."
    )


class FileField(QWidget):
    """A path typed in or chosen with a (non-modal) file dialog."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._caption = caption
        self.path = QLineEdit(placeholderText="none")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.path, 1)
        layout.addWidget(browse)

    def _browse(self) -> None:
        chooser = QFileDialog(self, self._caption, self.path.text())
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.fileSelected.connect(self.path.setText)
        chooser.open()


class SubscriptionTable(QWidget):
    """The topic patterns to subscribe to, each with its QoS."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Topic pattern", "QoS"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.add_row_button = QPushButton("Add")
        self.add_row_button.clicked.connect(lambda: self.add(Subscription(pattern="#")))
        self.remove_rows_button = QPushButton("Remove")
        self.remove_rows_button.clicked.connect(self._remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_row_button)
        buttons.addWidget(self.remove_rows_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def add(self, subscription: Subscription) -> None:
        """Append a row."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(subscription.pattern))
        qos = QComboBox()
        for text, value in QOS_CHOICES:
            qos.addItem(text, value)
        qos.setCurrentIndex(subscription.qos)
        self.table.setCellWidget(row, 1, qos)

    def set_all(self, subscriptions: tuple[Subscription, ...]) -> None:
        """Show exactly `subscriptions`."""
        self.table.setRowCount(0)
        for subscription in subscriptions:
            self.add(subscription)

    def values(self) -> list[dict[str, Any]]:
        """Each row as ``{"pattern", "qos"}``."""
        rows = []
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            qos = self.table.cellWidget(row, 1)
            assert isinstance(qos, QComboBox)
            rows.append({"pattern": item.text() if item else "", "qos": qos.currentData()})
        return rows

    def _remove_selected(self) -> None:
        for row in sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)


class ConnectionForm(QWidget):
    """Every setting of one connection; `values()` gives them back for validation."""

    def __init__(self, store: ConnectionStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._id = ""
        self.name = QLineEdit()
        self.host = QLineEdit(placeholderText="broker.example.org or 192.168.1.10")
        self.port = QSpinBox(minimum=1, maximum=65535)
        self.protocol = QComboBox()
        for text, value in PROTOCOLS:
            self.protocol.addItem(text, value)
        self.client_id = QLineEdit(placeholderText="empty: the broker or paho picks one")
        self.keepalive = QSpinBox(minimum=5, maximum=65535, suffix=" s")
        self.clean_session = QCheckBox("Start a clean session on each connection")
        self.clean_session.setToolTip(
            "Unchecked, the broker keeps the session (subscriptions, queued QoS 1 and 2 "
            "messages) while Phantom is away; that needs a client id."
        )
        self.username = QLineEdit()
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.store_password = QCheckBox("Store the password in the settings file (plain text)")
        self.password_note = QLabel(wordWrap=True, objectName="passwordNote")
        self.store_password.toggled.connect(self._show_password_note)
        self.tls = QGroupBox("TLS", checkable=True)
        self.ca_file = FileField("CA certificate (PEM)")
        self.cert_file = FileField("Client certificate (PEM)")
        self.key_file = FileField("Client key (PEM)")
        self.insecure = QCheckBox("Don't verify the broker's certificate (insecure)")
        self.subscriptions = SubscriptionTable()
        self._lay_out()
        self._show_password_note()

    def _lay_out(self) -> None:
        broker = QGroupBox("Broker")
        broker_form = _form(broker)
        for key, widget in (
            ("name", self.name),
            ("host", self.host),
            ("port", self.port),
            ("protocol", self.protocol),
            ("client_id", self.client_id),
            ("keepalive", self.keepalive),
        ):
            broker_form.addRow(FIELD_LABELS[key], widget)
        broker_form.addRow("", self.clean_session)

        login = QGroupBox("Authentication")
        login_form = _form(login)
        login_form.addRow(FIELD_LABELS["username"], self.username)
        login_form.addRow(FIELD_LABELS["password"], self.password)
        login_form.addRow("", self.store_password)
        login_form.addRow("", self.password_note)

        tls_form = _form(self.tls)
        for key, field in (
            ("tls.ca_file", self.ca_file),
            ("tls.cert_file", self.cert_file),
            ("tls.key_file", self.key_file),
        ):
            tls_form.addRow(FIELD_LABELS[key], field)
        tls_form.addRow("", self.insecure)

        topics = QGroupBox(FIELD_LABELS["subscriptions"])
        QVBoxLayout(topics).addWidget(self.subscriptions)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(broker, 0, 0)
        grid.addWidget(login, 1, 0)
        grid.addWidget(self.tls, 0, 1)
        grid.addWidget(topics, 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

    def _show_password_note(self) -> None:
        storage = self._store.password_storage(self.store_password.isChecked())
        self.password_note.setText(storage_sentence(storage, self._store))

    def show_config(self, config: ConnectionConfig) -> None:
        """Fill every field from `config`."""
        self._id = config.id
        self.name.setText(config.name)
        self.host.setText(config.host)
        self.port.setValue(config.port)
        self.protocol.setCurrentIndex(self.protocol.findData(config.protocol))
        self.client_id.setText(config.client_id)
        self.keepalive.setValue(config.keepalive)
        self.clean_session.setChecked(config.clean_session)
        self.username.setText(config.username or "")
        self.password.setText(config.password_text() or "")
        self.store_password.setChecked(config.store_password_in_settings)
        tls = config.tls
        self.tls.setChecked(tls.enabled)
        for field, path in (
            (self.ca_file, tls.ca_file),
            (self.cert_file, tls.cert_file),
            (self.key_file, tls.key_file),
        ):
            field.path.setText("" if path is None else str(path))
        self.insecure.setChecked(tls.insecure)
        self.subscriptions.set_all(config.subscriptions)
        self._show_password_note()

    def values(self) -> dict[str, Any]:
        """The fields as `ConnectionConfig.parse` takes them."""
        return {
            "id": self._id,
            "name": self.name.text(),
            "host": self.host.text(),
            "port": self.port.value(),
            "protocol": self.protocol.currentData(),
            "client_id": self.client_id.text(),
            "keepalive": self.keepalive.value(),
            "clean_session": self.clean_session.isChecked(),
            "username": self.username.text(),
            "password": self.password.text(),
            "store_password_in_settings": self.store_password.isChecked(),
            "tls": {
                "enabled": self.tls.isChecked(),
                "ca_file": self.ca_file.path.text().strip(),
                "cert_file": self.cert_file.path.text().strip(),
                "key_file": self.key_file.path.text().strip(),
                "insecure": self.insecure.isChecked(),
            },
            "subscriptions": self.subscriptions.values(),
        }

    def config(self) -> ConnectionConfig:
        """The settings as shown, validated (`ConfigError` lists what is wrong)."""
        return ConnectionConfig.parse(self.values())


def _form(group: QGroupBox) -> QFormLayout:
    layout = QFormLayout(group)
    layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return layout
