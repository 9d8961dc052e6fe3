"""One state payload decoded at most once, however many readers look at it."""

from __future__ import annotations

from typing import Final

from phantom_cauldron.parsing.handling import Refused
from phantom_cauldron.parsing.values import json_from_payload, text_from_payload

_UNSET: Final = object()


class StatePayload:
    """One message as templates and family readers see it: `value` (the text) and
    `value_json` (the JSON), each decoded on first use."""

    __slots__ = ("_json", "_payload", "_text")

    def __init__(self, payload: bytes) -> None:
        self._payload = payload
        self._text: str | None = None
        self._json: object = _UNSET

    @property
    def value(self) -> str:
        """The payload as text."""
        if self._text is None:
            self._text = text_from_payload(self._payload)
        return self._text

    @property
    def value_json(self) -> object:
        """The payload as JSON; every reader sharing this payload gets the same refusal."""
        if self._json is _UNSET:
            try:
                self._json = json_from_payload(self._payload)
            except Refused as refused:
                self._json = refused
        if isinstance(self._json, Refused):
            raise Refused(self._json.reason)
        return self._json
