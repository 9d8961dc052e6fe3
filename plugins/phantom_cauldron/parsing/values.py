"""Strict numbers: what every family accepts as a measured value, and why it refuses the rest.

A number is finite and within `MAX_MAGNITUDE`; in JSON it is a JSON number (never a
boolean), or, for a field a family's table names, text spelling one (`"battery":
"37.00"`, as some devices send); in plain text it is ASCII decimal notation. Placeholders
(`nan`, `unknown`, `unavailable`, `None`, empty) are refused with their reason, never read
as 0. Python's own parsers are more lenient (`float` takes "nan", "1_000" and Arabic
digits, `json` takes bare NaN and Infinity), so their results are checked here.
"""

from __future__ import annotations

import json
import math
from typing import NoReturn

from phantom_cauldron.parsing.handling import Reason, Refused

MAX_MAGNITUDE = 1e15
"""Larger values are refused: no sensor measures beyond it in any unit."""

NO_VALUE_WORDS = frozenset({"unavailable", "unknown", "none", "null", "n/a", "nil", "undefined"})
NOT_FINITE_WORDS = frozenset({"nan", "inf", "infinity"})


def _refuse_constant(name: str) -> NoReturn:
    raise Refused(Reason.NOT_FINITE)


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def text_from_payload(payload: bytes) -> str:
    """The payload as UTF-8 text."""
    try:
        return payload.decode()
    except UnicodeDecodeError:
        raise Refused(Reason.NOT_UTF8) from None


def json_from_payload(payload: bytes) -> object:
    """The payload as strict JSON (no NaN or Infinity)."""
    text = text_from_payload(payload)
    if not text or text.isspace():
        raise Refused(Reason.EMPTY)
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise Refused(Reason.INVALID_JSON) from None


def number_from_payload(payload: bytes) -> float:
    """The number a plain payload holds."""
    return number_from_text(text_from_payload(payload))


def number_from_text(text: str) -> float:
    """The number `text` spells in ASCII decimal notation."""
    try:
        number = float(text)
    except ValueError:
        raise Refused(refusal_for_text(text)) from None
    if "_" in text or not text.isascii():
        raise Refused(Reason.NOT_A_NUMBER)
    if math.isinf(number) and text.strip().lstrip("+-").lower() in NOT_FINITE_WORDS:
        raise Refused(Reason.NOT_FINITE)
    return in_range(number)


def number_from_json(value: object) -> float:
    """The number a decoded JSON value holds."""
    number = measure(value)
    if isinstance(number, Reason):
        raise Refused(number)
    return number


def measure(value: object) -> float | Reason:
    """`number_from_json` for loops over many values: the reason instead of raising."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return refusal_for_json(value)
    if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        return float(value)
    return Reason.NOT_FINITE if value != value else Reason.OUT_OF_RANGE


def measure_listed(value: object) -> float | Reason:
    """`measure` for a field a family's table names, where text spelling a number counts."""
    if isinstance(value, str):
        try:
            return number_from_text(value)
        except Refused as refused:
            return refused.reason
    return measure(value)


def in_range(number: float) -> float:
    """`number` if it is finite and within `MAX_MAGNITUDE`."""
    if -MAX_MAGNITUDE <= number <= MAX_MAGNITUDE:
        return number
    raise Refused(Reason.NOT_FINITE if number != number else Reason.OUT_OF_RANGE)


def as_number(value: object) -> float:
    """A template's result as a number: text is read the way Home Assistant reads a state."""
    number = measure_listed(value)
    if isinstance(number, Reason):
        raise Refused(number)
    return number


def refusal_for_text(text: str) -> Reason:
    """Why `text`, which is not a number, was refused."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            _DECODER.decode(stripped)
        except (ValueError, RecursionError, Refused):
            return Reason.INVALID_JSON
        return Reason.NEEDS_FIELD_PATH
    return _refusal_for_word(stripped)


def refusal_for_json(value: object) -> Reason:
    """Why the JSON value `value`, which is not a number, was refused."""
    if value is None:
        return Reason.NO_VALUE
    if isinstance(value, str):
        return _refusal_for_word(value.strip())
    return Reason.NOT_A_NUMBER


def _refusal_for_word(word: str) -> Reason:
    lowered = word.lower()
    if not lowered:
        return Reason.EMPTY
    if lowered in NO_VALUE_WORDS:
        return Reason.NO_VALUE
    if lowered.lstrip("+-") in NOT_FINITE_WORDS:
        return Reason.NOT_FINITE
    return Reason.NOT_A_NUMBER
