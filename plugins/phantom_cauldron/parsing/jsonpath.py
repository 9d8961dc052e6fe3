"""Field paths into decoded JSON: `sensors.0.temp`, `ENERGY.Power`.

A path is a tuple of steps; a step names a member of an object, or indexes an array
when it is a decimal number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from phantom_cauldron.parsing.handling import Path, Reason, Refused

__all__ = ["MISSING", "Path", "compile_path", "find", "lookup"]

MISSING: Final = object()
"""What `find` gives for a path that leads nowhere."""


def compile_path(text: str) -> Path:
    """The steps of a dotted path; `ValueError` for an empty path or an empty step."""
    steps = tuple(text.split("."))
    if not all(steps):
        raise ValueError(f"field path {text!r}: every step between dots needs a name")
    return steps


def find(document: object, steps: Sequence[str]) -> object:
    """The value at `steps` in `document`, or `MISSING`."""
    node = document
    for step in steps:
        if isinstance(node, dict):
            node = node.get(step, MISSING)
            if node is MISSING:
                return MISSING
        elif isinstance(node, list) and step.isascii() and step.isdigit():
            try:
                node = node[int(step)]
            except (IndexError, ValueError):
                return MISSING
        else:
            return MISSING
    return node


def lookup(document: object, steps: Sequence[str]) -> object:
    """The value at `steps` in `document`; refused when the path leads nowhere."""
    value = find(document, steps)
    if value is MISSING:
        raise Refused(Reason.FIELD_MISSING)
    return value
