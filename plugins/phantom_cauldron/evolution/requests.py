"""An evolution one coven member asks another to run: the request, its topics, its errors.

A desktop publishes an `EvolutionRequest` on `REQUEST_TOPIC` (shared with the coven under
``cauldron/evolution/#``); the member named `worker` runs it under the request's run id,
so its generations and its end come back on that run's usual topics. The requester stops
it with an event on `cancel_topic(run)`. Over the coven a request arrives as a plain JSON
object; `read_request` validates it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phantom_cauldron.evolution.progress import EVOLUTION_TOPIC, EvolutionSettings
from phantom_cauldron.recipes.effects import Conditions

REQUEST_TOPIC = f"{EVOLUTION_TOPIC}/request"
"""Where a member asks another to run an evolution."""
CANCEL_TOPICS = f"{EVOLUTION_TOPIC}/+/cancel"
"""Every run's cancel topic."""
RUN_ID = r"^[A-Za-z0-9_-]{1,64}$"
"""What a run id may be: one topic level, without wildcards or separators."""


def cancel_topic(run: str) -> str:
    """The topic on which the requester of `run` asks its worker to stop it."""
    return f"{EVOLUTION_TOPIC}/{run}/cancel"


def run_of(topic: str) -> str:
    """The run a ``cauldron/evolution/<run>/...`` topic is about."""
    return topic.split("/")[2]


class RequestError(ValueError):
    """A request that cannot be run; the message names each bad field."""


class EvolutionRequest(BaseModel):
    """Run an evolution with `settings` under `conditions` (as the requester sampled
    them; they stay for the whole run) on the member whose instance id is `worker`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run: str = Field(pattern=RUN_ID)
    settings: EvolutionSettings
    conditions: Conditions
    worker: str = Field(min_length=1)


def read_request(data: object) -> EvolutionRequest:
    """The request in `data` (a model or its plain JSON form); `RequestError` naming each
    bad field."""
    if isinstance(data, EvolutionRequest):
        return data
    try:
        return EvolutionRequest.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'request'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise RequestError(f"not a valid evolution request ({problems})") from None
