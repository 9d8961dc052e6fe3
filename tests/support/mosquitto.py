"""A real mosquitto for the tests: plain or with passwords, a TLS listener with certificates
made by trustme, stopped, killed and restarted on the same ports; always stopped by PID."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import trustme
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.embedded import (
    LOOPBACK,
    MosquittoProcess,
    find_mosquitto,
    free_port,
    general_settings,
)


class BrokerCertificates:
    """A CA, the broker's certificate for 127.0.0.1 and localhost, and a client certificate."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA()
        self.ca_file = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        server = self.ca.issue_cert(LOOPBACK, "localhost")
        self.server_cert_file = folder / "server.pem"
        self.server_key_file = folder / "server.key"
        server.cert_chain_pems[0].write_to_path(str(self.server_cert_file))
        server.private_key_pem.write_to_path(str(self.server_key_file))
        client = self.ca.issue_cert("phantom-client@example.org")
        self.client_cert_file = folder / "client.pem"
        self.client_key_file = folder / "client.key"
        client.cert_chain_pems[0].write_to_path(str(self.client_cert_file))
        client.private_key_pem.write_to_path(str(self.client_key_file))


def write_password_file(path: Path, users: Mapping[str, str]) -> Path:
    """A mosquitto password file for `users` (name → password), made by mosquitto_passwd."""
    program = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    for index, (user, password) in enumerate(users.items()):
        create = ["-c"] if index == 0 else []
        subprocess.run([program, "-b", *create, str(path), user, password], check=True)
    return path


class MosquittoBroker:
    """mosquitto on free loopback ports: `port` (plain) and, with `tls`, `tls_port`.

    `users` turns anonymous access off and admits only those users; with
    `client_certificates` the TLS listener requires a certificate signed by the CA;
    `settings` are more lines of mosquitto.conf, after the plain listener's (so that
    listener options such as ``max_qos 1`` apply to it).
    """

    host = LOOPBACK

    def __init__(
        self,
        folder: Path,
        *,
        users: Mapping[str, str] | None = None,
        tls: bool = False,
        client_certificates: bool = False,
        settings: Sequence[str] = (),
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        self.certificates = BrokerCertificates(folder / "certs") if tls else None
        self.tls_port = free_port() if tls else None
        self._config = [
            *general_settings(),
            *self._access(users),
            f"listener {self.port} {LOOPBACK}",
            *settings,
        ]
        if self.certificates is not None:
            self._config += [
                f"listener {self.tls_port} {LOOPBACK}",
                f"cafile {self.certificates.ca_file}",
                f"certfile {self.certificates.server_cert_file}",
                f"keyfile {self.certificates.server_key_file}",
                f"require_certificate {'true' if client_certificates else 'false'}",
            ]
        self._process: MosquittoProcess | None = None

    def _access(self, users: Mapping[str, str] | None) -> list[str]:
        if not users:
            return ["allow_anonymous true"]
        passwords = write_password_file(self.folder / "passwords", users)
        return ["allow_anonymous false", f"password_file {passwords}"]

    @property
    def ports(self) -> list[int]:
        """Every port it listens on."""
        return [self.port] if self.tls_port is None else [self.port, self.tls_port]

    @property
    def running(self) -> bool:
        """Whether the mosquitto process is alive."""
        return self._process is not None and self._process.running

    def start(self) -> MosquittoBroker:
        """Start mosquitto (again, on the same ports) and wait until it accepts connections."""
        self._process = MosquittoProcess.start(
            find_mosquitto(), self._config, self.folder, self.ports
        )
        return self

    def stop(self) -> None:
        """Stop it by PID (terminate, then kill after a timeout); nothing if stopped."""
        if self._process is not None:
            self._process.stop()

    def kill(self) -> None:
        """Kill it with SIGKILL, as a crash would."""
        if self._process is not None:
            self._process.kill()

    def restart(self) -> None:
        """Stop it and start it again on the same ports."""
        self.stop()
        self.start()

    def config(self, **values: Any) -> ConnectionConfig:
        """A connection to the plain listener; `values` override or add settings."""
        return ConnectionConfig.parse(
            {"id": "test", "name": "Test broker", "host": self.host, "port": self.port, **values}
        )

    def publish(self, topic: str, *payloads: bytes, retain: bool = False) -> None:
        """Publish `payloads` on `topic`, in order, at QoS 1 from a plain paho client (not
        an app's), as fast as the broker takes them; return once it has them all."""
        client = Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{time.monotonic_ns()}")
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(1000)
        client.connect(self.host, self.port)
        client.loop_start()
        try:
            sent = [client.publish(topic, payload, qos=1, retain=retain) for payload in payloads]
            for info in sent:
                info.wait_for_publish(60)
        finally:
            client.disconnect()
            client.loop_stop()

    def tls_config(self, **values: Any) -> ConnectionConfig:
        """A connection to the TLS listener that trusts the test CA."""
        assert self.certificates is not None, "start the broker with tls=True"
        tls = {"enabled": True, "ca_file": self.certificates.ca_file, **values.pop("tls", {})}
        return self.config(port=self.tls_port, tls=tls, **values)
