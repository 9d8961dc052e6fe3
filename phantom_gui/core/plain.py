"""Typed data (frozen dataclasses, named tuples, pydantic models, enums) as JSON's types.

Events on the hub carry typed data; the audit journal and the views that print a
payload show it as a JSON object rather than its `repr`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any


def plain(value: Any) -> Any:
    """`value` made of JSON's types where it is typed data: a dataclass or a named tuple as
    its fields, a pydantic model as its JSON dump, an enum as its value; anything else
    as it is."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
