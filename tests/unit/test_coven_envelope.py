"""The coven envelope: what seals, what opens, and what is refused with which field."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom_gui.coven.envelope import (
    ENVELOPE_VERSION,
    MAX_ENVELOPE_BYTES,
    Envelope,
    EnvelopeError,
    new_envelope,
    open_envelope,
    seal,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def envelope(payload: Any = None, **changes: Any) -> Envelope:
    return replace(
        new_envelope("cauldron/reading", payload, source="desk-1", sequence=1), **changes
    )


class Colour(Enum):
    RED = "red"


class Point(NamedTuple):
    x: int
    y: int


@dataclass(frozen=True)
class Reading:
    sensor: str
    value: float
    colour: Colour
    where: Point


def sealed_fields(**fields: Any) -> bytes:
    document = json.loads(seal(envelope({"v": 1})))
    document.update(fields)
    return json.dumps(document).encode()


def test_a_sealed_envelope_opens_as_it_was() -> None:
    sent = envelope(
        {"readings": [1, 2.5, None, True], "name": "ghöst"},
        correlation_id="brew-7",
        token="a.b.c",
        metadata={"origin_realm": "desk-1"},
    )
    assert open_envelope(seal(sent)) == sent


def test_the_wire_is_a_readable_json_object_of_the_documented_fields() -> None:
    document = json.loads(seal(envelope({"t": 21.5})))
    assert set(document) == {
        "version", "id", "topic", "source", "sequence", "timestamp",
        "correlation_id", "token", "payload", "metadata",
    }  # fmt: skip
    assert document["version"] == ENVELOPE_VERSION
    assert document["payload"] == {"t": 21.5}


def test_typed_data_and_numpy_travel_as_plain_json() -> None:
    reading = Reading("probe", 21.5, Colour.RED, Point(1, 2))
    payload = {"reading": reading, "mean": np.float32(1.5), "series": np.arange(3)}
    opened = open_envelope(seal(envelope(payload)))
    assert opened.payload == {
        "reading": {"sensor": "probe", "value": 21.5, "colour": "red", "where": {"x": 1, "y": 2}},
        "mean": 1.5,
        "series": [0, 1, 2],
    }


@pytest.mark.parametrize(
    ("payload", "field", "problem"),
    [
        ({"t": float("nan")}, "payload.t", "nan is not a JSON number"),
        ({"a": [1, float("inf")]}, "payload.a[1]", "inf is not a JSON number"),
        ({"series": np.array([1.0, np.nan])}, "payload.series[1]", "nan"),
        ({1: "one"}, "payload", "key 1 is not a string"),
        ({"when": object()}, "payload.when", "object is not JSON-serialisable"),
        ({"raw": b"bytes"}, "payload.raw", "bytes is not JSON-serialisable"),
        ({"tags": {"a", "b"}}, "payload.tags", "set is not JSON-serialisable"),
    ],
)
def test_a_payload_that_is_not_json_is_refused_naming_the_field(
    payload: Any, field: str, problem: str
) -> None:
    with pytest.raises(EnvelopeError, match="coven envelope") as refused:
        seal(envelope(payload))
    assert refused.value.field == field
    assert problem in refused.value.problem


def test_metadata_is_checked_like_the_payload() -> None:
    with pytest.raises(EnvelopeError) as refused:
        seal(envelope(metadata={"origin_realm": object()}))
    assert refused.value.field == "metadata.origin_realm"


def test_nothing_over_the_size_limit_is_sealed_or_opened() -> None:
    with pytest.raises(EnvelopeError, match="bytes, over") as refused:
        seal(envelope("x" * MAX_ENVELOPE_BYTES))
    assert refused.value.field == "envelope"
    with pytest.raises(EnvelopeError, match="bytes, over"):
        open_envelope(b" " * (MAX_ENVELOPE_BYTES + 1))


def test_a_deeply_nested_payload_is_refused_not_crashed() -> None:
    payload: Any = []
    for _ in range(100_000):
        payload = [payload]
    with pytest.raises(EnvelopeError, match="nested too deeply"):
        seal(envelope(payload))
    with pytest.raises(EnvelopeError):
        open_envelope(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        (b"\xff\xfe", "envelope", "not UTF-8"),
        (b"{not json", "envelope", "not JSON"),
        (b"[1, 2]", "envelope", "expected a JSON object, got list"),
        (b'{"version": 1}', "id", "missing"),
        (b'{"id": "x"}', "version", "missing"),
    ],
)
def test_malformed_input_is_refused(data: bytes, field: str, problem: str) -> None:
    with pytest.raises(EnvelopeError) as refused:
        open_envelope(data)
    assert (refused.value.field, problem in refused.value.problem) == (field, True)


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"version": 2}, "version", "unknown version 2"),
        ({"version": "1"}, "version", "expected an integer, got str"),
        ({"version": True}, "version", "expected an integer, got bool"),
        ({"id": ""}, "id", "non-empty string"),
        ({"source": 7}, "source", "non-empty string, got int"),
        ({"topic": "cauldron/#"}, "topic", "wildcards"),
        ({"topic": None}, "topic", "non-empty string"),
        ({"sequence": 0}, "sequence", "integer from 1"),
        ({"sequence": 1.5}, "sequence", "integer from 1"),
        ({"timestamp": "now"}, "timestamp", "finite number"),
        ({"correlation_id": 3}, "correlation_id", "string or null"),
        ({"token": ["a"]}, "token", "string or null"),
        ({"metadata": []}, "metadata", "expected an object, got list"),
    ],
)
def test_a_wrong_field_is_refused_by_name(fields: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(EnvelopeError) as refused:
        open_envelope(sealed_fields(**fields))
    assert refused.value.field == field
    assert problem in refused.value.problem


def test_nan_written_by_a_lenient_sender_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="NaN is not a JSON number"):
        open_envelope(sealed_fields(payload=float("nan")))


def test_unknown_fields_are_ignored_for_later_additions() -> None:
    assert open_envelope(sealed_fields(priority="high")).payload == {"v": 1}


def test_a_wrong_field_is_refused_at_the_sender_too() -> None:
    with pytest.raises(EnvelopeError) as refused:
        seal(envelope(sequence=0))
    assert refused.value.field == "sequence"


@given(json_values, st.text(min_size=1), st.one_of(st.none(), st.text()))
def test_any_json_payload_round_trips(payload: Any, source: str, token: str | None) -> None:
    sent = envelope(payload, source=source, token=token)
    assert open_envelope(seal(sent)) == sent


@given(st.binary(max_size=300))
def test_garbage_bytes_raise_only_envelope_error(data: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        open_envelope(data)


@given(st.dictionaries(st.sampled_from(["version", "id", "topic", "source", "sequence",
    "timestamp", "correlation_id", "token", "payload", "metadata", "x"]), json_values))  # fmt: skip
def test_garbage_json_objects_raise_only_envelope_error(document: dict[str, Any]) -> None:
    try:
        opened = open_envelope(json.dumps(document).encode())
    except EnvelopeError:
        return
    assert open_envelope(seal(opened)) == opened
