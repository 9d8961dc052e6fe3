"""Why a connection failed, in words a user understands, and whether retrying can help."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from paho.mqtt.reasoncodes import ReasonCode

from phantom_gui.mqtt.config import ConnectionConfig

_TRANSIENT_REFUSALS = frozenset({128, 131, 136, 137, 151, 159})
"""CONNACK codes worth retrying: unspecified or implementation errors, server unavailable
or busy, quota or connection rate exceeded."""

_REFUSALS = {
    132: "the broker does not speak MQTT {protocol}: choose the other version",
    133: "the broker refused the client id {client_id!r}",
    134: "the broker refused the user name or password",
    135: "the broker refused to let this client in (not authorised): check the user name "
    "and password",
    136: "the broker is not taking connections now ({reason})",
    137: "the broker is not taking connections now ({reason})",
    138: "the broker has banned this client",
}


@dataclass(frozen=True)
class Failure:
    """A failed attempt: what to tell the user, and whether only new settings can fix it."""

    message: str
    permanent: bool


def setup_failure(error: BaseException) -> Failure:
    """The client could not be set up (a TLS file is missing, unreadable or malformed)."""
    if isinstance(error, OSError) and error.filename:
        return Failure(f"cannot read the TLS file {error.filename}: {error.strerror}", True)
    return Failure(f"cannot use the TLS files: {_reason(error)}", True)


def connect_failure(error: BaseException | None, config: ConnectionConfig) -> Failure:
    """An attempt to open the network connection failed with `error`."""
    broker = config.broker
    if isinstance(error, socket.gaierror):
        if error.errno == socket.EAI_AGAIN:
            return Failure(f"the host name {config.host!r} cannot be looked up now (DNS)", False)
        return Failure(f"cannot find the host {config.host!r}: {error.strerror} (DNS)", True)
    if isinstance(error, ssl.SSLCertVerificationError):
        return Failure(
            f"TLS error: the broker's certificate was not accepted ({error.verify_message}); "
            "check the CA file and the host name",
            True,
        )
    if isinstance(error, ssl.SSLError):
        if error.reason == "WRONG_VERSION_NUMBER":
            return Failure(f"TLS error: {broker} does not answer in TLS (is it a TLS port?)", True)
        return Failure(f"TLS error: {_reason(error)}", True)
    if isinstance(error, ConnectionResetError) and config.tls.enabled:
        return Failure(f"{broker} dropped the TLS handshake (is it a TLS port?)", False)
    if isinstance(error, ConnectionRefusedError):
        return Failure(f"{broker} refused the connection (is a broker running there?)", False)
    if isinstance(error, TimeoutError):
        return Failure(f"{broker} did not answer in time", False)
    if isinstance(error, OSError):
        return Failure(f"cannot reach {broker}: {error.strerror or error}", False)
    return Failure(f"cannot connect to {broker}", False)


def refusal(reason: ReasonCode, config: ConnectionConfig) -> Failure:
    """The broker answered the connection request with the failure `reason`."""
    template = _REFUSALS.get(reason.value, "the broker refused the connection ({reason})")
    message = template.format(reason=reason, protocol=config.protocol, client_id=config.client_id)
    return Failure(message, reason.value not in _TRANSIENT_REFUSALS)


def disconnect_reason(reason: ReasonCode, *, from_broker: bool) -> str:
    """Why an established connection ended."""
    if from_broker:
        return f"the broker closed the connection ({reason})"
    if str(reason) == "Keep alive timeout":
        return "the broker stopped answering (keepalive timeout)"
    return "the connection to the broker was lost"


def _reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError) and error.reason:
        return f"{error.reason.replace('_', ' ').lower()} ({error.library or 'ssl'})"
    return str(error) or type(error).__name__
