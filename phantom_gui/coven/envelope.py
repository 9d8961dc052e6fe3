"""The versioned envelope every coven event travels in, as JSON.

`seal` refuses anything that would not come back as it left (non-JSON values, NaN and
infinities, non-string keys) before a byte is written; `open_envelope` refuses anything
that is not a well-formed envelope of a known version. Both raise `EnvelopeError`.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from phantom_gui.core.errors import DisturbanceError
from phantom_gui.core.plain import plain
from phantom_gui.core.topics import validate_topic

ENVELOPE_VERSION = 1
"""The version this code writes and the only one it reads."""

MAX_ENVELOPE_BYTES = 1024 * 1024
"""The largest sealed envelope sent or opened."""

_encoder = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


class EnvelopeError(DisturbanceError):
    """An envelope could not be sealed or opened: `field` names where, `problem` what."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"coven envelope: {field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Envelope:
    """One hub event as it crosses the broker."""

    version: int
    id: str
    """The event's id, unique across the coven: receivers drop a second copy."""
    topic: str
    """The hub topic, without the coven's prefix."""
    source: str
    """The id of the sending instance (unique per run)."""
    sequence: int
    """The sender's count of its events, from 1: receivers keep each sender's order."""
    timestamp: float
    """Seconds since the epoch when the event was sealed."""
    correlation_id: str | None = None
    token: str | None = None
    payload: Any = None
    """A JSON value: null, booleans, numbers, strings, lists and string-keyed objects."""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def new_envelope(
    topic: str,
    payload: Any,
    *,
    source: str,
    sequence: int,
    correlation_id: str | None = None,
    token: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Envelope:
    """An envelope of the current version with a fresh event id and the time now."""
    return Envelope(
        version=ENVELOPE_VERSION,
        id=uuid.uuid4().hex,
        topic=topic,
        source=source,
        sequence=sequence,
        timestamp=time.time(),
        correlation_id=correlation_id,
        token=token,
        payload=payload,
        metadata=dict(metadata or {}),
    )


def seal(envelope: Envelope) -> bytes:
    """`envelope` as JSON (ASCII, so any string survives), or `EnvelopeError` naming the
    first field that cannot be sent. Typed data (dataclasses, named tuples, pydantic
    models, enums) travels as `plain` makes it; numpy scalars and arrays as Python
    numbers and lists."""
    document = {
        "version": envelope.version,
        "id": envelope.id,
        "topic": envelope.topic,
        "source": envelope.source,
        "sequence": envelope.sequence,
        "timestamp": envelope.timestamp,
        "correlation_id": envelope.correlation_id,
        "token": envelope.token,
        "payload": _json_value(envelope.payload, "payload"),
        "metadata": _json_value(envelope.metadata, "metadata"),
    }
    _check_fields(document)
    try:
        data = _encoder.encode(document).encode("ascii")
    except ValueError as error:
        raise EnvelopeError("envelope", str(error)) from None
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError("envelope", f"{len(data)} bytes, over {MAX_ENVELOPE_BYTES}")
    return data


def open_envelope(data: bytes) -> Envelope:
    """The envelope in `data`, or `EnvelopeError` saying which field is wrong and how."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EnvelopeError("envelope", f"expected bytes, got {type(data).__name__}")
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError("envelope", f"{len(data)} bytes, over {MAX_ENVELOPE_BYTES}")
    try:
        document = json.loads(bytes(data).decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as error:
        raise EnvelopeError("envelope", f"not UTF-8 ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise EnvelopeError("envelope", f"not JSON ({error.msg} at {error.pos})") from None
    except ValueError as error:
        raise EnvelopeError("envelope", str(error)) from None
    except RecursionError:
        raise EnvelopeError("envelope", "nested too deeply") from None
    if not isinstance(document, dict):
        raise EnvelopeError("envelope", f"expected a JSON object, got {_kind(document)}")
    for name in _FIELDS:
        if name not in document:
            raise EnvelopeError(name, "missing")
    _check_fields(document)
    return Envelope(**{name: document[name] for name in _FIELDS})


def _check_fields(document: Mapping[str, Any]) -> None:
    version = document["version"]
    if not _is_int(version):
        raise EnvelopeError("version", f"expected an integer, got {_kind(version)}")
    if version != ENVELOPE_VERSION:
        raise EnvelopeError("version", f"unknown version {version} (this reads {ENVELOPE_VERSION})")
    for name in ("id", "source"):
        if not isinstance(document[name], str) or not document[name]:
            raise EnvelopeError(name, f"expected a non-empty string, got {_kind(document[name])}")
    try:
        validate_topic(document["topic"])
    except ValueError as error:
        raise EnvelopeError("topic", str(error)) from None
    sequence = document["sequence"]
    if not _is_int(sequence) or sequence < 1:
        raise EnvelopeError("sequence", f"expected an integer from 1, got {sequence!r}")
    stamp = document["timestamp"]
    if not (_is_int(stamp) or (isinstance(stamp, float) and math.isfinite(stamp))):
        raise EnvelopeError("timestamp", f"expected a finite number, got {stamp!r}")
    for name in ("correlation_id", "token"):
        if document[name] is not None and not isinstance(document[name], str):
            raise EnvelopeError(name, f"expected a string or null, got {_kind(document[name])}")
    if not isinstance(document["metadata"], Mapping):
        raise EnvelopeError("metadata", f"expected an object, got {_kind(document['metadata'])}")


def _json_value(value: Any, where: str) -> Any:
    """`value` as JSON's types, or `EnvelopeError` naming where it is not."""
    try:
        return _converted(plain(value), where)
    except RecursionError:
        raise EnvelopeError(where, "nested too deeply") from None


def _converted(value: Any, where: str) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EnvelopeError(where, f"{value} is not a JSON number")
        return value
    if isinstance(value, Mapping):
        converted = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise EnvelopeError(where, f"key {key!r} is not a string")
            converted[key] = _converted(item, f"{where}.{key}")
        return converted
    if isinstance(value, list | tuple):
        return [_converted(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, np.ndarray | np.generic):
        return _converted(value.tolist(), where)
    raise EnvelopeError(where, f"a {type(value).__name__} is not JSON-serialisable")


def _refuse_constant(name: str) -> Any:
    raise EnvelopeError("envelope", f"{name} is not a JSON number")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


_FIELDS = (
    "version",
    "id",
    "topic",
    "source",
    "sequence",
    "timestamp",
    "correlation_id",
    "token",
    "payload",
    "metadata",
)
