"""ESPHome state topics: `<node>/sensor/<object_id>/state` with a plain number.

ESPHome announces its sensors with Home Assistant discovery configs (see
`homeassistant`); once a config names a state topic, that config decides how the topic
is read. Before (or without) one, a sensor's reading is `<node>/<object_id>` at `<node>`,
its quantity guessed from the object id. States of switches, lights and other
non-measuring components are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from phantom_cauldron.parsing.handling import Handler, ignore
from phantom_cauldron.parsing.plain import PlainNumber
from phantom_cauldron.parsing.quantities import guess

NON_MEASURING = frozenset(
    {"binary_sensor", "text_sensor", "switch", "light", "fan", "cover", "lock", "button", "select"}
)


def route(levels: Sequence[str]) -> Handler | None:
    """The handler for an ESPHome state topic, None for other topics."""
    if len(levels) != 4 or levels[3] != "state":
        return None
    node, component, object_id = levels[0], levels[1], levels[2]
    if component == "sensor":
        return PlainNumber(f"{node}/{object_id}", guess(object_id) or "value", None, node)
    return ignore if component in NON_MEASURING else None
