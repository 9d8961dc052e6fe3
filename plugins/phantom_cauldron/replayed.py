"""The cauldron's hub events as a replay from the audit log hands them back: the log keeps
them as JSON objects (`phantom_gui.core.plain`), and `revive` turns such an object into
its dataclass again, by the last level of its topic, validated by pydantic. What does not
validate stays as it came (views ignore it)."""

from __future__ import annotations

import functools
import logging
from typing import Any

from pydantic import TypeAdapter, ValidationError

from phantom_cauldron.brewing.news import BrewEnded, BrewStarted, BrewStep
from phantom_cauldron.evolution.progress import EvolutionFinished, GenerationProgress

LOG = logging.getLogger("phantom.cauldron")
KINDS: dict[str, type] = {
    "generation": GenerationProgress,
    "finished": EvolutionFinished,
    "started": BrewStarted,
    "step": BrewStep,
    "ended": BrewEnded,
}
"""The last level of a `cauldron/evolution/...` or `cauldron/brew/...` topic → its data."""


@functools.cache
def _adapter(kind: type) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def revive(topic: str, data: object) -> object:
    """`data` as its dataclass when it is the plain form of the one `topic` carries."""
    kind = KINDS.get(topic.rpartition("/")[2])
    if kind is None or not isinstance(data, dict):
        return data
    try:
        return _adapter(kind).validate_python(data)
    except ValidationError as exc:
        LOG.warning("a replayed %s on %s does not read: %s", kind.__name__, topic, exc.errors()[0])
        return data
